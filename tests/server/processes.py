"""The standalone server as a child process: ``python -m django_objectstore.server run``.

Configured only through ``OS__*`` variables, as the official client's e2e harness starts
the real binary; used by the tests that need the server's own process (its memory, its
signals, a kill mid-write) rather than a thread of the test process.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import urllib3

REPO = Path(__file__).resolve().parents[2]
SERVER_COMMAND = (sys.executable, "-m", "django_objectstore.server", "run")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def server_env(**settings: str) -> dict[str, str]:
    """This process's environment with the repository importable, plus ``settings``."""
    python_path = os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])
    return {**os.environ, "PYTHONPATH": python_path, **settings}


def start_quiet_server(env: Mapping[str, str]) -> subprocess.Popen[bytes]:
    """The server with ``env``, its output discarded (wait for it with :func:`wait_healthy`)."""
    return subprocess.Popen(
        SERVER_COMMAND, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def wait_healthy(url: str, proc: subprocess.Popen[bytes], seconds: float) -> None:
    """Poll ``url/health`` until it answers 200; fail if ``proc`` exits or time runs out."""
    http = urllib3.PoolManager(retries=False, timeout=1.0)
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the server exited during start-up"
        try:
            if http.request("GET", url + "/health").status == 200:
                return
        except urllib3.exceptions.HTTPError:
            pass
        # Between polls, wait on the process itself: an early exit ends the wait.
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(min(0.05, max(0.0, deadline - time.monotonic())))
    raise AssertionError(f"{url}/health did not answer 200 in time")


def stop(proc: subprocess.Popen[Any]) -> None:
    """SIGTERM, then SIGKILL if the server has not exited within 10 seconds."""
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def read_line(proc: subprocess.Popen[str], deadline: float) -> str:
    """The next line the server prints, which must come before ``deadline`` (monotonic)."""
    assert proc.stdout is not None
    ready, _, _ = select.select([proc.stdout], [], [], max(0.0, deadline - time.monotonic()))
    assert ready, "the server printed nothing before the deadline"
    return proc.stdout.readline()


@contextmanager
def listening_server(
    env: Mapping[str, str], seconds: float
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """The server on the port it picked (``OS__HTTP_ADDR`` ending ``:0``) and its URL,
    read from the line it prints when it listens; stopped on the way out."""
    with subprocess.Popen(
        SERVER_COMMAND, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    ) as proc:  # closes the stdout pipe on the way out
        try:
            line = read_line(proc, time.monotonic() + seconds)
            match = re.fullmatch(r"objectstore listening on (http://127\.0\.0\.1:\d+)\n", line)
            assert match, line
            yield proc, match[1]
        finally:
            stop(proc)
