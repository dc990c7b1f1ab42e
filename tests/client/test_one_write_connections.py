"""The client's connections send a small request (headers and body) in one write."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from django_objectstore.client import Client, Usecase
from django_objectstore.client.transports.connections import (
    COALESCE_LIMIT,
    OneWriteHTTPConnection,
    OneWriteHTTPConnectionPool,
    OneWriteHTTPSConnectionPool,
    connection_pool,
)
from django_objectstore.pytest_plugin import ObjectstoreServer

PATH = "/v1/objects/one-write/org=1/key"


class RecordingSocket:
    """A real socket whose ``sendall`` calls are recorded (and can be made to fail)."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self.writes: list[bytes] = []
        self.fail_next = False

    def sendall(self, data: Any) -> None:
        if self.fail_next:
            self.fail_next = False
            raise BrokenPipeError("made to fail")
        self.writes.append(bytes(data))
        self._sock.sendall(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


@pytest.fixture
def connection(objectstore_server: ObjectstoreServer) -> Iterator[OneWriteHTTPConnection]:
    url = urlsplit(str(objectstore_server))
    conn = OneWriteHTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=30)
    conn.connect()
    conn.sock = RecordingSocket(conn.sock)  # type: ignore[assignment]
    yield conn
    conn.close()


def _writes(conn: OneWriteHTTPConnection) -> list[bytes]:
    return conn.sock.writes  # type: ignore[union-attr,no-any-return]


def _put(conn: OneWriteHTTPConnection, body: Any, **kwargs: Any) -> int:
    headers = {"x-sn-compression": "none", "content-type": "application/octet-stream"}
    conn.request("PUT", PATH, body=body, headers=headers, **kwargs)
    response = conn.getresponse()
    assert isinstance(response.data, bytes)
    return response.status


def _get(conn: OneWriteHTTPConnection) -> bytes:
    conn.request("GET", PATH)
    return conn.getresponse().data


def test_a_small_body_leaves_with_its_headers_in_one_write(
    connection: OneWriteHTTPConnection,
) -> None:
    body = b"x" * 1024
    assert _put(connection, body) == 200
    [write] = _writes(connection)
    assert write.startswith(b"PUT " + PATH.encode())
    assert write.endswith(b"\r\n\r\n" + body)
    assert _get(connection) == body


def test_a_body_at_the_limit_is_joined_and_one_above_is_not(
    connection: OneWriteHTTPConnection,
) -> None:
    at_limit = b"a" * COALESCE_LIMIT
    assert _put(connection, at_limit) == 200
    assert len(_writes(connection)) == 1
    above = b"b" * (COALESCE_LIMIT + 1)
    assert _put(connection, above) == 200
    assert [len(write) for write in _writes(connection)[1:]][-1] == len(above)
    assert len(_writes(connection)) == 3
    assert _get(connection) == above


def test_bodiless_empty_and_streamed_requests_are_sent_as_urllib3_sends_them(
    connection: OneWriteHTTPConnection,
) -> None:
    assert _put(connection, b"") == 200
    assert len(_writes(connection)) == 1  # headers alone, still sent
    assert _get(connection) == b""
    assert len(_writes(connection)) == 2
    assert _put(connection, iter([b"one ", b"two"]), chunked=True) == 200
    assert len(_writes(connection)) > 3  # headers, each chunk, the last chunk
    assert _get(connection) == b"one two"


def test_a_failed_request_leaves_nothing_behind_for_the_next(
    objectstore_server: ObjectstoreServer,
) -> None:
    url = urlsplit(str(objectstore_server))
    conn = OneWriteHTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=30)
    conn.connect()
    recording = RecordingSocket(conn.sock)  # type: ignore[arg-type]
    conn.sock = recording  # type: ignore[assignment]
    recording.fail_next = True
    with pytest.raises(BrokenPipeError):
        conn.request("PUT", "/v1/objects/one-write/org=1/lost", body=b"lost body")
    conn.close()
    conn.connect()
    conn.sock = recording = RecordingSocket(conn.sock)  # type: ignore[assignment,arg-type]
    assert _put(conn, b"kept") == 200
    [write] = recording.writes
    assert b"lost" not in write
    assert _get(conn) == b"kept"
    conn.close()


def test_connection_pool_picks_the_pool_by_scheme() -> None:
    plain = connection_pool("http://127.0.0.1:9", maxsize=2)
    secure = connection_pool("https://example.invalid")
    assert isinstance(plain, OneWriteHTTPConnectionPool)
    assert (plain.host, plain.port) == ("127.0.0.1", 9)
    assert isinstance(secure, OneWriteHTTPSConnectionPool)
    assert (secure.host, secure.port) == ("example.invalid", 443)
    plain.close()
    secure.close()


def test_the_client_round_trips_through_these_connections(
    objectstore_server: ObjectstoreServer,
) -> None:
    client = Client(str(objectstore_server))
    session = client.session(Usecase("one-write"), org=1)
    for size in (0, 1, 1024, COALESCE_LIMIT, COALESCE_LIMIT + 1, 300_000):
        payload = json.dumps({"size": size}).encode().ljust(size, b" ")[: max(size, 1)]
        key = session.put(payload, key=f"size-{size}")
        result = session.get(key)
        assert result is not None
        assert result.payload.read() == payload
        result.payload.close()
