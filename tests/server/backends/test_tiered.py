"""Tiered backend specifics: the tier boundary, revision files, sweeps, listing, limits."""

from __future__ import annotations

import gc
import os
import sqlite3
import stat
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from django_objectstore.server.backends import create_backend
from django_objectstore.server.backends.records import (
    DeadlineRenewal,
    ObjectLocation,
    ObjectMetadata,
)
from django_objectstore.server.backends.tiered import (
    INLINE_LIMIT,
    OldFormatError,
    TieredBackend,
)
from django_objectstore.server.config import StorageConfig
from django_objectstore.server.messages import BytesBody
from django_objectstore.wire.expiration import TimeToIdle, TimeToLive

T0 = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
LOC = ObjectLocation("attachments", (("org", "17"), ("project", "42")), "abc123")
MIB = 1024 * 1024


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "store"


@pytest.fixture
def backend(root: Path) -> Iterator[TieredBackend]:
    opened = TieredBackend(root)
    yield opened
    opened.close()


def revision_files(root: Path) -> list[Path]:
    return sorted(path for path in (root / "revisions").rglob("*") if path.is_file())


def temp_files(root: Path) -> list[Path]:
    return sorted((root / "revisions" / ".tmp").iterdir())


def payload(backend: TieredBackend, location: ObjectLocation = LOC) -> bytes | None:
    stored = backend.get(location)
    if stored is None:
        return None
    return b"".join(stored.iter_bytes())


def exists(backend: TieredBackend, location: ObjectLocation) -> bool:
    stored = backend.get(location)
    if stored is not None:
        stored.close()
    return stored is not None


def open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


def age(path: Path, hours: float = 2) -> None:
    """Make ``path`` look last modified ``hours`` ago, as a crash long ago leaves it."""
    then = time.time() - hours * 3600
    os.utime(path, (then, then))


class GeneratedBody:
    """``size`` bytes produced on the fly, optionally failing after ``fail_after``."""

    def __init__(self, size: int, fail_after: int | None = None, fill: bytes = b"z") -> None:
        self.remaining = size
        self.fail_after = fail_after
        self.sent = 0
        self.fill = fill

    def read(self, n: int = -1, /) -> bytes:
        if self.fail_after is not None and self.sent >= self.fail_after:
            raise ConnectionResetError("client went away")
        count = min(self.remaining, 64 * 1024 if n < 0 else n)
        self.remaining -= count
        self.sent += count
        return self.fill * count


# -- configuration and layout --------------------------------------------------------------


def test_create_backend_builds_the_tiered_backend_on_the_configured_path(root: Path) -> None:
    backend = create_backend(StorageConfig(type="filesystem", path=str(root), fsync=False))
    assert isinstance(backend, TieredBackend)
    assert backend.root == str(root)
    assert backend.db.durable is False
    assert (root / "objects.sqlite3").is_file()
    backend.close()


@pytest.mark.parametrize(("fsync", "mode"), [(True, 2), (False, 1)], ids=["full", "normal"])
def test_fsync_maps_to_sqlite_synchronous(root: Path, fsync: bool, mode: int) -> None:
    backend = TieredBackend(root, fsync=fsync)
    assert backend.db.read("PRAGMA synchronous") == [(mode,)]
    assert backend.db.read("PRAGMA journal_mode") == [("wal",)]
    backend.close()


def test_new_files_are_0600_and_new_directories_0700(root: Path) -> None:
    old_umask = os.umask(0)
    try:
        backend = TieredBackend(root)
        backend.put(LOC, ObjectMetadata(), GeneratedBody(2 * MIB))
        backend.put(ObjectLocation("u", (), "small"), ObjectMetadata(), BytesBody(b"x"))
        backend.close()
    finally:
        os.umask(old_umask)
    entries = list(root.rglob("*"))
    assert len(revision_files(root)) == 1
    for path in [root, *entries]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), path


def test_root_that_is_a_file_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    with pytest.raises(NotADirectoryError, match="OS__STORAGE__PATH"):
        TieredBackend(tmp_path / "file")


@pytest.mark.parametrize("marker", [".locks", ".multipart"])
def test_a_root_in_the_old_format_is_refused_with_a_message_saying_so(
    root: Path, marker: str
) -> None:
    (root / marker).mkdir(parents=True)
    (root / "attachments" / "objects" / "90").mkdir(parents=True)
    with pytest.raises(OldFormatError, match="old one-file-per-object format"):
        create_backend(StorageConfig(type="filesystem", path=str(root)))
    assert not (root / "objects.sqlite3").exists()


