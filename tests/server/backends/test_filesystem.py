"""Filesystem backend specifics: layout, permissions, drafts, locks, descriptors, sweep."""

from __future__ import annotations

import fcntl
import json
import os
import stat
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from django_objectstore.server.backends import create_backend
from django_objectstore.server.backends.filesystem import FilesystemBackend
from django_objectstore.server.backends.filesystem.format import CorruptObjectError
from django_objectstore.server.backends.filesystem.paths import object_path
from django_objectstore.server.backends.records import ObjectLocation, ObjectMetadata
from django_objectstore.server.config import StorageConfig
from django_objectstore.server.messages import BytesBody

T0 = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
LOC = ObjectLocation("attachments", (("org", "17"), ("project", "42")), "abc123")


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def backend(root: Path) -> FilesystemBackend:
    return FilesystemBackend(root)


def object_file(root: Path, location: ObjectLocation = LOC) -> Path:
    return root.joinpath(*object_path(location).parts)


def all_files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*") if path.is_file())


def drafts(root: Path) -> list[Path]:
    return [path for path in all_files(root) if path.name.endswith(".draft")]


def exists(backend: FilesystemBackend, location: ObjectLocation) -> bool:
    stored = backend.get(location)
    if stored is not None:
        stored.close()
    return stored is not None


def open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


class GeneratedBody:
    """``size`` bytes produced on the fly, optionally failing after ``fail_after``."""

    def __init__(self, size: int, fail_after: int | None = None) -> None:
        self.remaining = size
        self.fail_after = fail_after
        self.sent = 0

    def read(self, n: int = -1, /) -> bytes:
        if self.fail_after is not None and self.sent >= self.fail_after:
            raise ConnectionResetError("client went away")
        count = min(self.remaining, 64 * 1024 if n < 0 else n)
        self.remaining -= count
        self.sent += count
        return b"z" * count


def test_create_backend_builds_filesystem_backend_on_configured_path(root: Path) -> None:
    backend = create_backend(StorageConfig(type="filesystem", path=str(root)))
    assert isinstance(backend, FilesystemBackend)
    assert root.is_dir()


def test_object_file_follows_documented_layout(backend: FilesystemBackend, root: Path) -> None:
    backend.put(LOC, ObjectMetadata(content_type="text/plain"), BytesBody(b"payload"))
    path = object_file(root)
    relative = path.relative_to(root).parts
    assert relative[:4] == ("attachments", "org=17", "project=42", "objects")
    assert len(relative[4]) == 2 and relative[5] == "abc123"
    header, _, payload = path.read_bytes().partition(b"\n")
    document = json.loads(header)
    assert (document["key"], document["content_type"]) == ("abc123", "text/plain")
    assert payload == b"payload"


def test_unscoped_objects_live_directly_under_usecase(
    backend: FilesystemBackend, root: Path
) -> None:
    location = ObjectLocation("attachments", (), "k")
    backend.put(location, ObjectMetadata(), BytesBody(b"x"))
    assert object_file(root, location).relative_to(root).parts[:2] == ("attachments", "objects")


def test_new_files_are_0600_and_new_directories_0700(
    backend: FilesystemBackend, root: Path
) -> None:
    old_umask = os.umask(0)
    try:
        backend.put(LOC, ObjectMetadata(), BytesBody(b"x"))
        backend.update_metadata(LOC, lambda metadata: ObjectMetadata(content_type="a/b"))
    finally:
        os.umask(old_umask)
    entries = list(root.rglob("*"))
    assert any(path.is_file() for path in entries)
    for path in [root, *entries]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), path


def test_successful_writes_leave_no_drafts(backend: FilesystemBackend, root: Path) -> None:
    backend.put(LOC, ObjectMetadata(), GeneratedBody(300_000))
    backend.update_metadata(LOC, lambda metadata: ObjectMetadata(content_type="a/b"))
    assert drafts(root) == []


def test_failed_upload_removes_its_draft(backend: FilesystemBackend, root: Path) -> None:
    backend.put(LOC, ObjectMetadata(), BytesBody(b"previous"))
    with pytest.raises(ConnectionResetError):
        backend.put(LOC, ObjectMetadata(), GeneratedBody(1_000_000, fail_after=200_000))
    assert drafts(root) == []
    stored = backend.get(LOC)
    assert stored is not None
    assert b"".join(stored.iter_bytes()) == b"previous"


