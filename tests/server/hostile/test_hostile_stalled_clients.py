"""A slow or stalled client costs one connection, never the server.

200 uploads that declare ``Content-Length: 10000000``, send 3 bytes and go idle, and 200
clients that send half a request line or half their headers, stay open while ``/health``
and an ordinary PUT and GET must each answer within a second. A stalled upload is
aborted after the body idle timeout (``OS__HTTP__BODY_IDLE_TIMEOUT``, seconds), and
nothing is stored.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from .hostile_support import (
    ServerFactory,
    ServerProcess,
    files_under,
    hostile,
    object_path,
    parse_response,
    poll_until,
    read_until_closed,
    record_measurement,
    request_head,
    start_server,
    still_open,
)

CLIENTS = 200
WITHIN = 1.0
"""Seconds /health, a PUT and a GET may each take while the clients stall."""
MEASURE_TIMEOUT = 2.0
"""How long a measurement waits for an answer before calling it a timeout."""
LONG_IDLE = "60"
"""Body idle timeout of the load scenarios: the stalled uploads outlive the measurement."""


@dataclass
class Load:
    health: float | None
    put: float | None
    get: float | None
    open_clients: int
    clients: int


def _stalled_upload(server: ServerProcess, index: int) -> socket.socket:
    sock = server.connect()
    path = object_path(f"stalled-{index}")
    sock.sendall(request_head("PUT", path, [("Content-Length", "10000000")]) + b"abc")
    return sock


def _slow_header(server: ServerProcess, index: int) -> socket.socket:
    sock = server.connect()
    full = request_head("PUT", object_path(f"slow-{index}"), [("Content-Length", "10")])
    # Half the request line, or the request line and half the headers.
    cut = 12 if index % 2 else full.index(b"\r\n") + 12
    sock.sendall(full[:cut])
    return sock


def _timed(action: str, server: ServerProcess, path: str, body: bytes | None) -> float | None:
    started = time.monotonic()
    try:
        response = server.request(action, path, body=body, timeout=MEASURE_TIMEOUT)
    except OSError:
        return None
    if response.status != 200 or (action == "GET" and response.body != body_of(path)):
        return None
    return time.monotonic() - started


def body_of(path: str) -> bytes:
    return path.encode() * 10


def _measure(server: ServerProcess, stalled: int, slow: int) -> tuple[Load, list[socket.socket]]:
    sockets = [_stalled_upload(server, i) for i in range(stalled)]
    sockets += [_slow_header(server, i) for i in range(slow)]
    hostile(stalled + slow)
    started = time.monotonic()
    try:
        health_ok = server.request("GET", "/health", timeout=MEASURE_TIMEOUT).status == 200
    except OSError:
        health_ok = False
    health = time.monotonic() - started if health_ok else None
    path = object_path(f"normal-{uuid.uuid4().hex}")
    put = _timed("PUT", server, path, body_of(path))
    get = _timed("GET", server, path, None) if put is not None else None
    open_clients = sum(still_open(sock) for sock in sockets)
    return Load(health, put, get, open_clients, len(sockets)), sockets


@pytest.fixture(scope="module")
def loaded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    base = tmp_path_factory.mktemp("stalled")
    (base / "data").mkdir()
    server = start_server(
        base / "data", base / "server.log", {"OS__HTTP__BODY_IDLE_TIMEOUT": LONG_IDLE}
    )
    yield server
    server.stop()


def _loaded(server: ServerProcess, stalled: int, slow: int, what: str) -> Iterator[Load]:
    """Measurements while ``stalled`` uploads and ``slow`` header senders are connected."""
    load, sockets = _measure(server, stalled, slow)
    latency = f"{load.health * 1000:.1f} ms" if load.health is not None else "no answer"
    record_measurement(f"/health under {what}: {latency} (timeout {MEASURE_TIMEOUT:.0f} s)")
    yield load
    for sock in sockets:
        sock.close()


def _answered_in_time(load: Load, *requests: str) -> None:
    for request in requests:
        took = getattr(load, request)
        assert took is not None and took < WITHIN, (request, took)


@pytest.fixture(scope="module")
def stalled_uploads(loaded_server: ServerProcess) -> Iterator[Load]:
    """Measurements while 200 uploads stall (the server is not used afterwards)."""
    yield from _loaded(loaded_server, CLIENTS, 0, f"{CLIENTS} stalled uploads")


@pytest.fixture
def slow_headers(server_factory: ServerFactory) -> Iterator[Load]:
    server = server_factory(OS__HTTP__BODY_IDLE_TIMEOUT=LONG_IDLE)
    yield from _loaded(server, 0, CLIENTS, f"{CLIENTS} slow-header clients")


@pytest.fixture
def stalled_and_slow(server_factory: ServerFactory) -> Iterator[Load]:
    server = server_factory(OS__HTTP__BODY_IDLE_TIMEOUT=LONG_IDLE)
    what = f"{CLIENTS} stalled uploads and {CLIENTS} slow-header clients"
    yield from _loaded(server, CLIENTS, CLIENTS, what)


def test_health_answers_within_a_second_while_200_uploads_stall(stalled_uploads: Load) -> None:
    print(f"/health latency under {CLIENTS} stalled uploads: {stalled_uploads.health}")
    _answered_in_time(stalled_uploads, "health")


def test_put_and_get_answer_within_a_second_while_200_uploads_stall(
    stalled_uploads: Load,
) -> None:
    _answered_in_time(stalled_uploads, "put", "get")


def test_stalled_uploads_keep_their_connections(stalled_uploads: Load) -> None:
    assert stalled_uploads.open_clients == stalled_uploads.clients


def test_health_put_and_get_answer_within_a_second_while_200_clients_send_slow_headers(
    slow_headers: Load,
) -> None:
    print(f"/health latency under {CLIENTS} slow-header clients: {slow_headers.health}")
    _answered_in_time(slow_headers, "health", "put", "get")
    assert slow_headers.open_clients == slow_headers.clients


def test_health_put_and_get_answer_within_a_second_with_stalled_and_slow_clients(
    stalled_and_slow: Load,
) -> None:
    print(f"/health latency under {CLIENTS}+{CLIENTS} stalled clients: {stalled_and_slow.health}")
    _answered_in_time(stalled_and_slow, "health", "put", "get")


IDLE_TIMEOUT = 1.0
IDLE_GRACE = 3.0
"""Seconds beyond the idle timeout the server may take to abort the upload."""


def test_stalled_upload_is_aborted_after_the_body_idle_timeout(
    server_factory: ServerFactory,
) -> None:
    server = server_factory(OS__HTTP__BODY_IDLE_TIMEOUT=f"{IDLE_TIMEOUT:g}")
    path = object_path("idle")
    original = os.urandom(5_000)
    assert server.request("PUT", path, body=original).status == 200
    before = files_under(server.root)
    hostile()
    sock = server.connect()
    try:
        sock.sendall(request_head("PUT", path, [("Content-Length", "10000000")]) + b"abc")
        started = time.monotonic()
        raw, closed = read_until_closed(sock, IDLE_TIMEOUT + IDLE_GRACE)
        waited = time.monotonic() - started
    finally:
        sock.close()

    answer = parse_response(raw)
    assert closed or answer is not None, f"the upload was still open after {waited:.1f} s"
    assert answer is None or answer.status >= 400, answer
    response = server.request("GET", path)
    assert (response.status, response.body) == (200, original)
    assert poll_until(lambda: files_under(server.root) == before, 2.0), sorted(
        map(str, files_under(server.root) - before)
    )
