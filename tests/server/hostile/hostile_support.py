"""Helpers of the hostile-client tests: a real server process and raw HTTP on loopback.

The tests talk to ``python -m django_objectstore.server run`` over sockets only: no
server or client internals are imported, so the suite keeps working while modules move.
The server is configured by ``OS__*`` variables, listens on a free port (``:0``, the port
is read from its start-up line) and is killed at teardown.

Every hostile input goes through :func:`hostile`, which counts it; the total is printed
at the end of the run.
"""

from __future__ import annotations

import contextlib
import ctypes
import http.client
import os
import re
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import django_objectstore
from tests.signing_keys import SigningKey

LOOPBACK = "127.0.0.1"
START_DEADLINE = 20.0
STOP_DEADLINE = 10.0
REQUEST_TIMEOUT = 10.0
KID = "hostile-kid"
USECASE = "hostile"
PR_SET_PDEATHSIG = 1
_LISTENING = re.compile(rb"listening on http://([0-9.]+):(\d+)")
_PACKAGE_ROOT = str(Path(django_objectstore.__file__).resolve().parent.parent)

_hostile_inputs = 0


def hostile(count: int = 1) -> None:
    """Count ``count`` hostile inputs sent to the server (reported at the end of the run)."""
    global _hostile_inputs
    _hostile_inputs += count


def hostile_inputs_sent() -> int:
    return _hostile_inputs


_measurements: list[str] = []


def record_measurement(line: str) -> None:
    """Keep ``line`` for the end-of-run summary (and print it for ``-s`` runs)."""
    print(line)
    _measurements.append(line)


def measurements() -> list[str]:
    return list(_measurements)


def deadline_after(seconds: float) -> float:
    return time.monotonic() + seconds


def poll_until(condition: Callable[[], bool], seconds: float, interval: float = 0.02) -> bool:
    """``True`` as soon as ``condition()`` holds; ``False`` when ``seconds`` pass first.

    Checks every ``interval`` seconds (``select`` with no sockets is the pause).
    """
    end = deadline_after(seconds)
    while True:
        if condition():
            return True
        if time.monotonic() >= end:
            return False
        select.select([], [], [], interval)


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


@dataclass
class KeyPair:
    private_pem: str
    public_path: Path
    kid: str = KID


@dataclass
class ServerProcess:
    """A running ``django_objectstore.server run`` process."""

    process: subprocess.Popen[bytes]
    host: str
    port: int
    root: Path
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int:
        return self.process.pid

    def log(self) -> str:
        return self.log_path.read_bytes().decode("utf-8", "replace")

    def rss_bytes(self) -> int:
        """The process's resident set size (``VmRSS`` in ``/proc/<pid>/status``)."""
        status = Path(f"/proc/{self.pid}/status").read_text()
        match = re.search(r"^VmRSS:\s+(\d+) kB", status, re.MULTILINE)
        assert match is not None, status
        return int(match.group(1)) * 1024

    def connect(self, timeout: float = REQUEST_TIMEOUT) -> socket.socket:
        sock = socket.create_connection((self.host, self.port), timeout=timeout)
        sock.settimeout(timeout)
        return sock

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        body: bytes | None = None,
        timeout: float = REQUEST_TIMEOUT,
    ) -> Response:
        """One request on a new connection; the whole response is read."""
        connection = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            connection.request(method, path, body=body, headers=dict(headers or {}))
            answer = connection.getresponse()
            return Response(answer.status, answer.getheaders(), answer.read())
        finally:
            connection.close()

    def health_latency(self, timeout: float) -> float:
        """Seconds ``GET /health`` took to answer 200 (raises on a timeout)."""
        started = time.monotonic()
        response = self.request("GET", "/health", timeout=timeout)
        elapsed = time.monotonic() - started
        assert response.status == 200, response
        return elapsed

    def healthy(self) -> bool:
        try:
            return self.request("GET", "/health", timeout=2.0).status == 200
        except OSError:
            return False

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):  # SIGKILL cannot be ignored
            self.process.wait(STOP_DEADLINE)


@dataclass
class AuthServer:
    """A server enforcing auth, and the key pair it trusts (kid :data:`KID`)."""

    server: ServerProcess
    keys: KeyPair


ServerFactory = Callable[..., ServerProcess]
"""``factory(root=None, **env)``: start a server (killed when the test ends)."""


def object_path(key: str, usecase: str = USECASE, scope: str = "_") -> str:
    return f"/v1/objects/{usecase}/{scope}/{key}"


def server_env(root: Path, extra: Mapping[str, str]) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if not name.upper().startswith("OS__")}
    python_path = env.get("PYTHONPATH")
    env["PYTHONPATH"] = _PACKAGE_ROOT + (os.pathsep + python_path if python_path else "")
    env.update(
        {
            "OS__HTTP_ADDR": f"{LOOPBACK}:0",
            "OS__STORAGE__TYPE": "filesystem",
            "OS__STORAGE__PATH": str(root),
            "OS__STORAGE__FSYNC": "false",
            "OS__AUTH__ENFORCE": "false",
            "OS__SWEEP_INTERVAL": "0s",
        }
    )
    env.update(extra)
    return env


