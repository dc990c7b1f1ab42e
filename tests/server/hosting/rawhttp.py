"""Raw sockets for hostile-client tests: partial requests, stalls, and waiting on logs."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from django_objectstore.server.app import App, create_app
from django_objectstore.server.config import AuthConfig, ServerConfig, StorageConfig

SOCKET_TIMEOUT = 5.0
DEADLINE = 10.0


def filesystem_app(root: Path) -> App:
    config = ServerConfig(
        storage=StorageConfig(type="filesystem", path=str(root), fsync=False),
        auth=AuthConfig(enforce=False),
    )
    return create_app(config)


def connect(port: int, timeout: float = SOCKET_TIMEOUT) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    sock.settimeout(timeout)
    return sock


def put_head(path: str, length: int | None = None, *, chunked: bool = False) -> bytes:
    framing = "transfer-encoding: chunked" if chunked else f"content-length: {length}"
    return f"PUT {path} HTTP/1.1\r\nhost: test\r\n{framing}\r\n\r\n".encode()


def read_until_closed(sock: socket.socket, deadline: float) -> bytes:
    """Everything the server sends until it closes the connection (or raises on timeout)."""
    received = bytearray()
    while True:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return bytes(received)
        if not chunk:
            return bytes(received)
        received += chunk


def drafts(root: Path) -> list[Path]:
    """Files being written: the engine writes them under a ``.tmp`` directory."""
    return [path for path in root.rglob("*") if path.parent.name == ".tmp" and path.is_file()]


def wait_for(condition: Callable[[], bool], what: str, deadline: float = DEADLINE) -> None:
    """Poll ``condition`` until it holds, for at most ``deadline`` seconds."""
    pause = threading.Event()
    end = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"timed out waiting for {what}")
        pause.wait(0.01)


class Records(logging.Handler):
    """Collects records of one logger (and its children) from every thread."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []
        self._lock_ = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        with self._lock_:
            self.records.append(record)

    def messages(self, name: str = "") -> list[str]:
        with self._lock_:
            records = list(self.records)
        return [r.getMessage() for r in records if r.name.startswith(name)]

    def text(self) -> str:
        """Every record as a formatter would write it, tracebacks included."""
        formatter = logging.Formatter("%(name)s %(levelname)s %(message)s")
        with self._lock_:
            records = list(self.records)
        return "\n".join(formatter.format(record) for record in records)


@contextmanager
def recording(*names: str, level: int = logging.DEBUG) -> Iterator[Records]:
    """Capture the records of the loggers ``names`` at ``level`` for the block."""
    handler = Records()
    loggers = [logging.getLogger(name) for name in names]
    previous = [logger.level for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(level)
    try:
        yield handler
    finally:
        for logger, old in zip(loggers, previous, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(old)
