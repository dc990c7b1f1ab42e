"""Slow and stalled clients cost one connection each, never the server."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import pytest
import urllib3

from django_objectstore.server.hosting.asgi import PREFETCH_BODY, WORKERS
from django_objectstore.server.hosting.connection import HEADER_BYTES_CAP
from django_objectstore.server.hosting.runner import ServerThread
from django_objectstore.server.messages import Request, Response
from tests.server.hosting.rawhttp import (
    DEADLINE,
    connect,
    drafts,
    filesystem_app,
    put_head,
    read_until_closed,
    wait_for,
)

STALLED = 200
ANSWER_WITHIN = 1.0


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerThread]:
    with ServerThread(filesystem_app(tmp_path), sweep_interval=0) as server:
        yield server


def _open(stack: ExitStack, port: int, count: int, data: bytes) -> list[socket.socket]:
    sockets = []
    for _ in range(count):
        sock = stack.enter_context(connect(port))
        sock.sendall(data)
        sockets.append(sock)
    return sockets


def _timed(http: urllib3.PoolManager, method: str, url: str, body: bytes | None = None) -> float:
    started = time.monotonic()
    response = http.request(method, url, body=body)
    elapsed = time.monotonic() - started
    assert response.status == 200, (method, url, response.status)
    return elapsed


# Past the prefetch and past the engine's 1 MiB inline limit, each upload is writing a
# temporary file on its own thread.
@pytest.mark.parametrize("sent", [3, 1_100_000], ids=["3-bytes", "past-prefetch"])
def test_health_and_requests_answer_within_a_second_beside_200_stalled_uploads_and_slow_headers(
    server: ServerThread, tmp_path: Path, sent: int
) -> None:
    timeout = urllib3.Timeout(connect=ANSWER_WITHIN, read=ANSWER_WITHIN)
    with ExitStack() as stack:
        uploads = put_head("/v1/objects/stall/_/k", 10_000_000) + b"s" * sent
        _open(stack, server.port, STALLED, uploads)
        if sent > PREFETCH_BODY:  # measure once each upload holds its worker thread
            wait_for(lambda: len(drafts(tmp_path)) >= STALLED, "every upload to start")
        _open(stack, server.port, STALLED, b"PUT /v1/objects/stall/_/slo")
        # Once the burst of 400 connections is taken in (not timed: a loaded machine may
        # take a while), every answer must come within the second.
        warm_up = urllib3.request("GET", server.url + "/health", retries=False, timeout=DEADLINE)
        assert warm_up.status == 200
        with urllib3.PoolManager(retries=False, timeout=timeout) as http:
            health = [_timed(http, "GET", server.url + "/health") for _ in range(5)]
            ready = _timed(http, "GET", server.url + "/ready")
            key = server.url + "/v1/objects/stall/_/normal"
            put = _timed(http, "PUT", key, b"n" * 10_000)
            get = _timed(http, "GET", key)
            big = _timed(http, "PUT", key + "-big", b"b" * 2_000_000)
    print(
        f"\n/health under {STALLED} stalled uploads ({sent} bytes each) + {STALLED} slow-header"
        f" clients: max {max(health) * 1000:.1f} ms, median {sorted(health)[2] * 1000:.1f} ms;"
        f" /ready {ready * 1000:.1f} ms, PUT {put * 1000:.1f} ms, GET {get * 1000:.1f} ms,"
        f" 2 MB PUT {big * 1000:.1f} ms"
    )
    assert max(health) < ANSWER_WITHIN


def test_health_is_answered_on_the_event_loop_while_every_worker_is_busy() -> None:
    release = threading.Event()

    class Busy:
        def handle(self, request: Request) -> Response:
            if request.path == "/health":
                return Response(200, [("content-length", "2")], [b"OK"])
            release.wait(DEADLINE)
            return Response(200, [("content-length", "0")])

    pool = urllib3.PoolManager(retries=False, timeout=DEADLINE, maxsize=WORKERS + 2)
    with ServerThread(Busy(), inline=False) as server, pool as http:
        blockers = [
            threading.Thread(target=http.request, args=("GET", server.url + f"/b{i}"))
            for i in range(WORKERS + 2)
        ]
        for thread in blockers:
            thread.start()
        try:
            answer = urllib3.request(
                "GET", server.url + "/health", retries=False, timeout=ANSWER_WITHIN
            )
            assert answer.data == b"OK"
        finally:
            release.set()
            for thread in blockers:
                thread.join(DEADLINE)


@pytest.mark.parametrize(
    "sent",
    [b"", b"GET /hea", b"GET /health HTTP/1.1\r\nhost: x\r\n"],
    ids=["nothing", "half-request-line", "headers-unfinished"],
)
def test_a_request_whose_headers_do_not_arrive_in_time_is_closed(
    tmp_path: Path, sent: bytes
) -> None:
    with ServerThread(filesystem_app(tmp_path), sweep_interval=0, header_timeout=0.3) as server:
        started = time.monotonic()
        with connect(server.port) as sock:
            sock.sendall(sent)
            assert read_until_closed(sock, started + DEADLINE) == b""
        assert time.monotonic() - started < 5


def test_the_header_deadline_does_not_cut_a_kept_alive_connection_between_requests(
    tmp_path: Path,
) -> None:
    app = filesystem_app(tmp_path)
    pool = urllib3.PoolManager(retries=False, maxsize=1, timeout=DEADLINE)
    with ServerThread(app, sweep_interval=0, header_timeout=0.3) as server, pool as http:
        for _ in range(3):
            assert http.request("GET", server.url + "/health").status == 200
        assert http.connection_from_url(server.url).num_connections == 1


def test_headers_beyond_the_cap_get_431_and_the_connection_closes(server: ServerThread) -> None:
    line = b"x-snme-filler: " + b"f" * 1000 + b"\r\n"
    with connect(server.port) as sock:
        sock.sendall(b"PUT /v1/objects/stall/_/k HTTP/1.1\r\nhost: x\r\n")
        sent = 0
        try:
            while sent <= HEADER_BYTES_CAP + 100_000:
                sock.sendall(line * 64)
                sent += len(line) * 64
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = read_until_closed(sock, time.monotonic() + DEADLINE)
    assert answer.startswith(b"HTTP/1.1 431 ")


def test_the_first_read_of_a_request_counts_toward_the_header_cap(server: ServerThread) -> None:
    # The request line and almost the whole cap in one write, so the server's first
    # read carries far more than the request line; then just enough to cross the cap.
    # Every byte before the headers end counts, those of the first read included.
    line = b"x-snme-filler: " + b"f" * 1000 + b"\r\n"
    start = b"PUT /v1/objects/stall/_/k HTTP/1.1\r\nhost: x\r\n"
    bulk = line * ((HEADER_BYTES_CAP - 4096) // len(line))
    with connect(server.port) as sock:
        sock.sendall(start + bulk)
        sent = len(start) + len(bulk)
        try:
            while sent <= HEADER_BYTES_CAP + len(line):
                sock.sendall(line)
                sent += len(line)
        except (BrokenPipeError, ConnectionResetError):
            pass
        answer = read_until_closed(sock, time.monotonic() + DEADLINE)
    assert answer.startswith(b"HTTP/1.1 431 ")
