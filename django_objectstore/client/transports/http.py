"""The ``http://`` / ``https://`` transport: one thread-safe urllib3 connection pool.

Timeouts: urllib3 applies the *connect* timeout to every socket operation until the
request is sent, which includes each write of the request body (and Python's
``sendall`` counts it for the whole buffer, not per byte sent). A short connect timeout
(the official client's 100 ms) therefore aborts large uploads whenever the server
reads slowly for a moment. The default here is 10 s for connecting and for each write
of at most 256 KiB (bodies are sent in such pieces). The read timeout (the longest wait
for the next byte of a response) is ``timeout_ms``, by default 60 s
(:data:`DEFAULT_READ_TIMEOUT`), so a server that accepts and never answers fails the
call with :class:`ObjectstoreTimeoutError` instead of hanging it; ``docs/client.md``
says why 60 s.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from typing import Any, cast
from urllib.parse import urlsplit

import urllib3
from urllib3.exceptions import ClosedPoolError, ReadTimeoutError
from urllib3.exceptions import HTTPError as Urllib3Error

from django_objectstore.client.errors import ObjectstoreConnectionError, ObjectstoreTimeoutError
from django_objectstore.client.transports.base import RequestBody
from django_objectstore.client.transports.connections import connection_pool

DEFAULT_CONNECT_TIMEOUT = 10.0
DEFAULT_READ_TIMEOUT = 60.0
"""Seconds without a byte of the response before a call fails (``timeout_ms=None``)."""
DEFAULT_POOL_SIZE = 10
_DRAIN_LIMIT = 64 * 1024
_UPLOAD_BLOCK = 256 * 1024
_FILE_BLOCK = 64 * 1024  # see compression.CHUNK_SIZE


class HttpResponse:
    """A urllib3 response, streamed; ``close()`` returns the connection to the pool."""

    __slots__ = ("_raw", "_transport", "_url", "headers", "status")

    def __init__(self, raw: urllib3.BaseHTTPResponse, transport: HttpTransport, url: str) -> None:
        self._raw = raw
        self._transport = transport
        self._url = url
        self.status = raw.status
        self.headers: Mapping[str, str] = raw.headers

    def read(self, n: int = -1, /) -> bytes:
        try:
            return self._raw.read(None if n < 0 else n, decode_content=False)
        except ReadTimeoutError as error:
            raise self._transport.timeout_error(self._url, "the rest of the response") from error
        except Urllib3Error as error:
            raise ObjectstoreConnectionError(f"connection lost while reading: {error}") from error

    def iter_chunks(self, chunk_size: int = 65536) -> Iterator[bytes]:
        while chunk := self.read(chunk_size):
            yield chunk

    def close(self) -> None:
        raw = self._raw
        length = raw.length_remaining
        if length is not None and length <= _DRAIN_LIMIT:
            try:
                raw.drain_conn()
                return
            except Urllib3Error:
                pass
        # Too much (or an unknown amount) left: drop the connection instead of draining.
        raw.close()
        raw.release_conn()


class HttpTransport:
    def __init__(
        self,
        base_url: str,
        *,
        retries: int = 3,
        timeout_ms: float | None = None,
        connection_kwargs: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        parts = urlsplit(base_url)
        self.path_prefix = parts.path.rstrip("/")
        self._origin = f"{parts.scheme}://{parts.netloc}"
        self._lock = threading.Lock()
        if timeout_ms is None:
            read_timeout: float | None = DEFAULT_READ_TIMEOUT
        elif timeout_ms == float("inf"):
            read_timeout = None  # asked for explicitly: wait for ever
        else:
            read_timeout = timeout_ms / 1000
        kwargs: dict[str, Any] = {
            "maxsize": DEFAULT_POOL_SIZE,
            "block": False,
            "timeout": urllib3.Timeout(connect=DEFAULT_CONNECT_TIMEOUT, read=read_timeout),
            "retries": urllib3.Retry(
                total=None, connect=retries, read=0, redirect=0, status=0, other=0
            ),
        }
        kwargs.update(connection_kwargs or {})
        pool_headers = dict(headers or {})
        pool_headers.update(kwargs.pop("headers", None) or {})
        self._headers = pool_headers
        self._retries: urllib3.Retry = kwargs["retries"]
        self._read_retries = (
            self._retries.new(read=retries)
            if isinstance(self._retries, urllib3.Retry)
            else self._retries
        )
        self._pool_kwargs = kwargs
        self._pool_size: int = kwargs["maxsize"]
        self.pool = connection_pool(base_url, **kwargs)
        timeout = kwargs["timeout"]
        limit = timeout.read_timeout if isinstance(timeout, urllib3.Timeout) else timeout
        self.read_timeout: float | None = limit if isinstance(limit, int | float) else None
        """Seconds without a response byte before a call fails; ``None``: no limit."""

    def timeout_error(self, url: str, waiting_for: str) -> ObjectstoreTimeoutError:
        """The error for a read timeout on ``url`` (its path), naming the URL and the limit.

        The query string is left out: it may carry a token.
        """
        seconds = self.read_timeout
        limit = f"{seconds:g} s" if isinstance(seconds, int | float) else "the read timeout"
        where = self._origin + url.partition("?")[0]
        return ObjectstoreTimeoutError(
            f"no data from {where} within {limit} (read timeout, set by timeout_ms) "
            f"while waiting for {waiting_for}"
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        query: str = "",
        headers: Mapping[str, str] | None = None,
        body: RequestBody = None,
        retry_reads: bool = False,
    ) -> HttpResponse:
        url = self.path_prefix + path
        if query:
            url = f"{url}?{query}"
        all_headers = self._headers if not headers else {**self._headers, **headers}
        if isinstance(body, bytes):
            if len(body) > _UPLOAD_BLOCK:
                # One sendall() of the whole body would have to finish within the
                # write timeout; pieces each get the full timeout instead.
                all_headers = {**all_headers, "content-length": str(len(body))}
                body = _slices(body)
        elif body is not None and hasattr(body, "read"):
            body = _blocks(cast(Any, body))
        pool = self.pool
        while True:
            try:
                raw = pool.urlopen(
                    method,
                    url,
                    body=body,
                    headers=all_headers,
                    retries=self._read_retries if retry_reads else self._retries,
                    redirect=False,
                    assert_same_host=False,
                    preload_content=False,
                    decode_content=False,
                )
                return HttpResponse(raw, self, url)
            except ClosedPoolError as error:
                # Replaced by a larger pool (see ensure_pool_size) before a connection
                # was taken from it: nothing was sent, so the larger pool takes over.
                if pool is self.pool:
                    raise ObjectstoreConnectionError(f"connection error: {error}") from error
                pool = self.pool
            except Urllib3Error as error:
                reason = getattr(error, "reason", None) or error
                if isinstance(reason, ReadTimeoutError):
                    raise self.timeout_error(url, "the response") from error
                raise ObjectstoreConnectionError(f"connection error: {reason}") from error

    def ensure_pool_size(self, size: int) -> None:
        """Let ``size`` threads keep their connections: a pool that small is replaced.

        urllib3 sizes a pool only when it is made, so a larger one (same options, new
        ``maxsize``) takes over; the old one is closed and its connections still in use
        are closed when they come back. A pool made with ``block=True`` keeps its size:
        that size is a deliberate cap.
        """
        with self._lock:
            if self._pool_size >= size or self._pool_kwargs.get("block"):
                return
            old = self.pool
            self._pool_size = size
            self.pool = connection_pool(self.base_url, **{**self._pool_kwargs, "maxsize": size})
        old.close()

    def close(self) -> None:
        self.pool.close()


def _slices(data: bytes) -> Iterator[bytes]:
    view = memoryview(data)
    for start in range(0, len(view), _UPLOAD_BLOCK):
        yield view[start : start + _UPLOAD_BLOCK]  # type: ignore[misc]


def _blocks(file: Any) -> Iterator[bytes]:
    while chunk := file.read(_FILE_BLOCK):
        yield chunk
