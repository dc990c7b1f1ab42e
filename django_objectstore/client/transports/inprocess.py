"""The ``embedded:`` and ``memory://`` transports: the server's protocol core in process.

Requests go straight to :meth:`django_objectstore.server.App.handle` with the body
streamed as a reader and the response body iterated lazily: no socket, no thread, the
same protocol code as the HTTP server. ``embedded:///abs/dir`` (or ``embedded:rel/dir``)
stores objects in a directory; ``memory://NAME`` keeps them in memory, shared by every
client in this process that uses the same name.

The server is imported only when an in-process transport is made (and for type
checking): it is the heavy, optional half of the package, and a client that talks HTTP
never loads it.
"""

from __future__ import annotations

import io
import os
import threading
from collections.abc import Iterable, Iterator, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

from django_objectstore.client.transports.base import RequestBody

if TYPE_CHECKING:  # only the type: loading the server waits for a transport (see above)
    from django_objectstore.server import App

_MEMORY_APPS: dict[str, App] = {}
_MEMORY_LOCK = threading.Lock()


def _build_app(storage_type: str, path: str = "") -> App:
    # Loaded here, not at the top: the server is optional and heavy (see the module doc).
    from django_objectstore.server import AuthConfig, ServerConfig, StorageConfig, create_app

    config = ServerConfig(
        storage=StorageConfig(type=cast(Any, storage_type), path=path),
        auth=AuthConfig(enforce=False),
        sweep_interval=timedelta(0),
    )
    return create_app(config)


def memory_app(name: str) -> App:
    """The process-wide app behind ``memory://NAME``."""
    with _MEMORY_LOCK:
        app = _MEMORY_APPS.get(name)
        if app is None:
            app = _MEMORY_APPS[name] = _build_app("memory")
        return app


def embedded_path(url: str) -> str:
    """The absolute directory of ``embedded:///abs/dir``, ``embedded:rel/dir`` or ``embedded:``."""
    rest = url[len("embedded:") :]
    if rest.startswith("//"):
        rest = rest[2:]
        authority, _, path = rest.partition("/")
        if authority not in ("", "localhost"):
            raise ValueError(
                f"invalid embedded URL {url!r}: "
                "use embedded:///absolute/dir or embedded:relative/dir"
            )
        rest = "/" + path
    return os.path.abspath(rest or ".")


class _IterReader:
    """A ``read(n)`` view of an iterable of chunks (returns at most ``n`` bytes)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._buffer = b""
        self._pos = 0

    def read(self, n: int = -1, /) -> bytes:
        if n < 0:
            data = self._buffer[self._pos :] + b"".join(self._chunks)
            self._buffer, self._pos = b"", 0
            return data
        while self._pos >= len(self._buffer):
            chunk = next(self._chunks, None)
            if chunk is None:
                return b""
            self._buffer, self._pos = bytes(chunk), 0
        if self._pos == 0 and len(self._buffer) <= n:
            data, self._buffer = self._buffer, b""
            return data
        data = self._buffer[self._pos : self._pos + n]
        self._pos += len(data)
        return data


class InProcessResponse:
    def __init__(self, response: Any) -> None:
        self._response = response
        self.status: int = response.status
        self.headers: Mapping[str, str] = dict(response.headers)
        self._reader = _IterReader(response.body)

    def read(self, n: int = -1, /) -> bytes:
        return self._reader.read(n)

    def iter_chunks(self, chunk_size: int = 65536) -> Iterator[bytes]:
        while chunk := self.read(chunk_size):
            yield chunk

    def close(self) -> None:
        self._response.close()


class InProcessTransport:
    def __init__(self, base_url: str, app: App) -> None:
        self.base_url = base_url
        self.app = app

    @classmethod
    def for_url(cls, url: str) -> InProcessTransport:
        if url.startswith("memory:"):
            name = url[len("memory:") :].lstrip("/")
            return cls(url, memory_app(name))
        return cls(url, _build_app("filesystem", embedded_path(url)))

    def request(
        self,
        method: str,
        path: str,
        *,
        query: str = "",
        headers: Mapping[str, str] | None = None,
        body: RequestBody = None,
        retry_reads: bool = False,
    ) -> InProcessResponse:
        # Loaded here, not at the top: the server is optional and heavy (see the module doc).
        from django_objectstore.server import Headers, Request

        items = list((headers or {}).items())
        reader: Any
        if body is None or isinstance(body, bytes):
            data = body or b""
            reader = io.BytesIO(data)
            if body is not None:
                items.append(("content-length", str(len(data))))
        elif hasattr(body, "read"):
            reader = body
        else:
            reader = _IterReader(body)
        response = self.app.handle(Request(method, path, query, Headers(items), reader))
        return InProcessResponse(response)

    def close(self) -> None:
        return None
