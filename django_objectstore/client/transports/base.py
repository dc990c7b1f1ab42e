"""How a request reaches a server: the interface every transport implements.

``http(s)://`` goes through a urllib3 pool; ``embedded:`` and ``memory://`` call the
server's protocol core in process. Sessions, batch and multipart code speak only this
interface, so every operation works the same over each transport.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import BinaryIO, Protocol

RequestBody = bytes | BinaryIO | Iterable[bytes] | None
"""``bytes`` are sent with a Content-Length; file objects and iterables stream (chunked
unless a ``content-length`` header is given)."""


class TransportResponse(Protocol):
    status: int
    headers: Mapping[str, str]
    """Lowercase header names."""

    def read(self, n: int = -1, /) -> bytes:
        """Read up to ``n`` raw body bytes (``-1``: all that is left); ``b""`` at the end."""
        ...

    def iter_chunks(self, chunk_size: int = 65536) -> Iterator[bytes]:
        """Stream the raw body."""
        ...

    def close(self) -> None:
        """Release the connection (drains or discards what was not read)."""
        ...


class Transport(Protocol):
    base_url: str
    """Shown in error messages."""

    def request(
        self,
        method: str,
        path: str,
        *,
        query: str = "",
        headers: Mapping[str, str] | None = None,
        body: RequestBody = None,
        retry_reads: bool = False,
    ) -> TransportResponse:
        """Send one request; ``path`` and ``query`` are already percent-encoded.

        The response body is not read: callers stream it and must ``close()`` it.
        Connection failures are retried before any byte is sent; ``retry_reads``
        allows retrying after a failure mid-request too (only for rewindable bodies).
        Raises :class:`django_objectstore.client.errors.ObjectstoreConnectionError` when the
        server cannot be reached.
        """
        ...

    def close(self) -> None: ...
