"""A full disk (ENOSPC) in the tiered backend: 507 saying so, old object kept, files gone at once.

Three ways to fill the disk: a :class:`FileLayer` that fails revision and part writes
once its byte budget is spent, SQLite's page limit for the database (``SQLITE_FULL``),
and a 5 MiB tmpfs (only when the tests run as root and may mount one).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import sqlite3
from pathlib import Path

import pytest

from django_objectstore.server.backends.records import ObjectLocation, ObjectMetadata
from django_objectstore.server.backends.tiered import FileLayer, TieredBackend
from django_objectstore.server.messages import BytesBody
from tests.server.harness import BASE, Harness

MIB = 1024 * 1024
LOC = ObjectLocation("u", (), "doc")


class FullDisk(FileLayer):
    """Writes succeed until ``budget`` bytes are on "disk", then fail with ENOSPC."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.failures = 0

    def write(self, fd: int, data: memoryview) -> int:
        if self.budget <= 0:
            self.failures += 1
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        granted = min(len(data), self.budget)
        self.budget -= granted
        return super().write(fd, data[:granted])


def leftovers(root: Path) -> list[Path]:
    """Temporary files of revisions and parts."""
    return [path for tier in ("revisions", "parts") for path in (root / tier / ".tmp").iterdir()]


def published(root: Path) -> list[Path]:
    return [
        path
        for tier in ("revisions", "parts")
        for path in (root / tier).rglob("*")
        if path.is_file() and path.parent.name != ".tmp"
    ]


def put(store: Harness, key: str, body: bytes) -> tuple[int, bytes]:
    reply = store.request("PUT", f"{BASE}/{key}", body=body)
    return reply.status, reply.body


def assert_disk_full(status: int, body: bytes) -> None:
    assert status == 507, body
    assert "the disk is full" in json.loads(body)["detail"]


def test_a_large_put_on_a_full_disk_raises_enospc_and_removes_its_file(tmp_path: Path) -> None:
    disk = FullDisk(budget=3 * MIB)
    backend = TieredBackend(tmp_path, fsync=False, files=disk)
    backend.put(LOC, ObjectMetadata(), BytesBody(b"o" * (2 * MIB)))
    with pytest.raises(OSError) as raised:
        backend.put(LOC, ObjectMetadata(), BytesBody(b"n" * (4 * MIB)))
    assert raised.value.errno == errno.ENOSPC
    assert leftovers(tmp_path) == []
    assert len(published(tmp_path)) == 1
    stored = backend.get(LOC)
    assert stored is not None
    assert b"".join(stored.iter_bytes()) == b"o" * (2 * MIB)
    backend.put(ObjectLocation("u", (), "small"), ObjectMetadata(), BytesBody(b"inline"))


def test_a_full_database_is_reported_as_enospc_and_changes_nothing(tmp_path: Path) -> None:
    backend = TieredBackend(tmp_path, fsync=False)
    backend.put(LOC, ObjectMetadata(), BytesBody(b"previous"))
    pages = backend.db.read("PRAGMA page_count")[0][0]
    backend.db.connection().execute(f"PRAGMA max_page_count = {pages + 2}")
    with pytest.raises(OSError) as raised:
        backend.put(LOC, ObjectMetadata(), BytesBody(b"x" * 100_000))
    assert raised.value.errno == errno.ENOSPC
    assert "full" in str(raised.value)
    assert published(tmp_path) == [] and leftovers(tmp_path) == []
    stored = backend.get(LOC)
    assert stored is not None
    assert b"".join(stored.iter_bytes()) == b"previous"


def test_a_revision_whose_row_swap_fails_is_removed_at_once(tmp_path: Path) -> None:
    backend = TieredBackend(tmp_path, fsync=False)
    backend.put(LOC, ObjectMetadata(), BytesBody(b"previous"))

    def refuse_writes(action: int, table: str | None, *_: object) -> int:
        writes = (sqlite3.SQLITE_INSERT, sqlite3.SQLITE_UPDATE)
        return sqlite3.SQLITE_DENY if action in writes and table == "objects" else sqlite3.SQLITE_OK

    backend.db.connection().set_authorizer(refuse_writes)
    with pytest.raises(sqlite3.DatabaseError):
        backend.put(LOC, ObjectMetadata(), BytesBody(b"y" * (2 * MIB)))
    backend.db.connection().set_authorizer(None)
    assert published(tmp_path) == [] and leftovers(tmp_path) == []
    stored = backend.get(LOC)
    assert stored is not None
    assert b"".join(stored.iter_bytes()) == b"previous"


def test_put_and_part_on_a_full_disk_answer_507_and_the_upload_goes_on(tmp_path: Path) -> None:
    disk = FullDisk(budget=3 * MIB)
    store = Harness(backend=TieredBackend(tmp_path, fsync=False, files=disk))
    assert store.put("doc", b"o" * (2 * MIB)).status == 200
    assert_disk_full(*put(store, "doc", b"n" * (4 * MIB)))
    assert leftovers(tmp_path) == []
    assert store.get("doc").body == b"o" * (2 * MIB)
    assert store.put("small", b"s" * 100).status == 200  # inline: the database has room


def test_a_full_tmpfs_frees_the_file_at_once_and_small_writes_go_on(tmpfs: Path) -> None:
    root = tmpfs / "store"
    backend = TieredBackend(root, fsync=True)
    store = Harness(backend=backend)
    old = os.urandom(MIB)
    assert store.put("doc", old).status == 200
    assert_disk_full(*put(store, "doc", b"n" * (10 * MIB)))
    assert leftovers(root) == []
    assert shutil.disk_usage(tmpfs).free > 2 * MIB
    assert store.get("doc").body == old
    for index in range(3):
        assert store.put(f"small-{index}", b"s" * 100).status == 200
    # Fill the database itself: inline objects until SQLite reports the disk full.
    status, body = 200, b""
    for index in range(40):
        status, body = put(store, f"inline-{index}", os.urandom(MIB - 100))
        if status != 200:
            break
    assert_disk_full(status, body)
    assert store.get("doc").body == old
    backend.close()
