"""A full disk (ENOSPC) during an upload: 507 saying so, old object intact, draft gone at once.

Two ways to fill the disk: a 5 MiB tmpfs (only when the tests run as root and may
mount one; skipped otherwise, with the reason), and a :class:`FileLayer` that fails
every write once its byte budget is spent, which always runs. Both over a socket.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from django_objectstore.server.app import create_app
from django_objectstore.server.backends.tiered import TieredBackend
from django_objectstore.server.backends.tiered.files import FileLayer
from django_objectstore.server.config import AuthConfig, ServerConfig
from tests.server.protocol.live import BASE, LiveServer, Reply, batch_body, live, send_batch

MIB = 1024 * 1024
MULTIPART = "/v1/objects:multipart/test-usecase/org=42;project=1337"
PARTS = "/v1/objects:multipart:parts/test-usecase/org=42;project=1337"
COMPLETE = "/v1/objects:multipart:complete/test-usecase/org=42;project=1337"


class FullDisk(FileLayer):
    """Writes succeed until ``budget`` bytes are on "disk", then fail with ENOSPC.

    :meth:`free` gives space back, like deleting files would.
    """

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.failures = 0

    def _take(self, size: int) -> int:
        if self.budget <= 0:
            self.failures += 1
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        granted = min(size, self.budget)
        self.budget -= granted
        return granted

    def write(self, fd: int, data: memoryview) -> int:
        return super().write(fd, data[: self._take(len(data))])

    def pwrite(self, fd: int, data: bytes, offset: int) -> int:
        return super().pwrite(fd, data[: self._take(len(data))], offset)

    def free(self, size: int) -> None:
        self.budget += size


def leftovers(root: Path) -> list[str]:
    """Files being written (under a ``.tmp`` directory) anywhere under ``root``."""
    found = []
    for directory, _dirs, files in os.walk(root):
        if os.path.basename(directory) == ".tmp":
            found.extend(os.path.join(directory, name) for name in files)
    return found


def upload(server: LiveServer, key: str, body: bytes) -> tuple[int, str]:
    reply = server.request("PUT", f"{BASE}/{key}", body=body)
    return reply.status, reply.body.decode()


def assert_disk_full(status: int, body: str) -> None:
    assert status == 507, body
    assert "the disk is full" in json.loads(body)["detail"]


def start_multipart(server: LiveServer, key: str) -> str:
    reply = server.request("PUT", f"{MULTIPART}/{key}")
    assert reply.status == 200, reply.body
    document = reply.json()
    assert isinstance(document, dict)
    return str(document["upload_id"])


def put_part(
    server: LiveServer, key: str, upload_id: str, number: int, body: bytes
) -> tuple[int, str]:
    reply = server.request(
        "PUT",
        f"{PARTS}/{key}",
        query=f"upload_id={upload_id}&part_number={number}",
        body=body,
        headers={"content-length": str(len(body))},
    )
    return reply.status, reply.body.decode()


def complete_multipart(
    server: LiveServer, key: str, upload_id: str, parts: list[dict[str, object]]
) -> Reply:
    return server.request(
        "POST",
        f"{COMPLETE}/{key}",
        query=f"upload_id={upload_id}",
        body=json.dumps({"parts": parts}).encode(),
        headers={"content-type": "application/json"},
    )


# -- injected ENOSPC through the backend's file layer (always runs) ------------------------


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[tuple[LiveServer, FullDisk, Path]]:
    disk = FullDisk(budget=3 * MIB)
    root = tmp_path / "store"
    backend = TieredBackend(root, fsync=False, files=disk)
    app = create_app(ServerConfig(auth=AuthConfig(enforce=False)), backend=backend)
    with live(app) as server:
        yield server, disk, root


def test_put_that_fills_the_disk_is_507_keeps_the_old_object_and_leaves_no_draft(
    full_disk: tuple[LiveServer, FullDisk, Path],
) -> None:
    server, disk, root = full_disk
    old = os.urandom(MIB)
    assert upload(server, "doc", old)[0] == 200

    assert_disk_full(*upload(server, "doc", b"n" * (4 * MIB)))

    assert disk.failures >= 1
    assert leftovers(root) == []
    reply = server.request("GET", f"{BASE}/doc")
    assert (reply.status, reply.body) == (200, old)
    assert_disk_full(*upload(server, "other", b"x" * (4 * MIB)))
    disk.free(4 * MIB)  # what the failed drafts took is back, and more
    assert upload(server, "small", b"s" * 100)[0] == 200
    assert server.request("GET", f"{BASE}/small").body == b"s" * 100


def test_multipart_part_that_fills_the_disk_is_507_and_the_upload_goes_on(
    full_disk: tuple[LiveServer, FullDisk, Path],
) -> None:
    server, disk, root = full_disk
    upload_id = start_multipart(server, "assembled")

    assert_disk_full(*put_part(server, "assembled", upload_id, 1, b"p" * (4 * MIB)))

    assert leftovers(root) == []
    disk.free(2 * MIB)
    status, body = put_part(server, "assembled", upload_id, 1, b"p" * 1000)
    assert status == 200, body
    etag = json.loads(body)["etag"]
    # Completion writes the object: with the disk full again it fails inside the 200.
    disk.budget = 0
    parts = [{"part_number": 1, "etag": etag}]
    reply = complete_multipart(server, "assembled", upload_id, parts)
    assert reply.status == 200
    outcome = json.loads(reply.body)
    assert "the disk is full" in outcome["error"]["message"]
    assert leftovers(root) == []
    disk.free(MIB)
    reply = complete_multipart(server, "assembled", upload_id, parts)
    assert json.loads(reply.body) == {"key": "assembled"}
    assert server.request("GET", f"{BASE}/assembled").body == b"p" * 1000


def test_put_on_a_full_tmpfs_frees_its_draft_at_once(tmpfs: Path) -> None:
    root = tmpfs / "store"
    backend = TieredBackend(root, fsync=False)
    app = create_app(ServerConfig(auth=AuthConfig(enforce=False)), backend=backend)
    with closing(backend), live(app) as server:
        old = os.urandom(MIB)
        assert upload(server, "doc", old)[0] == 200

        assert_disk_full(*upload(server, "doc", b"n" * (10 * MIB)))

        assert leftovers(root) == []
        assert shutil.disk_usage(tmpfs).free > 3 * MIB
        reply = server.request("GET", f"{BASE}/doc")
        assert (reply.status, reply.body) == (200, old)
        for index in range(3):
            assert upload(server, f"small-{index}", b"s" * 100)[0] == 200

        upload_id = start_multipart(server, "parts")
        assert_disk_full(*put_part(server, "parts", upload_id, 1, b"p" * (10 * MIB)))
        assert leftovers(root) == []
        assert put_part(server, "parts", upload_id, 1, b"p" * 100)[0] == 200


def test_batch_insert_on_a_full_disk_is_a_507_part(tmpfs: Path) -> None:
    """Batch inserts (at most 1 MiB) go to the database: a full disk stops its commit."""
    root = tmpfs / "store"
    backend = TieredBackend(root, fsync=False)
    app = create_app(ServerConfig(auth=AuthConfig(enforce=False)), backend=backend)
    with closing(backend), live(app) as server:
        assert upload(server, "warm", b"w" * 100)[0] == 200
        filler = tmpfs / "filler"
        with open(filler, "wb") as file:
            try:
                for _ in range(10_000):  # bounded: the tmpfs has 5 MiB
                    file.write(b"\0" * 65536)
                    file.flush()
            except OSError as error:
                assert error.errno == errno.ENOSPC
        os.truncate(filler, max(0, filler.stat().st_size - 64 * 1024))
        body = batch_body(
            (
                [b"x-sn-batch-operation-kind: insert", b"x-sn-batch-operation-key: big"],
                os.urandom(900_000),
            ),
        )
        reply_body = send_batch(server, body)
        assert b"x-sn-batch-operation-status: 507 Insufficient Storage" in reply_body
        assert b"the disk is full" in reply_body
        assert server.request("HEAD", f"{BASE}/big").status == 404
        filler.unlink()
        assert upload(server, "after", b"a" * 100)[0] == 200
