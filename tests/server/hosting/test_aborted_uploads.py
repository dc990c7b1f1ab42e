"""Bodies that end early or stall are aborted uploads: nothing stored, the old object kept."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import urllib3

from django_objectstore.server.hosting.runner import ServerThread
from tests.server.hosting.rawhttp import (
    DEADLINE,
    connect,
    drafts,
    filesystem_app,
    put_head,
    read_until_closed,
    recording,
    wait_for,
)

KEY = "/v1/objects/hostile/_/doc"
ORIGINAL = bytes(range(256)) * 800  # 204,800 bytes: below the prefetch size
LARGE = b"L" * (3 * 1024 * 1024)  # above it: streamed through a worker thread


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[ServerThread, Path]]:
    root = tmp_path / "store"
    with ServerThread(filesystem_app(root), sweep_interval=0, body_idle_timeout=0.5) as server:
        yield server, root


def _put(url: str, body: bytes) -> None:
    response = urllib3.request("PUT", url + KEY, body=body, retries=False, timeout=DEADLINE)
    assert response.status == 200, response.data


def _get(url: str) -> bytes:
    response = urllib3.request("GET", url + KEY, retries=False, timeout=DEADLINE)
    assert response.status == 200
    return response.data


def _send_and_close(port: int, data: bytes) -> None:
    with connect(port) as sock:
        sock.sendall(data)


def _abort_and_wait(server: ServerThread, data: bytes) -> None:
    """Send ``data``, close, and wait for the server to finish with that request."""
    with recording("django_objectstore.server.access") as access:
        _send_and_close(server.port, data)
        wait_for(lambda: any(" PUT " in line for line in access.messages()), "the access log")


@pytest.mark.parametrize("original", [ORIGINAL, LARGE], ids=["small", "large"])
@pytest.mark.parametrize(
    "truncated",
    [
        put_head(KEY, 200_000) + b"x" * 1000,
        put_head(KEY, 10_000_000) + b"x" * 600_000,
        put_head(KEY, chunked=True) + b"3e8\r\n" + b"c" * 1000 + b"\r\n",
        put_head(KEY, chunked=True) + (b"10000\r\n" + b"c" * 0x10000 + b"\r\n") * 8,
    ],
    ids=["length-small", "length-large", "chunked-small", "chunked-large"],
)
def test_a_body_cut_short_keeps_the_previous_object_and_leaves_no_draft(
    server: tuple[ServerThread, Path], original: bytes, truncated: bytes
) -> None:
    thread, root = server
    _put(thread.url, original)
    _abort_and_wait(thread, truncated)
    assert _get(thread.url) == original
    wait_for(lambda: not drafts(root), "the draft to be removed")


def test_a_body_cut_short_stores_nothing_for_a_new_key(server: tuple[ServerThread, Path]) -> None:
    thread, _ = server
    _abort_and_wait(thread, put_head(KEY, 200_000) + b"x" * 1000)
    response = urllib3.request("GET", thread.url + KEY, retries=False, timeout=DEADLINE)
    assert response.status == 404


@pytest.mark.parametrize("sent", [3, 600_000], ids=["before-prefetch", "streaming"])
def test_a_stalled_body_is_aborted_with_408_after_the_idle_timeout(
    server: tuple[ServerThread, Path], sent: int
) -> None:
    thread, root = server
    _put(thread.url, ORIGINAL)
    started = time.monotonic()
    with connect(thread.port) as sock:
        sock.sendall(put_head(KEY, 10_000_000) + b"s" * sent)
        answer = read_until_closed(sock, started + DEADLINE)
    elapsed = time.monotonic() - started
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:100]
    assert b"connection: close" in answer.lower()
    assert 0.4 < elapsed < 5, elapsed
    assert _get(thread.url) == ORIGINAL
    wait_for(lambda: not drafts(root), "the draft to be removed")


def test_a_body_that_keeps_coming_slowly_is_not_cut_off(tmp_path: Path) -> None:
    """The idle timeout bounds each wait, not the whole upload."""
    app = filesystem_app(tmp_path)
    with ServerThread(app, sweep_interval=0, body_idle_timeout=0.5) as thread:
        pieces = 6
        pause = threading.Event()

        def body() -> Iterator[bytes]:
            for _ in range(pieces):
                yield b"p" * 1000
                pause.wait(0.2)  # the client's pace, not synchronisation: 1.2 s > timeout

        with urllib3.PoolManager(retries=False, timeout=DEADLINE) as http:
            response = http.request("PUT", thread.url + KEY, body=body(), chunked=True)
        assert response.status == 200
        assert _get(thread.url) == b"p" * 1000 * pieces
