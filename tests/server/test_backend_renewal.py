"""Filesystem backend: TTI renewals kept beside the object instead of rewriting it."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from django_objectstore.server.backends.base import (
    DeadlineRenewal,
    ObjectLocation,
    ObjectMetadata,
)
from django_objectstore.server.backends.filesystem import FilesystemBackend
from django_objectstore.server.backends.fs_paths import object_path
from django_objectstore.server.backends.fs_sidecar import Renewal, encode_renewal
from django_objectstore.server.messages import BytesBody
from django_objectstore.wire.expiration import TimeToIdle, TimeToLive

T0 = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
TTI = TimeToIdle(timedelta(days=30))
LOC = ObjectLocation("attachments", (("org", "17"),), "abc/123")
REPO = Path(__file__).resolve().parents[2]
MIB = 1024 * 1024


@pytest.fixture
def backend(tmp_path: Path) -> FilesystemBackend:
    return FilesystemBackend(tmp_path / "store")


def object_file(backend: FilesystemBackend, location: ObjectLocation = LOC) -> Path:
    return Path(backend.root).joinpath(*object_path(location).parts)


def sidecar_file(backend: FilesystemBackend, location: ObjectLocation = LOC) -> Path:
    path = object_path(location)
    return Path(backend.root).joinpath(*path.directory, f".{path.name}.expires")


def renew_to(deadline: datetime) -> DeadlineRenewal:
    def update(current: ObjectMetadata) -> ObjectMetadata | None:
        assert current.time_expires is not None
        if current.time_expires >= deadline:
            return None
        current.time_expires = deadline
        return current

    return DeadlineRenewal(update)


def deadline_of(backend: FilesystemBackend, location: ObjectLocation = LOC) -> datetime | None:
    stored = backend.get(location)
    assert stored is not None
    stored.close()
    return stored.metadata.time_expires


def put_tti(backend: FilesystemBackend, payload: bytes = b"payload") -> None:
    metadata = ObjectMetadata(expiration=TTI, time_created=T0, time_expires=T0 + TTI.delta)
    backend.put(LOC, metadata, BytesBody(payload))


class ZeroBody:
    """``size`` zero bytes generated on the fly."""

    def __init__(self, size: int) -> None:
        self.remaining = size

    def read(self, n: int = -1, /) -> bytes:
        count = min(self.remaining, MIB if n < 0 else n)
        self.remaining -= count
        return bytes(count)


def test_renewal_keeps_the_object_file_and_its_payload(backend: FilesystemBackend) -> None:
    put_tti(backend)
    before = object_file(backend).stat()
    later = T0 + timedelta(days=40)
    stored = backend.update_metadata(LOC, renew_to(later))
    assert stored is not None and stored.time_expires == later
    after = object_file(backend).stat()
    assert (after.st_ino, after.st_mtime_ns, after.st_size) == (
        before.st_ino,
        before.st_mtime_ns,
        before.st_size,
    )
    assert sidecar_file(backend).exists()
    found = backend.get(LOC)
    assert found is not None
    assert b"".join(found.iter_bytes()) == b"payload"
    assert found.metadata.time_expires == later
    assert found.metadata.expiration == TTI


def test_renewing_a_64_mib_object_does_not_copy_it(backend: FilesystemBackend) -> None:
    metadata = ObjectMetadata(expiration=TTI, time_expires=T0)
    backend.put(LOC, metadata, ZeroBody(64 * MIB))
    inode = object_file(backend).stat().st_ino
    backend.update_metadata(LOC, renew_to(T0 + timedelta(days=1)))
    assert object_file(backend).stat().st_ino == inode
    assert deadline_of(backend) == T0 + timedelta(days=1)
    files = [path for path in Path(backend.root).rglob("*") if path.is_file()]
    assert sum(path.stat().st_size for path in files) < 65 * MIB  # no second copy


def test_renewed_deadline_survives_a_restart(backend: FilesystemBackend) -> None:
    put_tti(backend)
    later = T0 + timedelta(days=45)
    backend.update_metadata(LOC, renew_to(later))
    assert deadline_of(FilesystemBackend(backend.root)) == later


def test_update_sees_the_renewed_deadline(backend: FilesystemBackend) -> None:
    put_tti(backend)
    backend.update_metadata(LOC, renew_to(T0 + timedelta(days=50)))
    seen: list[datetime | None] = []

    def record(current: ObjectMetadata) -> None:
        seen.append(current.time_expires)

    backend.update_metadata(LOC, record)
    assert seen == [T0 + timedelta(days=50)]


def test_put_after_a_renewal_is_not_extended_by_it(backend: FilesystemBackend) -> None:
    put_tti(backend)
    backend.update_metadata(LOC, renew_to(T0 + timedelta(days=60)))
    backend.put(LOC, ObjectMetadata(expiration=TTI, time_expires=T0), BytesBody(b"new"))
    assert not sidecar_file(backend).exists()
    assert deadline_of(backend) == T0


def test_stale_renewal_of_a_replaced_file_is_ignored(backend: FilesystemBackend) -> None:
    put_tti(backend)
    backend.update_metadata(LOC, renew_to(T0 + timedelta(days=60)))
    stale = sidecar_file(backend).read_bytes()
    backend.put(LOC, ObjectMetadata(expiration=TTI, time_expires=T0), BytesBody(b"new"))
    sidecar_file(backend).write_bytes(stale)  # as if the process died before removing it
    assert deadline_of(backend) == T0
    assert backend.sweep(T0 + timedelta(seconds=1)) == 1
    assert backend.get(LOC) is None
    assert not sidecar_file(backend).exists()


@pytest.mark.parametrize("content", [b"", b"{", b"not json", b'{"revision": 5}'])
def test_unreadable_renewal_falls_back_to_the_header(
    backend: FilesystemBackend, content: bytes
) -> None:
    put_tti(backend)
    sidecar_file(backend).write_bytes(content)
    assert deadline_of(backend) == T0 + TTI.delta
    backend.update_metadata(LOC, renew_to(T0 + timedelta(days=70)))
    assert deadline_of(backend) == T0 + timedelta(days=70)


def test_delete_removes_the_renewal(backend: FilesystemBackend) -> None:
    put_tti(backend)
    backend.update_metadata(LOC, renew_to(T0 + timedelta(days=40)))
    backend.delete(LOC)
    assert not sidecar_file(backend).exists()
    assert backend.get(LOC) is None
    backend.put(LOC, ObjectMetadata(expiration=TTI, time_expires=T0), BytesBody(b"again"))
    assert deadline_of(backend) == T0


def test_delete_of_missing_object_removes_an_orphaned_renewal(
    backend: FilesystemBackend,
) -> None:
    put_tti(backend)
    backend.update_metadata(LOC, renew_to(T0 + timedelta(days=40)))
    os.unlink(object_file(backend))
    backend.delete(LOC)
    assert not sidecar_file(backend).exists()


def test_sweep_keeps_an_object_its_renewal_keeps_alive(backend: FilesystemBackend) -> None:
    put_tti(backend)
    backend.update_metadata(LOC, renew_to(T0 + timedelta(days=40)))
    assert backend.sweep(T0 + timedelta(days=35)) == 0
    assert deadline_of(backend) == T0 + timedelta(days=40)
    assert sidecar_file(backend).exists()


def test_sweep_removes_an_object_expired_despite_its_renewal(
    backend: FilesystemBackend,
) -> None:
    put_tti(backend)
    backend.update_metadata(LOC, renew_to(T0 + timedelta(days=40)))
    assert backend.sweep(T0 + timedelta(days=41)) == 1
    assert backend.get(LOC) is None
    assert not sidecar_file(backend).exists()
    assert not object_file(backend).parent.exists()


def test_sweep_removes_orphaned_renewals_only(backend: FilesystemBackend) -> None:
    other = ObjectLocation("attachments", (("org", "17"),), "other")
    put_tti(backend)
    backend.put(other, ObjectMetadata(expiration=TTI, time_expires=T0), BytesBody(b"x"))
    backend.update_metadata(LOC, renew_to(T0 + timedelta(days=40)))
    backend.update_metadata(other, renew_to(T0 + timedelta(days=40)))
    os.unlink(object_file(backend, other))  # its renewal is now an orphan
    assert backend.sweep(T0) == 0
    assert sidecar_file(backend).exists()
    assert not sidecar_file(backend, other).exists()


def test_other_metadata_changes_rewrite_the_file_and_drop_the_renewal(
    backend: FilesystemBackend,
) -> None:
    put_tti(backend)
    backend.update_metadata(LOC, renew_to(T0 + timedelta(days=40)))
    inode = object_file(backend).stat().st_ino

    def to_ttl(current: ObjectMetadata) -> ObjectMetadata:
        current.expiration = TimeToLive(timedelta(days=50))
        current.time_expires = T0 + timedelta(days=50)
        return current

    backend.update_metadata(LOC, to_ttl)
    assert object_file(backend).stat().st_ino != inode
    assert not sidecar_file(backend).exists()
    stored = backend.get(LOC)
    assert stored is not None
    assert b"".join(stored.iter_bytes()) == b"payload"
    assert stored.metadata.expiration == TimeToLive(timedelta(days=50))
    assert stored.metadata.time_expires == T0 + timedelta(days=50)


def test_durable_deadline_change_without_renewal_marker_rewrites_the_file(
    backend: FilesystemBackend,
) -> None:
    put_tti(backend)
    inode = object_file(backend).stat().st_ino
    backend.update_metadata(LOC, renew_to(T0 + timedelta(days=40)).update)  # like PATCH
    assert object_file(backend).stat().st_ino != inode
    assert not sidecar_file(backend).exists()
    assert deadline_of(backend) == T0 + timedelta(days=40)


def test_renewal_that_changes_more_than_the_deadline_rewrites_the_file(
    backend: FilesystemBackend,
) -> None:
    put_tti(backend)
    inode = object_file(backend).stat().st_ino

    def sneaky(current: ObjectMetadata) -> ObjectMetadata:
        current.time_expires = T0 + timedelta(days=40)
        current.custom["x"] = "y"
        return current

    backend.update_metadata(LOC, DeadlineRenewal(sneaky))
    assert object_file(backend).stat().st_ino != inode
    stored = backend.get(LOC)
    assert stored is not None
    stored.close()
    assert stored.metadata.custom == {"x": "y"}


def test_objects_without_a_revision_are_rewritten_once_then_renewed_beside(
    backend: FilesystemBackend,
) -> None:
    put_tti(backend)
    path = object_file(backend)
    header, _newline, payload = path.read_bytes().partition(b"\n")
    legacy = header.replace(b'"revision":', b'"old_revision":')
    path.write_bytes(legacy + b"\n" + payload)
    stale = Renewal("", T0 + timedelta(days=99))
    sidecar_file(backend).write_bytes(encode_renewal(stale))
    assert deadline_of(backend) == T0 + TTI.delta
    backend.update_metadata(LOC, renew_to(T0 + timedelta(days=40)))
    rewritten = path.stat().st_ino
    assert deadline_of(backend) == T0 + timedelta(days=40)
    backend.update_metadata(LOC, renew_to(T0 + timedelta(days=41)))
    assert path.stat().st_ino == rewritten
    assert deadline_of(backend) == T0 + timedelta(days=41)


def test_concurrent_renewals_puts_and_reads_never_see_a_wrong_deadline(
    backend: FilesystemBackend,
) -> None:
    """Each put carries its version in ``custom``; its deadlines are T0 + version days + n."""
    errors: list[BaseException] = []
    stop = threading.Event()

    def put_version(version: int) -> None:
        metadata = ObjectMetadata(
            expiration=TTI,
            time_expires=T0 + timedelta(days=version),
            custom={"v": str(version)},
        )
        backend.put(LOC, metadata, BytesBody(b"%d" % version))

    def check(metadata: ObjectMetadata, payload: bytes) -> None:
        version = int(metadata.custom["v"])
        assert payload == b"%d" % version
        assert metadata.time_expires is not None
        offset = metadata.time_expires - (T0 + timedelta(days=version))
        assert timedelta(0) <= offset < timedelta(days=1)  # only its own renewals

    def guarded(work: object) -> threading.Thread:
        def run() -> None:
            try:
                work()  # type: ignore[operator]
            except BaseException as error:
                errors.append(error)
                stop.set()

        return threading.Thread(target=run)

    def writer() -> None:
        for version in range(1, 150):
            put_version(version * 10)
        stop.set()

    def renewer(seed: int) -> None:
        rng = random.Random(seed)
        while not stop.is_set():
            found = backend.get(LOC)
            if found is None:
                continue
            found.close()
            bump = timedelta(seconds=rng.randrange(1, 86_000))

            def update(current: ObjectMetadata, bump: timedelta = bump) -> ObjectMetadata | None:
                assert current.time_expires is not None
                wanted = T0 + timedelta(days=int(current.custom["v"])) + bump
                if current.time_expires >= wanted:
                    return None
                current.time_expires = wanted
                return current

            backend.update_metadata(LOC, DeadlineRenewal(update))

    def reader() -> None:
        while not stop.is_set():
            found = backend.get(LOC)
            if found is not None:
                check(found.metadata, b"".join(found.iter_bytes()))

    put_version(0)
    threads = [guarded(writer)]
    threads += [guarded(lambda seed=seed: renewer(seed)) for seed in range(3)]
    threads += [guarded(reader) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    found = backend.get(LOC)
    assert found is not None
    check(found.metadata, b"".join(found.iter_bytes()))


# The child renews the object over and over; the parent kills it once it is under way.
RENEWER = """
import sys
from datetime import timedelta
from django_objectstore.server.backends.base import DeadlineRenewal, ObjectLocation
from django_objectstore.server.backends.filesystem import FilesystemBackend