def test_leftover_draft_is_never_read_as_object(backend: FilesystemBackend, root: Path) -> None:
    backend.put(LOC, ObjectMetadata(), BytesBody(b"x"))
    path = object_file(root)
    (path.parent / ".0123.draft").write_bytes(path.read_bytes())
    backend.delete(LOC)
    assert backend.get(LOC) is None
    reopened = FilesystemBackend(root)
    assert reopened.get(LOC) is None
    assert reopened.sweep(T0) == 0


def test_two_backends_on_one_root_share_objects(root: Path) -> None:
    first, second = FilesystemBackend(root), FilesystemBackend(root)
    first.put(LOC, ObjectMetadata(), BytesBody(b"shared"))
    stored = second.get(LOC)
    assert stored is not None
    assert b"".join(stored.iter_bytes()) == b"shared"


def test_update_metadata_holds_the_cross_process_file_lock(
    backend: FilesystemBackend, root: Path
) -> None:
    backend.put(LOC, ObjectMetadata(), BytesBody(b"x"))
    digest = object_path(LOC).digest
    lock_file = root / ".locks" / f"{digest[0]:02x}.lock"
    outcomes: list[str] = []

    def probe(metadata: ObjectMetadata) -> ObjectMetadata:
        fd = os.open(lock_file, os.O_RDWR)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            outcomes.append("acquired")
        except BlockingIOError:
            outcomes.append("blocked")
        finally:
            os.close(fd)
        return metadata

    backend.update_metadata(LOC, probe)
    assert outcomes == ["blocked"]


def test_put_during_metadata_update_is_not_undone(backend: FilesystemBackend) -> None:
    backend.put(LOC, ObjectMetadata(), BytesBody(b"old payload"))
    body_done = threading.Event()

    class SignallingBody(BytesBody):
        def read(self, n: int = -1, /) -> bytes:
            chunk = super().read(n)
            if not chunk:
                body_done.set()
            return chunk

    writer = threading.Thread(
        target=backend.put, args=(LOC, ObjectMetadata(), SignallingBody(b"new payload"))
    )

    def update(metadata: ObjectMetadata) -> ObjectMetadata:
        writer.start()
        assert body_done.wait(10)
        writer.join(0.2)  # without the object lock the writer would finish here
        assert writer.is_alive()
        return ObjectMetadata(content_type="updated/meta")

    backend.update_metadata(LOC, update)
    writer.join(10)
    stored = backend.get(LOC)
    assert stored is not None
    assert b"".join(stored.iter_bytes()) == b"new payload"
    stored.close()


def test_corrupt_header_raises_instead_of_serving_garbage(
    backend: FilesystemBackend, root: Path
) -> None:
    backend.put(LOC, ObjectMetadata(), BytesBody(b"x"))
    object_file(root).write_bytes(b"not json\npayload")
    with pytest.raises(CorruptObjectError):
        backend.get(LOC)


def test_file_holding_another_location_is_rejected(backend: FilesystemBackend, root: Path) -> None:
    other = ObjectLocation("attachments", LOC.scopes, "other")
    backend.put(LOC, ObjectMetadata(), BytesBody(b"x"))
    backend.put(other, ObjectMetadata(), BytesBody(b"y"))
    object_file(root, other).write_bytes(object_file(root).read_bytes())
    with pytest.raises(CorruptObjectError):
        backend.get(other)


def test_iteration_to_the_end_closes_the_file(backend: FilesystemBackend) -> None:
    backend.put(LOC, ObjectMetadata(), GeneratedBody(200_000))
    stored = backend.get(LOC)
    assert stored is not None
    assert sum(len(chunk) for chunk in stored.iter_bytes()) == 200_000
    assert stored.closed
    with pytest.raises(ValueError, match="closed"):
        stored.iter_bytes()


def test_no_descriptor_leaks_on_any_read_or_write_path(backend: FilesystemBackend) -> None:
    backend.put(LOC, ObjectMetadata(), GeneratedBody(300_000))
    before = open_fds()
    for _ in range(30):
        stored = backend.get(LOC)  # read fully
        assert stored is not None
        b"".join(stored.iter_bytes())
        stored = backend.get(LOC)  # never read, closed
        assert stored is not None
        stored.close()
        stored = backend.get(LOC)  # partially read iterator, iterator closed
        assert stored is not None
        chunks: Iterator[bytes] = stored.iter_bytes(10, 200_000)
        next(chunks)
        chunks.close()  # type: ignore[attr-defined]
        stored = backend.get(LOC)  # iterator created, never started, closed
        assert stored is not None
        stored.iter_bytes().close()  # type: ignore[attr-defined]
        backend.get(ObjectLocation("u", (), "missing"))
        backend.update_metadata(LOC, lambda metadata: None)
        backend.update_metadata(LOC, lambda metadata: ObjectMetadata(content_type="a/b"))
        with pytest.raises(ConnectionResetError):
            backend.put(LOC, ObjectMetadata(), GeneratedBody(100_000, fail_after=1))
        backend.put(LOC, ObjectMetadata(), GeneratedBody(300_000))
        backend.sweep(T0)
    assert open_fds() == before


