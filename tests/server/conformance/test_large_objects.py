"""A 1 GiB object through the real server process with the official client.

The server runs as ``python -m django_objectstore.server run`` (as the official e2e
harness starts the real binary) so that its peak memory is its own: it must stay flat
while a whole GiB streams up and back down.
"""

from __future__ import annotations

import io
import os
import signal
import subprocess
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import urllib3
from objectstore_client import Client, Usecase

from tests.server.processes import free_port, server_env, start_quiet_server, wait_healthy

MIB = 1024 * 1024
SIZE = 1024 * MIB
BLOCK = os.urandom(MIB)
DEADLINE = 20.0


class GeneratedReader(io.RawIOBase):
    """``size`` bytes repeating :data:`BLOCK`, made on the fly, with their CRC-32."""

    def __init__(self, size: int) -> None:
        self.left = size
        self.crc = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), self.left, len(BLOCK))
        buffer[:n] = BLOCK[:n]
        self.crc = zlib.crc32(BLOCK[:n], self.crc)
        self.left -= n
        return n


def peak_rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc status")


@pytest.fixture
def server_process(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    env = server_env(
        OS__HTTP_ADDR=f"127.0.0.1:{port}",
        OS__STORAGE__TYPE="filesystem",
        OS__STORAGE__PATH=str(tmp_path / "store"),
        OS__STORAGE__FSYNC="false",
        OS__AUTH__ENFORCE="false",
    )
    process = start_quiet_server(env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, process, DEADLINE)
        yield url, process
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(DEADLINE)


@pytest.mark.slow
def test_official_client_streams_1_gib_up_and_down_with_flat_server_memory(
    server_process: tuple[str, subprocess.Popen[bytes]],
) -> None:
    url, process = server_process
    baseline = peak_rss_mib(process.pid)
    connect = urllib3.Timeout(connect=10.0, read=60.0)
    client = Client(url, connection_kwargs={"timeout": connect})
    session = client.session(Usecase("large", compression="none"), org=1)

    source = GeneratedReader(SIZE)
    key = session.put(io.BufferedReader(source, MIB), compress="none")

    result = session.get(key)
    assert result is not None
    received, crc = 0, 0
    while chunk := result.payload.read(MIB):
        received += len(chunk)
        crc = zlib.crc32(chunk, crc)
    assert received == SIZE
    assert crc == source.crc
    assert result.metadata.size == SIZE
    assert peak_rss_mib(process.pid) - baseline < 64
