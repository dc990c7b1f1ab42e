"""An upload whose body ends before its declared end is aborted: nothing is stored.

A client sends ``PUT`` over an existing object and disconnects half-way, with a
``Content-Length`` that was never reached or a chunked body without its final chunk.
The previous object must stay readable, unchanged, and no draft may stay on disk.

After the disconnect the server is watched for :data:`OBSERVE` seconds: a server that
stores the partial body does so within milliseconds, so a GET that keeps returning the
original bytes for that long shows the upload was dropped.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from .hostile_support import (
    ServerProcess,
    files_under,
    hostile,
    object_path,
    poll_until,
    read_until_closed,
    request_head,
)

ORIGINAL = os.urandom(200_000)
OBSERVE = 0.5
"""Seconds the previous object must stay unchanged after the aborted upload."""
DRAFT_DEADLINE = 3.0


def _put_original(server: ServerProcess) -> str:
    path = object_path(f"doc-{uuid.uuid4().hex}")
    response = server.request("PUT", path, body=ORIGINAL)
    assert response.status == 200, response
    return path


def _send_and_disconnect(server: ServerProcess, data: bytes) -> None:
    """Send ``data``, close our side, and wait (bounded) for the server to close too."""
    hostile()
    sock = server.connect()
    try:
        sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)
        read_until_closed(sock, 5.0)
    finally:
        sock.close()


def _changed(server: ServerProcess, path: str) -> Callable[[], bool]:
    def check() -> bool:
        response = server.request("GET", path)
        return response.status != 200 or response.body != ORIGINAL

    return check


def _new_files(root: Path, before: set[Path]) -> Callable[[], set[Path]]:
    return lambda: files_under(root) - before


def _assert_aborted(server: ServerProcess, path: str, before: set[Path]) -> None:
    assert not poll_until(_changed(server, path), OBSERVE), (
        "the aborted upload replaced the previous object"
    )
    response = server.request("GET", path)
    assert (response.status, len(response.body)) == (200, len(ORIGINAL))
    assert response.body == ORIGINAL
    leftovers = _new_files(server.root, before)
    assert poll_until(lambda: not leftovers(), DRAFT_DEADLINE), (
        f"files left behind by the aborted upload: {sorted(map(str, leftovers()))}"
    )
    assert server.healthy()


@pytest.mark.parametrize(
    ("declared", "sent"),
    [(len(ORIGINAL), 1_000), (2_000_000, 100_000)],
    ids=["small", "large"],
)
def test_short_content_length_body_keeps_the_previous_object(
    server: ServerProcess, declared: int, sent: int
) -> None:
    path = _put_original(server)
    before = files_under(server.root)
    head = request_head("PUT", path, [("Content-Length", str(declared))])

    _send_and_disconnect(server, head + os.urandom(sent))

    _assert_aborted(server, path, before)


def test_chunked_body_without_final_chunk_keeps_the_previous_object(
    server: ServerProcess,
) -> None:
    path = _put_original(server)
    before = files_under(server.root)
    head = request_head("PUT", path, [("Transfer-Encoding", "chunked")])
    chunks = b"".join(b"%x\r\n%b\r\n" % (1000, os.urandom(1000)) for _ in range(5))

    _send_and_disconnect(server, head + chunks)

    _assert_aborted(server, path, before)


def test_chunked_body_cut_inside_a_chunk_keeps_the_previous_object(
    server: ServerProcess,
) -> None:
    path = _put_original(server)
    before = files_under(server.root)
    head = request_head("PUT", path, [("Transfer-Encoding", "chunked")])

    _send_and_disconnect(server, head + b"3e8\r\n" + os.urandom(10))

    _assert_aborted(server, path, before)


def test_short_content_length_body_of_a_new_key_stores_nothing(server: ServerProcess) -> None:
    path = object_path(f"new-{uuid.uuid4().hex}")
    before = files_under(server.root)
    head = request_head("PUT", path, [("Content-Length", "5000")])

    _send_and_disconnect(server, head + b"x" * 100)

    assert not poll_until(lambda: server.request("GET", path).status != 404, OBSERVE)
    leftovers = _new_files(server.root, before)
    assert poll_until(lambda: not leftovers(), DRAFT_DEADLINE), sorted(map(str, leftovers()))