def test_sweep_removes_expired_object_and_its_empty_directories(
    backend: FilesystemBackend, root: Path
) -> None:
    keep = ObjectLocation("attachments", (("org", "1"),), "keep")
    backend.put(LOC, ObjectMetadata(time_expires=T0), BytesBody(b"x"))
    backend.put(keep, ObjectMetadata(), BytesBody(b"y"))
    assert backend.sweep(T0 + timedelta(seconds=1)) == 1
    assert not (root / "attachments" / "org=17").exists()
    assert all_files(root / "attachments") == [object_file(root, keep)]


def test_sweep_removes_stale_unlocked_drafts_only(backend: FilesystemBackend, root: Path) -> None:
    backend.put(LOC, ObjectMetadata(), BytesBody(b"x"))
    directory = object_file(root).parent
    stale, fresh, busy = (directory / f".{name}.draft" for name in ("stale", "fresh", "busy"))
    for draft in (stale, fresh, busy):
        draft.write_bytes(b"partial upload")
    made = datetime.fromtimestamp(fresh.stat().st_mtime, UTC)
    hour_old = (made - timedelta(hours=2)).timestamp()
    os.utime(stale, (hour_old, hour_old))
    os.utime(busy, (hour_old, hour_old))
    writer_fd = os.open(busy, os.O_RDONLY)  # a live writer holds the draft's lock
    try:
        fcntl.flock(writer_fd, fcntl.LOCK_EX)
        assert backend.sweep(made + timedelta(minutes=30)) == 0
        assert sorted(drafts(root)) == sorted([fresh, busy])
        assert backend.sweep(made + timedelta(minutes=61)) == 0
        assert drafts(root) == [busy]
    finally:
        os.close(writer_fd)
    assert backend.sweep(made + timedelta(minutes=61)) == 0
    assert drafts(root) == []
    assert exists(backend, LOC)


def test_sweep_leaves_foreign_files_alone(backend: FilesystemBackend, root: Path) -> None:
    backend.put(LOC, ObjectMetadata(time_expires=T0), BytesBody(b"x"))
    stray = object_file(root).parent / "stray"
    stray.write_bytes(object_file(root).read_bytes())
    junk = root / "attachments" / "notes.txt"
    junk.write_text("not an object")
    assert backend.sweep(T0 + timedelta(seconds=1)) == 1
    assert stray.exists() and junk.exists()


def test_sweep_keeps_object_renewed_after_it_was_listed(backend: FilesystemBackend) -> None:
    backend.put(LOC, ObjectMetadata(time_expires=T0), BytesBody(b"x"))
    path = str(object_file(Path(backend.root)))
    backend.update_metadata(LOC, lambda metadata: ObjectMetadata(time_expires=T0 + timedelta(1)))
    assert backend._remove_if_expired(LOC, path, T0 + timedelta(seconds=1)) is False
    assert exists(backend, LOC)


def test_root_that_is_a_file_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(NotADirectoryError, match="OS__STORAGE__PATH"):
        FilesystemBackend(tmp_path / "file")


def test_sweeping_during_writes_and_deletes_loses_no_object(backend: FilesystemBackend) -> None:
    far_future = datetime.now(UTC) + timedelta(days=30)  # every draft looks stale by age
    errors: list[BaseException] = []
    done = threading.Event()

    def writer(number: int) -> None:
        try:
            for round_ in range(40):
                location = ObjectLocation("u", (("org", str(round_ % 4)),), f"w{number}")
                backend.put(location, ObjectMetadata(), BytesBody(b"%d" % round_))
                stored = backend.get(location)
                assert stored is not None
                assert b"".join(stored.iter_bytes()) == b"%d" % round_
                backend.delete(location)  # leaves directories empty for the sweep
            backend.put(ObjectLocation("u", (), f"w{number}"), ObjectMetadata(), BytesBody(b"end"))
        except BaseException as error:
            errors.append(error)

    def sweeper() -> None:
        try:
            while not done.is_set():
                backend.sweep(far_future)
        except BaseException as error:
            errors.append(error)

    writers = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    sweeping = threading.Thread(target=sweeper)
    sweeping.start()
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    done.set()
    sweeping.join()
    assert errors == []
    for number in range(4):
        assert exists(backend, ObjectLocation("u", (), f"w{number}"))
