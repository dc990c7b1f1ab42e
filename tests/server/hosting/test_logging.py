"""Access and cause logs over real HTTP: one line per request, never a token or signature."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO

import urllib3

from django_objectstore.server.app import create_app
from django_objectstore.server.config import AuthConfig, KeyConfig, ServerConfig, StorageConfig
from django_objectstore.server.hosting.runner import ServerThread
from tests.server.auth.keys import ALL, KeyPair
from tests.server.hosting.rawhttp import DEADLINE, recording, wait_for

SECRET_SIG = "c2lnbmF0dXJlLXNlY3JldA"
BASE = "/v1/objects/u/org=1"


def test_every_request_logs_one_access_line_and_no_secret_reaches_any_log(
    tmp_path: Path,
) -> None:
    keys = KeyPair()
    other = KeyPair()  # signs tokens the server does not trust: 401 with a logged cause
    auth = AuthConfig(
        enforce=True,
        keys={"kid": KeyConfig([keys.write_public(tmp_path / "k.pem")], ALL)},
    )
    app = create_app(ServerConfig(storage=StorageConfig(type="memory"), auth=auth))
    good = keys.token("kid", {"res": {"os:usecase": "u", "org": "1"}})
    forged = other.token("kid")
    unknown_kid = keys.token("nobody")
    secrets = [good, forged, unknown_kid, SECRET_SIG, *good.split("."), *forged.split(".")]
    requests = [
        ("PUT", f"{BASE}/a", {"x-os-auth": f"Bearer {good}"}),
        ("GET", f"{BASE}/a", {"authorization": f"Bearer {good}"}),
        ("GET", f"{BASE}/a?os_auth={good}&x=1", {}),
        ("GET", f"{BASE}/a", {"x-os-auth": f"Bearer {forged}"}),
        ("GET", f"{BASE}/a", {"x-os-auth": f"Bearer {unknown_kid}"}),
        ("GET", f"{BASE}/a?os_kid=kid&os_expires=99&os_sig={SECRET_SIG}", {}),
        ("GET", f"{BASE}/a?os_kid=kid&os_expires=9999999999&os_sig={SECRET_SIG}", {}),
        ("GET", f"{BASE}/a?os_auth={forged}", {}),
        ("GET", "/health?os_auth=" + good, {}),
    ]
    names = ("django_objectstore", "uvicorn")
    with recording(*names) as logs, ServerThread(app, sweep_interval=0) as server:
        with urllib3.PoolManager(retries=False, timeout=DEADLINE) as http:
            statuses = [
                http.request(method, server.url + target, body=b"v" * 10, headers=headers).status
                for method, target, headers in requests
            ]
        wait_for(
            lambda: len(logs.messages("django_objectstore.server.access")) >= len(requests),
            "the access lines",
        )
    assert statuses[:3] == [200, 200, 200]
    assert all(status >= 400 for status in statuses[3:-1])
    text = logs.text()
    for secret in secrets:
        assert secret not in text
    assert "os_auth" not in text and "os_sig" not in text
    access = logs.messages("django_objectstore.server.access")
    assert len(access) == len(requests)
    for line, (method, target, _), status in zip(access, requests, statuses, strict=True):
        assert f" {method} {target.split('?')[0]} {status} " in line
        assert "?" not in line
    # The causes of the 4xx answers are logged at DEBUG.
    causes = logs.messages("django_objectstore.server.app")
    assert any("401" in line and "auth error" in line for line in causes)
    assert not logs.messages("uvicorn.access")


class Lines:
    """The lines of a pipe, read by a thread so waiting for one can have a deadline.

    The thread closes the pipe when it reaches the end (the process has exited), so
    no pipe is left for the garbage collector to close with a ``ResourceWarning``.
    """

    def __init__(self, stream: IO[str] | None) -> None:
        assert stream is not None
        self._stream = stream
        self._queue: queue.SimpleQueue[str] = queue.SimpleQueue()
        self.seen: list[str] = []
        self._thread = threading.Thread(target=self._pump, daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        with self._stream:
            for line in self._stream:
                self._queue.put(line)

    def until(self, text: str, deadline: float) -> str:
        """The first line (from here on) containing ``text``."""
        while True:
            try:
                line = self._queue.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no line with {text!r} in time; got {self.seen}") from None
            self.seen.append(line)
            if text in line:
                return line

    def rest(self) -> str:
        """Everything not yet seen, once the process has exited and the pipe is drained."""
        self._thread.join(10)
        assert not self._thread.is_alive(), "the pipe did not end after the process exited"
        while not self._queue.empty():
            self.seen.append(self._queue.get())
        return "".join(self.seen)


def _stop(proc: subprocess.Popen[str], *pipes: Lines) -> None:
    """Terminate ``proc`` and drain its pipes to the end (their threads close them)."""
    proc.terminate()
    proc.wait(10)
    for pipe in pipes:
        pipe.rest()


def _serve(tmp_path: Path, level_variable: str, level: str) -> subprocess.Popen[str]:
    keys = KeyPair()
    public = keys.write_public(tmp_path / "pub.pem")
    env = {
        **os.environ,
        "OS__HTTP_ADDR": "127.0.0.1:0",
        "OS__STORAGE__TYPE": "memory",
        "OS__AUTH__ENFORCE": "true",
        "OS__AUTH__KEYS": f'{{kid={{key_files=["{public}"],max_permissions=["object.read"]}}}}',
        level_variable: level,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "django_objectstore.server", "run"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_startup_logs_the_effective_configuration_at_debug_without_key_material(
    tmp_path: Path,
) -> None:
    proc = _serve(tmp_path, "OS__LOG__LEVEL", "trace")
    stdout, stderr = Lines(proc.stdout), Lines(proc.stderr)
    try:
        deadline = time.monotonic() + 15
        config = stderr.until("effective configuration", deadline)
        listening = stdout.until("listening on", deadline)
        url = listening.split("listening on ")[1].strip()
        response = urllib3.request(
            "GET", url + "/v1/objects/u/_/k?os_auth=abc.def.ghi", retries=False, timeout=5
        )
        assert response.status == 401
        access = stderr.until("django_objectstore.server.access", deadline)
    finally:
        _stop(proc, stdout, stderr)
    assert "DEBUG" in config
    assert "body_idle_timeout=30s" in config and "logging.level=trace" in config
    assert str(tmp_path / "pub.pem") in config
    assert "BEGIN PUBLIC KEY" not in config
    assert "INFO" in access and "GET /v1/objects/u/_/k 401" in access
    assert "abc.def.ghi" not in access and "?" not in access


def test_warn_level_silences_access_lines(tmp_path: Path) -> None:
    proc = _serve(tmp_path, "OS__LOGGING__LEVEL", "warn")
    stdout, stderr = Lines(proc.stdout), Lines(proc.stderr)
    try:
        deadline = time.monotonic() + 15
        listening = stdout.until("listening on", deadline)
        url = listening.split("listening on ")[1].strip()
        for _ in range(3):
            assert urllib3.request("GET", url + "/health", retries=False, timeout=5).status == 200
    finally:
        _stop(proc, stdout, stderr)
    err = stderr.rest()
    assert "access" not in err
    assert "effective configuration" not in err