# -- the tier boundary -------------------------------------------------------------------


def test_exactly_one_mebibyte_is_stored_inline(backend: TieredBackend, root: Path) -> None:
    assert backend.put(LOC, ObjectMetadata(), GeneratedBody(INLINE_LIMIT)) == INLINE_LIMIT
    assert revision_files(root) == []
    assert backend.db.read("SELECT revision, size FROM objects") == [(None, INLINE_LIMIT)]
    assert payload(backend) == b"z" * INLINE_LIMIT


def test_one_byte_more_goes_to_a_revision_file(backend: TieredBackend, root: Path) -> None:
    assert backend.put(LOC, ObjectMetadata(), GeneratedBody(MIB + 1)) == MIB + 1
    (revision,) = revision_files(root)
    assert revision.stat().st_size == MIB + 1
    assert backend.db.read("SELECT revision FROM objects") == [(revision.name,)]
    assert backend.db.read("SELECT count(*) FROM payloads") == [(0,)]
    assert payload(backend) == b"z" * (MIB + 1)


def test_small_over_large_leaves_no_stale_revision(backend: TieredBackend, root: Path) -> None:
    backend.put(LOC, ObjectMetadata(), GeneratedBody(2 * MIB))
    assert len(revision_files(root)) == 1
    backend.put(LOC, ObjectMetadata(content_type="small/new"), BytesBody(b"small"))
    assert revision_files(root) == []
    assert payload(backend) == b"small"


def test_large_over_small_and_large_over_large_keep_one_revision(
    backend: TieredBackend, root: Path
) -> None:
    backend.put(LOC, ObjectMetadata(), BytesBody(b"small"))
    backend.put(LOC, ObjectMetadata(), GeneratedBody(2 * MIB, fill=b"a"))
    (first,) = revision_files(root)
    assert backend.db.read("SELECT count(*) FROM payloads") == [(0,)]
    backend.put(LOC, ObjectMetadata(), GeneratedBody(3 * MIB, fill=b"b"))
    (second,) = revision_files(root)
    assert second != first
    assert payload(backend) == b"b" * (3 * MIB)


def test_delete_removes_the_revision_file(backend: TieredBackend, root: Path) -> None:
    backend.put(LOC, ObjectMetadata(), GeneratedBody(2 * MIB))
    backend.delete(LOC)
    assert revision_files(root) == []
    assert backend.get(LOC) is None


def test_multipart_sized_bodies_follow_the_same_rule_and_metadata_never_copies_payload(
    backend: TieredBackend, root: Path
) -> None:
    backend.put(LOC, ObjectMetadata(), GeneratedBody(2 * MIB))
    (revision,) = revision_files(root)
    inode = revision.stat().st_ino
    backend.update_metadata(LOC, lambda metadata: ObjectMetadata(content_type="a/b"))
    assert [path.stat().st_ino for path in revision_files(root)] == [inode]


# -- crashes, failures and the sweep of leftovers ------------------------------------------


def test_failed_upload_removes_its_temporary_file(backend: TieredBackend, root: Path) -> None:
    backend.put(LOC, ObjectMetadata(), BytesBody(b"previous"))
    with pytest.raises(ConnectionResetError):
        backend.put(LOC, ObjectMetadata(), GeneratedBody(4 * MIB, fail_after=2 * MIB))
    assert temp_files(root) == [] and revision_files(root) == []
    assert payload(backend) == b"previous"


def test_a_crash_between_revision_file_and_commit_leaves_a_file_the_sweep_removes(
    backend: TieredBackend, root: Path
) -> None:
    backend.put(LOC, ObjectMetadata(), GeneratedBody(2 * MIB, fill=b"o"))
    (kept,) = revision_files(root)
    orphan = backend.revisions.create()  # what a writer killed before its commit leaves
    orphan.write(b"n" * (2 * MIB))
    orphan.publish()
    stalled = backend.revisions.create()
    stalled.write(b"half")
    stalled.output.flush()
    assert len(revision_files(root)) == 3  # two published, one under .tmp
    reopened = TieredBackend(root)
    assert payload(reopened) == b"o" * (2 * MIB)
    assert reopened.sweep(T0) == 0
    assert len(revision_files(root)) == 3  # young files may belong to a live writer
    for path in revision_files(root):
        age(path)
    assert reopened.sweep(T0) == 0
    assert revision_files(root) == [kept]
    assert payload(reopened) == b"o" * (2 * MIB)
    stalled.output.discard()
    reopened.close()


