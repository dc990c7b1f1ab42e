"""A full disk fails one upload cleanly and leaves the server able to store again.

The server's root is a 5 MiB tmpfs (the test runs as root and mounts it; otherwise it is
skipped with the reason). A 1 MiB object is stored, then a 10 MiB upload to the same key
runs out of space. Required: a 5xx whose body says the disk is full, the 1 MiB object
intact, the draft gone at once (the space is free again), and a 100-byte upload that
succeeds afterwards.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from .hostile_support import (
    Response,
    ServerProcess,
    files_under,
    hostile,
    object_path,
    poll_until,
    start_server,
    upload_streaming,
)

MIB = 1024 * 1024
SMALL = os.urandom(MIB)
BLOCK = 64 * 1024
SLACK = 256 * 1024
"""Bytes of the filesystem an aborted upload may still hold (metadata, lock files)."""
FULL_DISK = re.compile(
    r"disk (is )?full|no space left|insufficient storage|out of (disk )?space", re.IGNORECASE
)


@dataclass
class DiskFull:
    first: Response
    big: Response
    used_before_big: int
    used_after_big: int
    files_before_big: set[Path]
    files_after_big: set[Path]
    read_back: Response
    tiny: Response
    tiny_read_back: Response


def _used(path: Path) -> int:
    usage = shutil.disk_usage(path)
    return usage.total - usage.free


def _mount_tmpfs(mountpoint: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("mounting a 5 MiB tmpfs needs root; run as root to test a full disk")
    if shutil.which("mount") is None:
        pytest.skip("no mount command to create a 5 MiB tmpfs")
    result = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=5m", "tmpfs", str(mountpoint)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if result.returncode != 0:
        pytest.skip(f"mount -t tmpfs failed: {result.stderr.strip() or result.returncode}")


def _unmount(mountpoint: Path) -> None:
    result = subprocess.run(
        ["umount", str(mountpoint)], capture_output=True, timeout=30, check=False
    )
    if result.returncode != 0:
        subprocess.run(["umount", "-l", str(mountpoint)], timeout=30, check=False)


def _blocks(total: int) -> Iterator[bytes]:
    block = os.urandom(BLOCK)
    for _ in range(total // BLOCK):
        yield block


def _run(server: ServerProcess) -> DiskFull:
    path = object_path("doc")
    first = upload_streaming(server, path, [SMALL], len(SMALL))
    assert first.status == 200, first
    used_before = _used(server.root)
    files_before = files_under(server.root)
    hostile()
    big = upload_streaming(server, path, _blocks(10 * MIB), 10 * MIB)
    # The draft must go at once; allow the server a moment to finish the request.
    poll_until(lambda: _used(server.root) <= used_before + SLACK, 2.0)
    used_after = _used(server.root)
    files_after = files_under(server.root)
    read_back = server.request("GET", path)
    tiny_path = object_path("tiny")
    tiny = server.request("PUT", tiny_path, body=b"t" * 100)
    tiny_read_back = server.request("GET", tiny_path)
    return DiskFull(
        first,
        big,
        used_before,
        used_after,
        files_before,
        files_after,
        read_back,
        tiny,
        tiny_read_back,
    )


@pytest.fixture(scope="module")
def disk_full(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DiskFull]:
    base = tmp_path_factory.mktemp("disk-full")
    mountpoint = base / "tmpfs"
    mountpoint.mkdir()
    _mount_tmpfs(mountpoint)
    try:
        (mountpoint / "data").mkdir()
        server = start_server(mountpoint / "data", base / "server.log")
        try:
            yield _run(server)
        finally:
            server.stop()
    finally:
        _unmount(mountpoint)


def test_disk_full_upload_answers_5xx_saying_the_disk_is_full(disk_full: DiskFull) -> None:
    assert 500 <= disk_full.big.status < 600, disk_full.big
    assert FULL_DISK.search(disk_full.big.body.decode("utf-8", "replace")), disk_full.big


def test_disk_full_upload_keeps_the_previous_object(disk_full: DiskFull) -> None:
    assert disk_full.read_back.status == 200
    assert disk_full.read_back.body == SMALL


def test_disk_full_upload_leaves_no_draft(disk_full: DiskFull) -> None:
    assert disk_full.files_after_big == disk_full.files_before_big
    assert disk_full.used_after_big <= disk_full.used_before_big + SLACK, (
        f"{disk_full.used_after_big - disk_full.used_before_big} bytes still used"
    )


def test_small_upload_succeeds_after_a_disk_full_upload(disk_full: DiskFull) -> None:
    assert disk_full.tiny.status == 200, disk_full.tiny
    assert disk_full.tiny_read_back.body == b"t" * 100