def _die_with_parent() -> None:
    """In the child: SIGKILL when the test process dies, so no server outlives a run."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def start_server(
    root: Path, log_path: Path, extra_env: Mapping[str, str] | None = None
) -> ServerProcess:
    """Start the server and return once ``/health`` answers (or fail with its output)."""
    env = server_env(root, extra_env or {})
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "django_objectstore.server", "run"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=str(root.parent),
            preexec_fn=_die_with_parent,
        )
    found: list[re.Match[bytes]] = []

    def listening() -> bool:
        match = _LISTENING.search(log_path.read_bytes())
        if match is not None:
            found.append(match)
            return True
        return process.poll() is not None

    if not poll_until(listening, START_DEADLINE) or not found:
        process.kill()
        process.wait(STOP_DEADLINE)
        output = log_path.read_bytes().decode("utf-8", "replace")
        pytest.fail(f"the server did not start (exit status {process.returncode}):\n{output}")
    server = ServerProcess(
        process, found[0].group(1).decode(), int(found[0].group(2)), root, log_path, env
    )
    if not poll_until(server.healthy, START_DEADLINE):
        server.stop()
        pytest.fail(f"the server never answered /health:\n{server.log()}")
    return server


def make_key_pair(directory: Path) -> KeyPair:
    key = SigningKey()
    public_path = directory / "hostile.pub.pem"
    key.write_public(public_path)
    return KeyPair(key.private_pem, public_path)


def auth_env(keys: KeyPair) -> dict[str, str]:
    permissions = '["object.read","object.write","object.delete"]'
    return {
        "OS__AUTH__ENFORCE": "true",
        "OS__AUTH__KEYS": (
            f'{{{keys.kid}={{key_files=["{keys.public_path}"],max_permissions={permissions}}}}}'
        ),
    }


# -- raw sockets ---------------------------------------------------------------------------


def request_head(
    method: str, path: str, headers: Iterable[tuple[str, str]] = (), host: str = LOOPBACK
) -> bytes:
    lines = [f"{method} {path} HTTP/1.1", f"Host: {host}"]
    lines.extend(f"{name}: {value}" for name, value in headers)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def read_until_closed(sock: socket.socket, seconds: float) -> tuple[bytes, bool]:
    """Bytes the server sends until it closes the connection: ``(data, closed)``.

    ``closed`` is ``False`` when the server kept the connection open for ``seconds``.
    """
    end = deadline_after(seconds)
    chunks: list[bytes] = []
    while True:
        remaining = end - time.monotonic()
        if remaining <= 0:
            return b"".join(chunks), False
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            return b"".join(chunks), False
        except ConnectionResetError:
            return b"".join(chunks), True
        if not chunk:
            return b"".join(chunks), True
        chunks.append(chunk)


def still_open(sock: socket.socket) -> bool:
    """Whether the server has neither closed nor answered on ``sock`` (no blocking)."""
    timeout = sock.gettimeout()
    sock.settimeout(0.0)
    try:
        sock.recv(1, socket.MSG_PEEK)
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        sock.settimeout(timeout)
    return False  # an answer or the end of the stream: the server acted


def parse_response(raw: bytes) -> Response | None:
    """The first HTTP response in ``raw`` (body as far as received); ``None`` if none."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        return None
    lines = head.decode("latin-1").split("\r\n")
    match = re.match(r"HTTP/1\.[01] (\d{3})", lines[0])
    if match is None:
        return None
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.append((name.strip(), value.strip()))
    return Response(int(match.group(1)), headers, body)


def upload_streaming(
    server: ServerProcess,
    path: str,
    blocks: Iterable[bytes],
    length: int,
    *,
    timeout: float = 60.0,
) -> Response:
    """``PUT`` ``length`` bytes from ``blocks`` with a ``Content-Length``.

    Stops sending as soon as the server answers (or resets) early, as a server that
    refuses an upload half-way may do, and returns its answer.
    """
    sock = server.connect(timeout)
    try:
        sock.sendall(request_head("PUT", path, [("Content-Length", str(length))]))
        for block in blocks:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break
            try:
                sock.sendall(block)
            except (BrokenPipeError, ConnectionResetError):
                break
        raw, _closed = read_response(sock, timeout)
    finally:
        sock.close()
    response = parse_response(raw)
    assert response is not None, f"no HTTP response to PUT {path}: {raw[:200]!r}"
    return response


def read_response(sock: socket.socket, timeout: float) -> tuple[bytes, bool]:
    """One response with a ``Content-Length`` body (or until the server closes)."""
    end = deadline_after(timeout)
    data = b""
    while True:
        response = parse_response(data)
        if response is not None:
            length = response.header("content-length")
            if length is not None and len(response.body) >= int(length):
                return data, False
        remaining = end - time.monotonic()
        if remaining <= 0:
            return data, False
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            return data, False
        except ConnectionResetError:
            return data, True
        if not chunk:
            return data, True
        data += chunk


def files_under(root: Path) -> set[Path]:
    """Regular files under ``root``, lock files and database side files left out."""
    found: set[Path] = set()
    for path in root.rglob("*"):
        if not path.is_file() or ".locks" in path.parts:
            continue
        if path.suffix == ".lock" or path.name.endswith(("-wal", "-shm", "-journal")):
            continue
        found.add(path)
    return found