def test_expired_objects_are_invisible_to_sweep_until_swept_then_gone_from_disk(
    backend: TieredBackend, root: Path
) -> None:
    large = ObjectLocation("u", (), "large")
    backend.put(large, ObjectMetadata(time_expires=T0), GeneratedBody(2 * MIB))
    backend.put(LOC, ObjectMetadata(time_expires=T0), BytesBody(b"small"))
    assert backend.sweep(T0) == 0
    assert backend.sweep(T0 + timedelta(seconds=1)) == 2
    assert revision_files(root) == []
    assert backend.db.read("SELECT count(*) FROM objects") == [(0,)]
    assert backend.db.read("SELECT count(*) FROM payloads") == [(0,)]


def test_sweep_uses_the_expiry_index(backend: TieredBackend) -> None:
    plan = backend.db.read("EXPLAIN QUERY PLAN SELECT id FROM objects WHERE expires < 5")
    assert "objects_expires" in " ".join(str(row) for row in plan)


def test_sweep_removes_many_expired_objects_in_batches(backend: TieredBackend) -> None:
    for number in range(1200):
        location = ObjectLocation("u", (), f"k{number}")
        backend.put(location, ObjectMetadata(time_expires=T0), BytesBody(b"x"))
    assert backend.sweep(T0 + timedelta(seconds=1)) == 1200


def test_sweep_leaves_foreign_files_alone(backend: TieredBackend, root: Path) -> None:
    junk = root / "revisions" / "notes.txt"
    junk.write_text("not a revision")
    age(junk)
    backend.sweep(T0)
    assert junk.exists()


# -- concurrency ---------------------------------------------------------------------------


def test_two_backends_on_one_root_share_objects(root: Path) -> None:
    first, second = TieredBackend(root), TieredBackend(root)
    first.put(LOC, ObjectMetadata(), BytesBody(b"shared"))
    assert payload(second) == b"shared"
    second.put(LOC, ObjectMetadata(), GeneratedBody(2 * MIB))
    assert payload(first) == b"z" * (2 * MIB)
    first.close()
    second.close()


def test_put_during_metadata_update_is_not_undone(backend: TieredBackend) -> None:
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
        return ObjectMetadata(content_type="updated/meta")

    backend.update_metadata(LOC, update)
    writer.join(10)
    assert payload(backend) == b"new payload"
    stored = backend.get(LOC)
    assert stored is not None
    assert stored.metadata.content_type == "application/octet-stream"
    stored.close()


def test_a_reader_keeps_reading_a_large_object_that_is_replaced_and_removed(
    backend: TieredBackend,
) -> None:
    backend.put(LOC, ObjectMetadata(), GeneratedBody(3 * MIB, fill=b"o"))
    stored = backend.get(LOC)
    assert stored is not None
    chunks = stored.iter_bytes()
    first = next(chunks)
    backend.put(LOC, ObjectMetadata(), GeneratedBody(3 * MIB, fill=b"n"))
    backend.delete(LOC)
    assert first + b"".join(chunks) == b"o" * (3 * MIB)


def test_sweeping_during_writes_and_deletes_loses_no_object(backend: TieredBackend) -> None:
    far_future = datetime.now(UTC) + timedelta(days=30)
    errors: list[BaseException] = []
    done = threading.Event()

    def writer(number: int) -> None:
        try:
            for round_ in range(30):
                location = ObjectLocation("u", (("org", str(round_ % 4)),), f"w{number}")
                size = MIB + 1 if round_ % 5 == 0 else 100
                body = GeneratedBody(size, fill=b"%d" % (round_ % 10))
                backend.put(location, ObjectMetadata(), body)
                assert payload(backend, location) == b"%d" % (round_ % 10) * size
                backend.delete(location)
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


def test_connections_are_per_thread_and_those_of_finished_threads_are_closed(
    backend: TieredBackend,
) -> None:
    seen: list[sqlite3.Connection] = []

    def use() -> None:
        backend.put(LOC, ObjectMetadata(), BytesBody(b"x"))
        seen.append(backend.db.connection())

    for _ in range(3):
        thread = threading.Thread(target=use)
        thread.start()
        thread.join()
    assert len({id(connection) for connection in seen}) == 3
    thread = threading.Thread(target=use)
    thread.start()
    thread.join()
    assert len(backend.db._open) <= 3  # the finished threads' connections were closed


