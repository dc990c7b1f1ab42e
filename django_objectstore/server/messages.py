"""The request and response types the protocol core speaks.

The core is a plain function from :class:`Request` to :class:`Response`, so it runs
behind a network server (see ``hosting/asgi.py``) and in process (the client's ``embedded:`` and
``memory:`` transports) alike. Bodies stream in both directions.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Protocol

from django_objectstore.wire.headers import Headers as Headers  # part of the request type


class BodyReader(Protocol):
    """A request body: ``read(n)`` returns at most ``n`` bytes, ``b""`` at the end."""

    def read(self, n: int = -1, /) -> bytes: ...


class BytesBody:
    """A body held in memory."""

    def __init__(self, data: bytes = b"") -> None:
        self._data = memoryview(data)
        self._pos = 0

    def read(self, n: int = -1, /) -> bytes:
        end = len(self._data) if n < 0 else min(len(self._data), self._pos + n)
        chunk = bytes(self._data[self._pos : end])
        self._pos = end
        return chunk


FLUSH = b""
"""Yielded by a response body to ask the HTTP adapter to send what it holds now
(adapters batch small chunks; a keepalive byte must not wait for the batch to fill)."""


@dataclass
class Request:
    method: str
    path: str
    """The raw path as on the wire, percent-encoding untouched (``/v1/objects/...``)."""
    query: str = ""
    """The raw query string, without the ``?``."""
    headers: Headers = field(default_factory=Headers)
    body: BodyReader = field(default_factory=BytesBody)


@dataclass
class Response:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    """Lowercase names; the official client compares them case-sensitively."""
    body: Iterable[bytes] = ()
    """Chunks to send; an iterator is consumed exactly once (streamed). An empty chunk
    (:data:`FLUSH`) sends the bytes gathered so far without waiting for more."""

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key == name:
                return value
        return None

    def close(self) -> None:
        """Release what the body holds (open files) when it is not fully consumed."""
        close = getattr(self.body, "close", None)
        if close is not None:
            close()