backend = FilesystemBackend(sys.argv[1])
location = ObjectLocation("attachments", (("org", "17"),), "abc/123")
step = [0]

def update(current):
    step[0] += 1
    current.time_expires = current.time_expires + timedelta(seconds=1)
    return current

while True:
    backend.update_metadata(location, DeadlineRenewal(update))
    if step[0] == 50:
        print("ready", flush=True)
"""


def test_killed_renewal_leaves_the_object_readable(backend: FilesystemBackend) -> None:
    put_tti(backend)
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }
    process = subprocess.Popen(
        [sys.executable, "-c", RENEWER, backend.root], stdout=subprocess.PIPE, env=env
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == b"ready"
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(60) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()
    reopened = FilesystemBackend(backend.root)
    stored = reopened.get(LOC)
    assert stored is not None
    assert b"".join(stored.iter_bytes()) == b"payload"
    assert stored.metadata.time_expires is not None
    assert stored.metadata.time_expires >= T0 + TTI.delta + timedelta(seconds=50)
    reopened.update_metadata(LOC, renew_to(T0 + timedelta(days=99)))
    assert deadline_of(reopened) == T0 + timedelta(days=99)
    reopened.sweep(datetime.now(UTC) + timedelta(hours=2))  # leftover temporary files go
    assert [p for p in Path(backend.root).rglob("*.draft")] == []


def test_engine_renews_tti_reads_beside_the_object(backend: FilesystemBackend) -> None:
    from django_objectstore.server.clock import OffsetClock
    from django_objectstore.server.config import ServerConfig
    from django_objectstore.server.engine import Engine

    clock = OffsetClock()
    engine = Engine(backend, ServerConfig(), clock)
    created = engine.now()
    engine.insert(LOC, ObjectMetadata(expiration=TTI), BytesBody(b"payload"), created)
    inode = object_file(backend).stat().st_ino
    clock.advance(timedelta(days=2))
    read_at = engine.now()
    found = engine.read(LOC, read_at)
    assert found is not None
    found.close()
    assert object_file(backend).stat().st_ino == inode
    assert deadline_of(backend) == read_at + TTI.delta
    engine.extend_expiry(
        LOC, {"extend_expiry": {"after": "40d", "from": "now"}}, read_at
    )  # durable
    assert object_file(backend).stat().st_ino != inode
    assert not sidecar_file(backend).exists()
    assert deadline_of(backend) == read_at + timedelta(days=40)


def test_later_renewals_overwrite_the_record_in_place(backend: FilesystemBackend) -> None:
    put_tti(backend)
    backend.update_metadata(LOC, renew_to(T0 + timedelta(days=31)))
    first = sidecar_file(backend).stat()
    backend.update_metadata(LOC, renew_to(T0 + timedelta(days=32)))
    second = sidecar_file(backend).stat()
    assert second.st_ino == first.st_ino
    assert second.st_size == first.st_size
    assert deadline_of(backend) == T0 + timedelta(days=32)


def test_renewal_records_detect_a_half_written_record() -> None:
    from django_objectstore.server.backends.fs_sidecar import RECORD_SIZE, decode_renewal

    old = encode_renewal(Renewal("r1", T0 + timedelta(days=31)))
    new = encode_renewal(Renewal("r1", T0 + timedelta(days=99)))
    assert len(old) == len(new) == RECORD_SIZE
    assert decode_renewal(new) == Renewal("r1", T0 + timedelta(days=99))
    changed = [i for i in range(RECORD_SIZE) if old[i] != new[i]]
    torn = new[: changed[len(changed) // 2]] + old[changed[len(changed) // 2] :]
    assert torn not in (old, new)
    assert decode_renewal(torn) is None