# -- descriptors -------------------------------------------------------------------------


def test_iteration_to_the_end_closes_the_file(backend: TieredBackend) -> None:
    backend.put(LOC, ObjectMetadata(), GeneratedBody(2 * MIB))
    stored = backend.get(LOC)
    assert stored is not None
    assert sum(len(chunk) for chunk in stored.iter_bytes()) == 2 * MIB
    with pytest.raises(ValueError, match="closed"):
        stored.iter_bytes()


def test_no_descriptor_leaks_on_any_read_or_write_path(backend: TieredBackend) -> None:
    backend.put(LOC, ObjectMetadata(), GeneratedBody(2 * MIB))
    backend.db.connection()
    gc.collect()  # backends of earlier tests close their connections when collected
    before = open_fds()
    for _ in range(10):
        stored = backend.get(LOC)
        assert stored is not None
        b"".join(stored.iter_bytes())
        stored = backend.get(LOC)
        assert stored is not None
        stored.close()
        stored = backend.get(LOC)
        assert stored is not None
        chunks: Iterator[bytes] = stored.iter_bytes(10, 200_000)
        next(chunks)
        chunks.close()  # type: ignore[attr-defined]
        backend.get(ObjectLocation("u", (), "missing"))
        backend.update_metadata(LOC, lambda metadata: None)
        backend.update_metadata(LOC, lambda metadata: ObjectMetadata(content_type="a/b"))
        with pytest.raises(ConnectionResetError):
            backend.put(LOC, ObjectMetadata(), GeneratedBody(3 * MIB, fail_after=2 * MIB))
        backend.put(LOC, ObjectMetadata(), GeneratedBody(2 * MIB))
        backend.sweep(T0)
    gc.collect()
    assert open_fds() <= before


def test_a_revision_file_cut_short_is_an_error_not_a_short_object(
    backend: TieredBackend, root: Path
) -> None:
    backend.put(LOC, ObjectMetadata(), GeneratedBody(2 * MIB))
    (revision,) = revision_files(root)
    os.truncate(revision, MIB)
    with pytest.raises(OSError, match="its row says"):
        backend.get(LOC)


# -- renewals --------------------------------------------------------------------------------


def renew_to(deadline: datetime) -> DeadlineRenewal:
    def update(current: ObjectMetadata) -> ObjectMetadata:
        current.time_expires = deadline
        return current

    return DeadlineRenewal(update)


def test_renew_many_renews_every_object_in_one_transaction(root: Path) -> None:
    backend = TieredBackend(root)
    tti = ObjectMetadata(expiration=TimeToIdle(timedelta(days=1)), time_expires=T0)
    locations = [ObjectLocation("u", (), f"k{n}") for n in range(50)]
    for location in locations:
        backend.put(location, tti, BytesBody(b"x"))
    statements: list[str] = []
    backend.db.connection().set_trace_callback(statements.append)
    later = T0 + timedelta(days=1)
    backend.renew_many([(location, renew_to(later)) for location in locations])
    backend.db.connection().set_trace_callback(None)
    assert statements.count("BEGIN IMMEDIATE") == 1
    assert statements.count("COMMIT") == 1
    reopened = TieredBackend(root)
    for location in locations:
        stored = reopened.get(location)
        assert stored is not None and stored.metadata.time_expires == later
        stored.close()
    backend.close()
    reopened.close()


def test_a_renewal_changes_only_the_row(backend: TieredBackend, root: Path) -> None:
    metadata = ObjectMetadata(expiration=TimeToIdle(timedelta(days=1)), time_expires=T0)
    backend.put(LOC, metadata, GeneratedBody(2 * MIB))
    (revision,) = revision_files(root)
    before = revision.stat()
    backend.update_metadata(LOC, renew_to(T0 + timedelta(hours=5)))
    after = revision.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    stored = backend.get(LOC)
    assert stored is not None and stored.metadata.time_expires == T0 + timedelta(hours=5)
    stored.close()


def test_renewals_commit_without_syncing_and_other_updates_with_it(root: Path) -> None:
    backend = TieredBackend(root, fsync=True)
    backend.put(LOC, ObjectMetadata(time_expires=T0), BytesBody(b"x"))
    statements: list[str] = []
    backend.db.connection().set_trace_callback(statements.append)
    backend.update_metadata(LOC, renew_to(T0 + timedelta(hours=1)))
    assert statements[0] == "PRAGMA synchronous = NORMAL"
    assert statements[-1] == "PRAGMA synchronous = FULL"
    statements.clear()
    backend.update_metadata(LOC, lambda metadata: ObjectMetadata(content_type="a/b"))
    assert not any("synchronous" in statement for statement in statements)
    backend.close()


