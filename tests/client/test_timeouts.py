"""Timeouts: a slow reader does not fail an upload; a silent server fails the call.

urllib3 applies the connect timeout to every write of the request body. The official
client's 100 ms connect timeout therefore fails as soon as a server stops reading for a
moment; this client's defaults must not. A server that accepts and never answers must
fail the call within the read timeout, which is finite by default.
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import urllib3

from django_objectstore.client import (
    Client,
    ObjectstoreConnectionError,
    ObjectstoreTimeoutError,
    Usecase,
)
from django_objectstore.client.transports import HttpTransport
from django_objectstore.client.transports.http import DEFAULT_READ_TIMEOUT

SIZE = 64 * 1024 * 1024
PAUSE_EVERY = 16 * 1024 * 1024
PAUSE_SECONDS = 0.3


class SlowReader:
    """An HTTP/1.1 server that reads request bodies in small pieces with pauses."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16 * 1024)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(4)
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.received: list[int] = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with conn, contextlib.suppress(OSError):
                self._handle(conn)

    def _handle(self, conn: socket.socket) -> None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                return
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        length = int(headers["content-length"])
        received = len(body)
        next_pause = PAUSE_EVERY
        pacer = threading.Event()
        while received < length:
            chunk = conn.recv(16 * 1024)
            if not chunk:
                return
            received += len(chunk)
            if received >= next_pause:
                next_pause += PAUSE_EVERY
                pacer.wait(PAUSE_SECONDS)  # the server stalls (GC, slow disk...)
        self.received.append(received)
        reply = json.dumps({"key": "slow"}).encode()
        conn.sendall(
            b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
            b"content-length: %d\r\n\r\n%s" % (len(reply), reply)
        )

    def close(self) -> None:
        self.stopped.set()
        socket.create_connection(self.listener.getsockname()).close()  # wake accept()
        self.thread.join(5)
        self.listener.close()


@pytest.fixture
def slow_reader() -> Iterator[SlowReader]:
    server = SlowReader()
    try:
        yield server
    finally:
        server.close()


def test_large_upload_to_a_slow_reader_succeeds_with_default_timeouts(
    slow_reader: SlowReader,
) -> None:
    session = Client(slow_reader.url).session(Usecase("attachments"), org=1)
    payload = bytes(SIZE)
    assert session.put(payload, key="slow", compression="none") == "slow"
    assert slow_reader.received == [SIZE]


def test_the_official_100ms_connect_timeout_fails_on_the_same_upload(
    slow_reader: SlowReader,
) -> None:
    client = Client(
        slow_reader.url,
        connection_kwargs={"timeout": urllib3.Timeout(connect=0.1, read=None)},
    )
    session = client.session(Usecase("attachments"), org=1)
    with pytest.raises(ObjectstoreConnectionError, match="PUT attachments/org=1/slow"):
        session.put(bytes(SIZE), key="slow", compression="none")
    assert slow_reader.received == []


class SilentServer:
    """Accepts connections, reads what arrives, and never answers."""

    def __init__(self) -> None:
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(8)
        self.listener.settimeout(5)  # every wait of the thread is bounded
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        self.accepted = threading.Event()
        self.stopped = threading.Event()
        self.connections: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopped.is_set():
            try:
                conn, _ = self.listener.accept()
            except OSError:
                continue  # accept timed out (or the listener closed): check stopped
            self.connections.append(conn)
            self.accepted.set()

    def close(self) -> None:
        self.stopped.set()
        self.listener.close()
        self.thread.join(10)
        for conn in self.connections:
            conn.close()


@pytest.fixture
def silent_server() -> Iterator[SilentServer]:
    server = SilentServer()
    try:
        yield server
    finally:
        server.close()


@pytest.mark.parametrize("operation", ["get", "put", "head"])
def test_a_server_that_never_answers_fails_the_call_within_timeout_ms(
    silent_server: SilentServer, operation: str
) -> None:
    session = Client(silent_server.url, timeout_ms=300).session(Usecase("attachments"), org=1)
    calls = {
        "get": lambda: session.get("k"),
        "put": lambda: session.put(b"payload", key="k"),
        "head": lambda: session.head("k"),
    }
    started = time.monotonic()
    with pytest.raises(ObjectstoreTimeoutError) as caught:
        calls[operation]()
    elapsed = time.monotonic() - started
    assert silent_server.accepted.is_set()
    assert 0.25 <= elapsed < 5
    message = str(caught.value)
    assert f"{silent_server.url}/v1/objects/attachments/org=1/k" in message
    assert "0.3 s" in message
    assert isinstance(caught.value, ObjectstoreConnectionError)
    assert caught.value.status is None


def test_the_default_read_timeout_is_finite_and_timeout_ms_overrides_it() -> None:
    default = Client("http://127.0.0.1:9")
    assert isinstance(default.transport, HttpTransport)
    assert default.transport.read_timeout == DEFAULT_READ_TIMEOUT == 60.0
    assert default.transport.pool.timeout.read_timeout == 60.0
    assert default.transport.pool.timeout.connect_timeout == 10.0
    custom = Client("http://127.0.0.1:9", timeout_ms=1500)
    assert custom.transport.pool.timeout.read_timeout == 1.5  # type: ignore[attr-defined]
    unlimited = Client("http://127.0.0.1:9", timeout_ms=float("inf"))
    assert unlimited.transport.pool.timeout.read_timeout is None  # type: ignore[attr-defined]
