"""``run --workers N`` / ``OS__WORKERS``: N processes serving one port and one root."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import urllib3

from tests.server.hosting.process import (
    STOP_DEADLINE,
    running_server,
    server_environ,
)

ACCESS = re.compile(r" INFO \[(\d+)\] django_objectstore\.server\.access .* (PUT|GET) ")
LISTENING = re.compile(r"worker (\d+) \(pid (\d+)\) listening")
REQUESTS = 40


def _request(method: str, url: str, body: bytes | None = None) -> urllib3.BaseHTTPResponse:
    """On a new connection: the kernel picks a worker per connection."""
    with urllib3.PoolManager(retries=False) as pool:
        return pool.request(method, url, body=body)


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A zombie still answers kill(0); it no longer runs.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"


def _wait_gone(pids: set[int], deadline: float) -> set[int]:
    """Poll until every process in ``pids`` is gone, or ``deadline``; what is left."""
    pause = threading.Event()
    while time.monotonic() < deadline:
        left = {pid for pid in pids if not _gone(pid)}
        if not left:
            return left
        pause.wait(0.05)
    return {pid for pid in pids if not _gone(pid)}


def test_two_workers_share_the_port_and_the_store_and_stop_on_sigterm(tmp_path: Path) -> None:
    stderr = tmp_path / "stderr.txt"
    environ = server_environ(tmp_path / "data")
    with running_server(["run", "--workers", "2"], environ, stderr) as (proc, url):
        for number in range(REQUESTS):
            key = f"{url}/v1/objects/workers/_/k{number}"
            assert _request("PUT", key, body=b"v%d" % number).status == 200
        for number in range(REQUESTS):
            key = f"{url}/v1/objects/workers/_/k{number}"
            got = _request("GET", key)
            assert (got.status, got.data) == (200, b"v%d" % number)  # one store for all
        proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        assert proc.wait(STOP_DEADLINE) == 0
        log = stderr.read_text()
        workers = {int(pid) for _, pid in LISTENING.findall(log)}
        assert len(workers) == 2 and proc.pid not in workers, log
        answered = {int(pid) for pid, _ in ACCESS.findall(log)}
        assert answered == workers, log
        assert not _wait_gone(workers, started + STOP_DEADLINE), log
        assert "Traceback" not in log, log


def test_os_workers_setting_and_sigint(tmp_path: Path) -> None:
    stderr = tmp_path / "stderr.txt"
    environ = server_environ(tmp_path / "data", OS__WORKERS="2")
    with running_server(["run"], environ, stderr) as (proc, url):
        assert urllib3.request("GET", url + "/health", retries=False).status == 200
        proc.send_signal(signal.SIGINT)
        assert proc.wait(STOP_DEADLINE) == 0
    workers = {int(pid) for _, pid in LISTENING.findall(stderr.read_text())}
    assert len(workers) == 2
    assert not _wait_gone(workers, time.monotonic() + STOP_DEADLINE)


def test_a_worker_that_dies_is_reported_and_the_server_exits_1(tmp_path: Path) -> None:
    stderr = tmp_path / "stderr.txt"
    environ = server_environ(tmp_path / "data")
    with running_server(["run", "--workers", "2"], environ, stderr) as (proc, _):
        first = LISTENING.search(stderr.read_text())
        assert first is not None
        os.kill(int(first[2]), signal.SIGKILL)
        assert proc.wait(STOP_DEADLINE) == 1
    log = stderr.read_text()
    assert f"worker {first[1]} (pid {first[2]}) was killed by SIGKILL" in log
    workers = {int(pid) for _, pid in LISTENING.findall(log)}
    assert not _wait_gone(workers, time.monotonic() + STOP_DEADLINE)


def test_the_memory_storage_with_several_workers_is_refused(tmp_path: Path) -> None:
    environ = server_environ(tmp_path / "data", OS__STORAGE__TYPE="memory")
    result = subprocess.run(
        [sys.executable, "-m", "django_objectstore.server", "run", "--workers", "2"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=STOP_DEADLINE,
    )
    assert result.returncode == 1
    assert "--workers: 2 workers cannot share the memory storage" in result.stderr
    assert result.stdout == ""


def test_a_worker_that_cannot_start_stops_the_others_and_exits_1(tmp_path: Path) -> None:
    with socket.socket() as taken:  # bound without SO_REUSEPORT: no worker can join it
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        environ = server_environ(tmp_path / "data", OS__HTTP_ADDR=f"127.0.0.1:{port}")
        result = subprocess.run(
            [sys.executable, "-m", "django_objectstore.server", "run", "--workers", "2"],
            env=environ,
            capture_output=True,
            text=True,
            timeout=STOP_DEADLINE * 3,
        )
    assert result.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "objectstore listening" not in result.stdout
