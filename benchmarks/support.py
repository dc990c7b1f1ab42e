"""Shared by the benchmarks: a server process on a free loopback port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import urllib3


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(root: str, storage: str) -> tuple[subprocess.Popen[bytes], str]:
    """``python -m django_objectstore.server run`` on a free port; (process, base URL)."""
    port = free_port()
    env = dict(
        os.environ,
        OS__HTTP_ADDR=f"127.0.0.1:{port}",
        OS__STORAGE__TYPE=storage,
        OS__STORAGE__PATH=root,
        OS__AUTH__ENFORCE="false",
    )
    process = subprocess.Popen([sys.executable, "-m", "django_objectstore.server", "run"], env=env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            if urllib3.request("GET", url + "/health", retries=False).status == 200:
                return process, url
        except urllib3.exceptions.HTTPError:
            time.sleep(0.05)
    process.kill()
    raise SystemExit("the server did not start")