# -- keys never become paths ---------------------------------------------------------------

ADVERSARIAL_KEYS = [
    "",
    ".",
    "..",
    "../..",
    "../../../etc/passwd",
    "a/../../b",
    "/absolute/path",
    "//",
    "a//b",
    "a/",
    "a",
    "a/b",
    "A",
    "a%2Fb",
    "%",
    "a\x00b",
    "\x00",
    "a\\b",
    "..\\..\\windows",
    "C:\\temp",
    "revisions",
    "objects.sqlite3",
    "y" * 5000,
    "é/📄/\u202e/\ufeff",
    "\ud800lone surrogate",
    "new\nline",
    "a=b;c=d",
]


def test_adversarial_keys_are_stored_separately_and_never_touch_the_filesystem(
    tmp_path: Path,
) -> None:
    root = tmp_path / "store"
    backend = TieredBackend(root)
    scopes = (("org", "../.."), ("a=b", "c;d"))
    for index, key in enumerate(ADVERSARIAL_KEYS):
        size = MIB + 1 if index % 7 == 0 else 10
        body = GeneratedBody(size, fill=b"%d" % (index % 10))
        backend.put(ObjectLocation("../usecase", scopes, key), ObjectMetadata(), body)
    for index, key in enumerate(ADVERSARIAL_KEYS):
        size = MIB + 1 if index % 7 == 0 else 10
        found = payload(backend, ObjectLocation("../usecase", scopes, key))
        assert found == b"%d" % (index % 10) * size, key
    assert sorted(path.name for path in tmp_path.iterdir()) == ["store"]
    names = {path.name for path in root.iterdir()}
    assert names <= {"objects.sqlite3", "objects.sqlite3-wal", "objects.sqlite3-shm"} | {
        "revisions",
        "parts",
    }
    listed = [item.key for item in backend.iter_objects("../usecase")]
    assert sorted(listed, key=lambda key: key.encode("utf-8", "surrogatepass")) == listed
    assert sorted(listed) == sorted(ADVERSARIAL_KEYS)
    backend.close()


def test_scopes_that_concatenate_alike_are_distinct(backend: TieredBackend) -> None:
    first = ObjectLocation("u", (("a.b", "c"),), "k")
    second = ObjectLocation("u", (("a", "b.c"),), "k")
    third = ObjectLocation("u", (("a", "b"), ("c", "")), "k")
    for number, location in enumerate((first, second, third)):
        backend.put(location, ObjectMetadata(), BytesBody(b"%d" % number))
    assert [payload(backend, loc) for loc in (first, second, third)] == [b"0", b"1", b"2"]


# -- listing ---------------------------------------------------------------------------------


def test_iter_objects_lists_a_usecase_in_key_order_page_by_page(backend: TieredBackend) -> None:
    created = T0 - timedelta(days=1)
    for key in ("b", "a", "c/d", "c"):
        for scope in ("2", "1"):
            location = ObjectLocation("u", (("org", scope),), key)
            body = GeneratedBody(MIB + 1 if key == "c" else 3)
            backend.put(location, ObjectMetadata(time_created=created), body)
    backend.put(ObjectLocation("other", (), "a"), ObjectMetadata(), BytesBody(b"x"))
    listed = list(backend.iter_objects("u", page_size=3))
    assert [(item.key, item.scopes) for item in listed] == [
        (key, (("org", scope),)) for key in ("a", "b", "c", "c/d") for scope in ("1", "2")
    ]
    assert {item.usecase for item in listed} == {"u"}
    assert [item.size for item in listed if item.key == "c"] == [MIB + 1, MIB + 1]
    assert {item.created for item in listed} == {created}
    assert list(backend.iter_objects("none")) == []


