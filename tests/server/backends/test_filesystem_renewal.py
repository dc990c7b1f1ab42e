"""Filesystem backend: TTI renewals overwrite a slot in the object's header in place."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from django_objectstore.server.backends.filesystem import FilesystemBackend
from django_objectstore.server.backends.filesystem.format import (
    EMPTY_SLOT,
    SLOT_WIDTH,
    TornSlotError,
    decode_header,
    decode_slot,
    encode_slot,
)
from django_objectstore.server.backends.filesystem.paths import object_path
from django_objectstore.server.backends.records import (
    DeadlineRenewal,
    ObjectLocation,
    ObjectMetadata,
)
from django_objectstore.server.clock import OffsetClock
from django_objectstore.server.config import ServerConfig
from django_objectstore.server.engine import Engine, ExtendAfter
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


def store_files(backend: FilesystemBackend) -> list[Path]:
    """Every file of the store but the lock files."""
    root = Path(backend.root)
    return sorted(path for path in root.rglob("*") if path.is_file() and ".locks" not in path.parts)


def header_line(backend: FilesystemBackend, location: ObjectLocation = LOC) -> bytes:
    data = object_file(backend, location).read_bytes()
    return data[: data.index(b"\n") + 1]


def slot_of(backend: FilesystemBackend, location: ObjectLocation = LOC) -> bytes:
    line = header_line(backend, location)
    return line[-3 - SLOT_WIDTH : -3]


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


def make_legacy(backend: FilesystemBackend) -> None:
    """Rewrite the object file as written before slots existed (with a revision)."""
    path = object_file(backend)
    data = path.read_bytes()
    line, payload = data[: data.index(b"\n")], data[data.index(b"\n") + 1 :]
    document = json.loads(line)
    del document["renewal"]
    document["revision"] = "0123456789abcdef0123456789abcdef"
    path.write_bytes(json.dumps(document, separators=(",", ":")).encode() + b"\n" + payload)


class ZeroBody:
    """``size`` zero bytes generated on the fly."""

    def __init__(self, size: int) -> None:
        self.remaining = size

    def read(self, n: int = -1, /) -> bytes:
        count = min(self.remaining, MIB if n < 0 else n)
        self.remaining -= count
        return bytes(count)


def test_new_objects_have_a_blank_slot_as_the_last_header_field(
    backend: FilesystemBackend,
) -> None:
    put_tti(backend)
    line = header_line(backend)
    assert line.endswith(b'"renewal":"' + EMPTY_SLOT + b'"}\n')
    assert list(json.loads(line))[-1] == "renewal"


def test_renewal_keeps_the_object_file_and_its_payload(backend: FilesystemBackend) -> None:
    put_tti(backend)
    before = object_file(backend).stat()
    later = T0 + timedelta(days=40)
    stored = backend.update_metadata(LOC, renew_to(later))
    assert stored is not None and stored.time_expires == later
    after = object_file(backend).stat()
    assert (after.st_ino, after.st_size) == (before.st_ino, before.st_size)
    assert store_files(backend) == [object_file(backend)]  # nothing created beside it
    found = backend.get(LOC)
    assert found is not None
    assert b"".join(found.iter_bytes()) == b"payload"
    assert found.metadata.time_expires == later
    assert found.metadata.expiration == TTI


def test_renewal_changes_only_the_slot_bytes(backend: FilesystemBackend) -> None:
    put_tti(backend)
    before = object_file(backend).read_bytes()
    backend.update_metadata(LOC, renew_to(T0 + timedelta(days=40)))
    after = object_file(backend).read_bytes()
    changed = [i for i in range(len(before)) if before[i] != after[i]]
    slot_start = len(header_line(backend)) - 3 - SLOT_WIDTH
    assert changed and min(changed) >= slot_start and max(changed) < slot_start + SLOT_WIDTH
    assert decode_slot(slot_of(backend)) == T0 + timedelta(days=40)
    header = json.loads(header_line(backend))
    assert header["time_expires"] == (T0 + TTI.delta).isoformat()  # the durable one


def test_renewing_a_64_mib_object_does_not_copy_it(backend: FilesystemBackend) -> None:
    metadata = ObjectMetadata(expiration=TTI, time_expires=T0)
    backend.put(LOC, metadata, ZeroBody(64 * MIB))
    inode = object_file(backend).stat().st_ino
    backend.update_metadata(LOC, renew_to(T0 + timedelta(days=1)))
    assert object_file(backend).stat().st_ino == inode
    assert deadline_of(backend) == T0 + timedelta(days=1)
    assert sum(path.stat().st_size for path in store_files(backend)) < 65 * MIB


def test_renewed_deadline_survives_a_restart(backend: FilesystemBackend) -> None:
    put_tti(backend)
    later = T0 + timedelta(days=45)
    backend.update_metadata(LOC, renew_to(later))
    assert deadline_of(FilesystemBackend(backend.root)) == later


def test_later_renewals_overwrite_the_slot_again(backend: FilesystemBackend) -> None:
    put_tti(backend)
    inode = object_file(backend).stat().st_ino
    for days in (31, 32, 40):
        backend.update_metadata(LOC, renew_to(T0 + timedelta(days=days)))
        assert deadline_of(backend) == T0 + timedelta(days=days)
    assert object_file(backend).stat().st_ino == inode


def test_update_sees_the_renewed_deadline(backend: FilesystemBackend) -> None:
    put_tti(backend)
    backend.update_metadata(LOC, renew_to(T0 + timedelta(days=50)))
    seen: list[datetime | None] = []

    def record(current: ObjectMetadata) -> None:
        seen.append(current.time_expires)

    backend.update_metadata(LOC, record)
    assert seen == [T0 + timedelta(days=50)]


def test_renewal_to_an_earlier_deadline_than_the_slot_is_not_written(
    backend: FilesystemBackend,
) -> None:
    put_tti(backend)
    backend.update_metadata(LOC, renew_to(T0 + timedelta(days=50)))
    backend.update_metadata(LOC, renew_to(T0 + timedelta(days=35)))  # already later
    assert deadline_of(backend) == T0 + timedelta(days=50)


def test_put_after_a_renewal_is_not_extended_by_it(backend: FilesystemBackend) -> None:
    put_tti(backend)
    backend.update_metadata(LOC, renew_to(T0 + timedelta(days=60)))
    backend.put(LOC, ObjectMetadata(expiration=TTI, time_expires=T0), BytesBody(b"new"))
    assert slot_of(backend) == EMPTY_SLOT
    assert deadline_of(backend) == T0


def test_reader_of_a_replaced_file_keeps_what_it_opened(backend: FilesystemBackend) -> None:
    put_tti(backend, b"old")
    held = backend.get(LOC)
    assert held is not None
    backend.put(LOC, ObjectMetadata(expiration=TTI, time_expires=T0), BytesBody(b"new"))
    backend.update_metadata(LOC, renew_to(T0 + timedelta(days=90)))
    assert held.metadata.time_expires == T0 + TTI.delta
    assert b"".join(held.iter_bytes()) == b"old"
    assert deadline_of(backend) == T0 + timedelta(days=90)


def test_delete_removes_a_renewed_object(backend: FilesystemBackend) -> None:
    put_tti(backend)
    backend.update_metadata(LOC, renew_to(T0 + timedelta(days=40)))
    backend.delete(LOC)
    assert backend.get(LOC) is None
    assert store_files(backend) == []
    backend.put(LOC, ObjectMetadata(expiration=TTI, time_expires=T0), BytesBody(b"again"))
    assert deadline_of(backend) == T0


def test_sweep_keeps_an_object_its_renewal_keeps_alive(backend: FilesystemBackend) -> None:
    put_tti(backend)
    backend.update_metadata(LOC, renew_to(T0 + timedelta(days=40)))
    assert backend.sweep(T0 + timedelta(days=35)) == 0
    assert deadline_of(backend) == T0 + timedelta(days=40)


def test_sweep_removes_an_object_expired_despite_its_renewal(
    backend: FilesystemBackend,
) -> None:
    put_tti(backend)
    backend.update_metadata(LOC, renew_to(T0 + timedelta(days=40)))
    assert backend.sweep(T0 + timedelta(days=41)) == 1
    assert backend.get(LOC) is None
    assert not object_file(backend).parent.exists()


def test_other_metadata_changes_rewrite_the_file_and_clear_the_slot(
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
    assert slot_of(backend) == EMPTY_SLOT
    stored = backend.get(LOC)
    assert stored is not None
    assert b"".join(stored.iter_bytes()) == b"payload"
    assert stored.metadata.expiration == TimeToLive(timedelta(days=50))
    assert stored.metadata.time_expires == T0 + timedelta(days=50)


def test_rewrite_keeps_the_renewed_deadline_in_the_new_header(
    backend: FilesystemBackend,
) -> None:
    put_tti(backend)
    backend.update_metadata(LOC, renew_to(T0 + timedelta(days=40)))

    def tag(current: ObjectMetadata) -> ObjectMetadata:
        current.custom["tag"] = "x"
        return current

    backend.update_metadata(LOC, tag)
    assert slot_of(backend) == EMPTY_SLOT
    assert json.loads(header_line(backend))["time_expires"] == (T0 + timedelta(40)).isoformat()
    assert deadline_of(backend) == T0 + timedelta(days=40)


def test_durable_deadline_change_without_renewal_marker_rewrites_the_file(
    backend: FilesystemBackend,
) -> None:
    put_tti(backend)
    inode = object_file(backend).stat().st_ino
    backend.update_metadata(LOC, renew_to(T0 + timedelta(days=40)).update)  # like PATCH
    assert object_file(backend).stat().st_ino != inode
    assert slot_of(backend) == EMPTY_SLOT
    assert deadline_of(backend) == T0 + timedelta(days=40)


def test_without_fsync_a_deadline_only_change_goes_in_place(tmp_path: Path) -> None:
    backend = FilesystemBackend(tmp_path / "store", fsync=False)
    put_tti(backend)
    inode = object_file(backend).stat().st_ino
    backend.update_metadata(LOC, renew_to(T0 + timedelta(days=40)).update)  # like PATCH
    assert object_file(backend).stat().st_ino == inode
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
    assert stored.metadata.time_expires == T0 + timedelta(days=40)


def test_first_deadline_of_an_object_without_one_rewrites_the_file(
    backend: FilesystemBackend,
) -> None:
    backend.put(LOC, ObjectMetadata(), BytesBody(b"payload"))
    inode = object_file(backend).stat().st_ino

    def first(current: ObjectMetadata) -> ObjectMetadata:
        current.time_expires = T0
        return current

    backend.update_metadata(LOC, DeadlineRenewal(first))
    assert object_file(backend).stat().st_ino != inode
    assert json.loads(header_line(backend))["time_expires"] == T0.isoformat()


def test_legacy_files_are_rewritten_once_then_renewed_in_place(
    backend: FilesystemBackend,
) -> None:
    put_tti(backend)
    make_legacy(backend)
    assert deadline_of(backend) == T0 + TTI.delta
    backend.update_metadata(LOC, renew_to(T0 + timedelta(days=40)))
    rewritten = object_file(backend).stat().st_ino
    assert header_line(backend).endswith(b'"renewal":"' + EMPTY_SLOT + b'"}\n')
    assert deadline_of(backend) == T0 + timedelta(days=40)
    backend.update_metadata(LOC, renew_to(T0 + timedelta(days=41)))
    assert object_file(backend).stat().st_ino == rewritten
    assert deadline_of(backend) == T0 + timedelta(days=41)
    found = backend.get(LOC)
    assert found is not None
    assert b"".join(found.iter_bytes()) == b"payload"


@pytest.mark.parametrize(
    "garbage",
    [
        b"0" * SLOT_WIDTH,  # checksum of other digits
        b"\0" * SLOT_WIDTH,  # a block zeroed by a power loss
        b"zzzzzzzz" + b"1" * (SLOT_WIDTH - 8),  # not hex
        b'"\\' * (SLOT_WIDTH // 2),  # bytes that would break the JSON around it
        "é".encode() * (SLOT_WIDTH // 2),  # not ASCII
    ],
)
def test_torn_slot_falls_back_to_the_header_deadline(
    backend: FilesystemBackend, garbage: bytes
) -> None:
    put_tti(backend)
    backend.update_metadata(LOC, renew_to(T0 + timedelta(days=40)))
    path = object_file(backend)
    offset = len(header_line(backend)) - 3 - SLOT_WIDTH
    with path.open("r+b") as file:
        file.seek(offset)
        file.write(garbage)
    assert deadline_of(backend) == T0 + TTI.delta
    reopened = FilesystemBackend(backend.root)
    assert deadline_of(reopened) == T0 + TTI.delta


def test_torn_slot_is_repaired_by_the_next_renewal(backend: FilesystemBackend) -> None:
    put_tti(backend)
    inode = object_file(backend).stat().st_ino
    backend.update_metadata(LOC, renew_to(T0 + timedelta(days=40)))
    torn = bytearray(slot_of(backend))
    torn[-1] = ord("9") if torn[-1] != ord("9") else ord("8")
    path = object_file(backend)
    with path.open("r+b") as file:
        file.seek(len(header_line(backend)) - 3 - SLOT_WIDTH)
        file.write(bytes(torn))
    assert deadline_of(backend) == T0 + TTI.delta
    backend.update_metadata(LOC, renew_to(T0 + timedelta(days=42)))
    assert object_file(backend).stat().st_ino == inode
    assert deadline_of(backend) == T0 + timedelta(days=42)


def test_sweep_ignores_a_torn_slot(backend: FilesystemBackend) -> None:
    put_tti(backend)
    backend.update_metadata(LOC, renew_to(T0 + timedelta(days=40)))
    with object_file(backend).open("r+b") as file:
        file.seek(len(header_line(backend)) - 3 - SLOT_WIDTH)
        file.write(b"0" * SLOT_WIDTH)
    assert backend.sweep(T0 + TTI.delta + timedelta(seconds=1)) == 1
    assert backend.get(LOC) is None


def test_slot_codec_round_trips_and_detects_a_half_written_slot() -> None:
    old = encode_slot(T0 + timedelta(days=31))
    new = encode_slot(T0 + timedelta(days=99, microseconds=7))
    assert len(old) == len(new) == SLOT_WIDTH
    assert decode_slot(new) == T0 + timedelta(days=99, microseconds=7)
    assert decode_slot(EMPTY_SLOT) is None
    changed = [i for i in range(SLOT_WIDTH) if old[i] != new[i]]
    for cut in changed[1:]:
        torn = new[:cut] + old[cut:]
        with pytest.raises(TornSlotError):
            decode_slot(torn)
    with pytest.raises(ValueError):
        encode_slot(datetime(1969, 12, 31, tzinfo=UTC))


def test_a_renewal_field_that_is_not_the_last_is_no_slot() -> None:
    document = {
        "format": 1,
        "usecase": "u",
        "scopes": [],
        "key": "k",
        "content_type": "a/b",
        "compression": None,
        "expiration": None,
        "time_created": None,
        "time_expires": None,
        "origin": None,
        "filename": None,
        "custom": {"renewal": " " * SLOT_WIDTH},
    }
    line = json.dumps(document, separators=(",", ":")).encode() + b"\n"
    assert decode_header(line).slot_offset is None


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
            bump = timedelta(seconds=rng.randrange(1, 86_000), microseconds=rng.randrange(10**6))

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
from django_objectstore.server.backends.records import DeadlineRenewal, ObjectLocation
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
    inode = object_file(backend).stat().st_ino
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
    assert object_file(backend).stat().st_ino == inode
    assert store_files(reopened) == [object_file(backend)]
    reopened.update_metadata(LOC, renew_to(T0 + timedelta(days=99)))
    assert deadline_of(reopened) == T0 + timedelta(days=99)


def test_engine_renews_tti_reads_in_place_and_patch_rewrites(
    backend: FilesystemBackend,
) -> None:
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
    engine.extend_expiry(LOC, ExtendAfter(timedelta(days=40), "now"), read_at)  # durable
    assert object_file(backend).stat().st_ino != inode
    assert slot_of(backend) == EMPTY_SLOT
    assert deadline_of(backend) == read_at + timedelta(days=40)
