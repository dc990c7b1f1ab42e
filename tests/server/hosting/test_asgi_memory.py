"""The server process's memory stays flat while large objects stream through it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import urllib3

from tests.server.processes import listening_server, server_env

MIB = 1024 * 1024
SIZE = 128 * MIB
START_DEADLINE = 15.0


def peak_rss_mib(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    match = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    assert match, status
    return int(match[1]) / 1024


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[int, str]]:
    env = server_env(
        OS__HTTP_ADDR="127.0.0.1:0",
        OS__STORAGE__PATH=str(tmp_path),
        OS__STORAGE__FSYNC="false",
        OS__AUTH__ENFORCE="false",
    )
    with listening_server(env, START_DEADLINE) as (proc, url):
        yield proc.pid, url


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
def test_large_upload_and_download_keep_server_memory_flat(server: tuple[int, str]) -> None:
    pid, url = server
    block = b"m" * MIB
    with urllib3.connection_from_url(url, retries=False, timeout=60) as pool:
        assert pool.request("PUT", "/v1/objects/mem/_/small", body=b"x").status == 200
        baseline = peak_rss_mib(pid)
        response = pool.urlopen(
            "PUT",
            "/v1/objects/mem/_/large",
            body=(block for _ in range(SIZE // MIB)),
            headers={"content-length": str(SIZE)},
        )
        assert response.status == 200
        download = pool.request("GET", "/v1/objects/mem/_/large", preload_content=False)
        received = sum(len(chunk) for chunk in download.stream(MIB))
        download.release_conn()
    assert received == SIZE
    growth = peak_rss_mib(pid) - baseline
    assert growth < 32, f"server peak RSS grew by {growth:.0f} MiB for a {SIZE // MIB} MiB object"