def test_engine_touch_many_stores_due_renewals_in_one_transaction(root: Path) -> None:
    from django_objectstore.server.config import ServerConfig
    from django_objectstore.server.engine import Engine
    from tests.server.harness import FrozenClock

    backend = TieredBackend(root)
    engine = Engine(backend, ServerConfig(), FrozenClock(T0))
    tti = TimeToIdle(timedelta(days=4))
    due = [ObjectLocation("u", (), f"due{n}") for n in range(3)]
    fresh = ObjectLocation("u", (), "fresh")
    for location in due:
        backend.put(location, ObjectMetadata(expiration=tti, time_expires=T0), BytesBody(b"x"))
    backend.put(fresh, ObjectMetadata(expiration=tti, time_expires=T0 + tti.delta), BytesBody(b"y"))
    reads = []
    for location in [*due, fresh]:
        stored = engine.read(location, T0, touch=False)
        assert stored is not None
        reads.append((location, stored.metadata))
        stored.close()
    statements: list[str] = []
    backend.db.connection().set_trace_callback(statements.append)
    engine.touch_many(reads, T0)
    backend.db.connection().set_trace_callback(None)
    assert statements.count("BEGIN IMMEDIATE") == 1
    for location in [*due, fresh]:
        stored = backend.get(location)
        assert stored is not None and stored.metadata.time_expires == T0 + tti.delta
        stored.close()
    backend.close()


# -- heads and renewals without reading payloads or metadata ---------------------------------


def traced(backend: TieredBackend) -> list[str]:
    statements: list[str] = []
    backend.db.connection().set_trace_callback(statements.append)
    return statements


def test_head_reads_metadata_and_size_without_the_inline_payload(
    backend: TieredBackend,
) -> None:
    location = ObjectLocation("u", (), "small")
    backend.put(location, ObjectMetadata(content_type="text/plain"), BytesBody(b"hello"))
    statements = traced(backend)
    found = backend.head(location)
    assert found is not None
    assert (found.metadata.content_type, found.size) == ("text/plain", 5)
    assert statements and not any("payloads" in sql for sql in statements)
    assert backend.head(ObjectLocation("u", (), "absent")) is None


def test_head_of_a_large_object_with_a_missing_revision_file_is_an_error(
    backend: TieredBackend, root: Path
) -> None:
    location = ObjectLocation("u", (), "large")
    backend.put(location, ObjectMetadata(), BytesBody(b"x" * (MIB + 1)))
    found = backend.head(location)
    assert found is not None and found.size == MIB + 1
    for path in revision_files(root):
        path.unlink()
    with pytest.raises(OSError):
        backend.head(location)


def test_engine_renewals_are_stored_without_reading_rows(root: Path) -> None:
    from django_objectstore.server.config import ServerConfig
    from django_objectstore.server.engine import Engine
    from tests.server.harness import FrozenClock

    backend = TieredBackend(root)
    engine = Engine(backend, ServerConfig(), FrozenClock(T0))
    tti = TimeToIdle(timedelta(days=4))
    locations = [ObjectLocation("u", (), f"k{n}") for n in range(3)]
    for location in locations:
        backend.put(location, ObjectMetadata(expiration=tti, time_expires=T0), BytesBody(b"x"))
    reads = []
    for location in locations:
        head = engine.read_head(location, T0)
        assert head is not None
        reads.append((location, head.metadata))
    # Between the reads and the renewal: one object becomes TTL, one is renewed further.
    ttl = ObjectMetadata(expiration=TimeToLive(timedelta(days=1)), time_expires=T0)
    backend.put(locations[1], ttl, BytesBody(b"y"))
    later = T0 + timedelta(days=9)
    backend.put(locations[2], ObjectMetadata(expiration=tti, time_expires=later), BytesBody(b"z"))
    statements = traced(backend)
    engine.touch_many(reads, T0)
    assert not any(sql.startswith("SELECT") for sql in statements)
    expected = [T0 + tti.delta, T0, later]
    for location, deadline in zip(locations, expected, strict=True):
        head = backend.head(location)
        assert head is not None and head.metadata.time_expires == deadline
    backend.close()


def test_a_backend_dropped_without_close_closes_its_connections(root: Path) -> None:
    """Python 3.13 warns about every sqlite3 connection collected unclosed."""
    backend = TieredBackend(root, fsync=False)
    backend.put(LOC, ObjectMetadata(), BytesBody(b"x"))
    connections: list[sqlite3.Connection] = [backend.db.connection()]
    worker = threading.Thread(target=lambda db=backend.db: connections.append(db.connection()))
    worker.start()
    worker.join(10)
    del backend, worker
    gc.collect()
    for connection in connections:
        with pytest.raises(sqlite3.ProgrammingError, match="closed"):
            connection.execute("SELECT 1")
