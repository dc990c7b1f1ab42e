"""Serve the synchronous protocol core over ASGI (uvicorn).

The core (``App.handle``) blocks on storage I/O, so it runs in a worker thread while the
event loop moves bytes:

- The request body reaches the core as a :class:`~.messages.BodyReader` whose ``read``
  asks the event loop for the next ``http.request`` message only when its buffer is
  empty. uvicorn stops reading the socket while a message is waiting, so a 1 GiB upload
  holds a few dozen KiB at a time and a slow backend slows the client down.
- Small bodies (a ``content-length`` up to :data:`SMALL_BODY`) are read on the loop
  before the core runs, which saves a thread hop per request.
- The response body iterator runs in the worker thread a batch at a time; each batch is
  sent (and awaited, which is uvicorn's backpressure) before the next is read.
- The response is closed when it has been sent, when the client goes away, or on error.

Request header names are kept as sent (ASGI lowercases them, and ``_`` survives, unlike
in WSGI where ``x-snme-my_key`` and ``x-snme-my-key`` collide). The path is ASGI's
``raw_path``, percent-encoding untouched, as the routes and pre-signed URLs need.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Protocol

from django_objectstore import __version__
from django_objectstore.server.messages import BodyReader, BytesBody, Headers, Request, Response

logger = logging.getLogger(__name__)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

SMALL_BODY = 256 * 1024
"""Request bodies up to this ``content-length`` are read before the core runs."""
PREFETCH = 256 * 1024
"""Response bytes gathered per thread hop (and sent as one ASGI message)."""
SERVER_HEADER = ("server", f"objectstore/{__version__} (django-objectstore)")
MAX_HEADERS = 100
MAX_HEADER_BYTES = 400 * 1024
"""Request header limits of the real server's HTTP stack (hyper); beyond them: 431."""


class Handler(Protocol):
    """What the adapter serves: the protocol core's ``App`` or anything shaped like it."""

    def handle(self, request: Request) -> Response: ...


class ClientDisconnected(ConnectionResetError):
    """The client went away while the core was still reading the request body."""


class _StreamingBody:
    """A request body pulled from the event loop one ASGI message at a time.

    ``read`` runs in the worker thread and blocks on the loop; it returns at most the
    bytes of one message (short reads are allowed by :class:`BodyReader`).
    """

    def __init__(self, receive: Receive, loop: asyncio.AbstractEventLoop) -> None:
        self._receive = receive
        self._loop = loop
        self._chunk = b""
        self._pos = 0
        self.more = True

    async def _next(self) -> Message:
        return await self._receive()

    def _fetch(self) -> None:
        message = asyncio.run_coroutine_threadsafe(self._next(), self._loop).result()
        if message["type"] == "http.disconnect":
            self.more = False
            raise ClientDisconnected("the client disconnected before sending the whole body")
        self._chunk = message.get("body", b"")
        self._pos = 0
        self.more = bool(message.get("more_body", False))

    def read(self, n: int = -1, /) -> bytes:
        if n < 0:
            parts = []
            while part := self.read(1 << 20):
                parts.append(part)
            return b"".join(parts)
        while self._pos >= len(self._chunk) and self.more:
            self._fetch()
        start = self._pos
        if start == 0 and n >= len(self._chunk):
            self._pos = len(self._chunk)
            return self._chunk
        self._pos = min(len(self._chunk), start + n)
        return self._chunk[start : self._pos]


def _decode_target(raw: bytes) -> str:
    """The raw path or query as text; bytes that are not UTF-8 are percent-encoded.

    The core percent-decodes path segments itself, so such bytes then surface as its
    ordinary "not UTF-8" 400 instead of an encoding error.
    """
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return "".join(chr(b) if b < 0x80 else f"%{b:02X}" for b in raw)


def _small_length(headers: Headers) -> bool:
    """Whether the body is known to be small (no chunked encoding, short length)."""
    if headers.get("transfer-encoding") is not None:
        return False
    length = headers.get("content-length")
    if length is None:
        return True
    try:
        return int(length) <= SMALL_BODY
    except ValueError:
        return False


def _take(chunks: Iterator[bytes]) -> tuple[bytes, bool]:
    """Up to :data:`PREFETCH` bytes from ``chunks``; ``True`` when it is exhausted.

    An empty chunk (``messages.FLUSH``) ends the batch early once something is gathered.
    """
    parts: list[bytes] = []
    total = 0
    for chunk in chunks:
        if not chunk:
            if parts:
                return b"".join(parts), False
            continue
        parts.append(chunk)
        total += len(chunk)
        if total >= PREFETCH:
            return b"".join(parts), False
    return b"".join(parts), True


class ASGIAdapter:
    """An ASGI application serving ``handler`` (usually the core's ``App``).

    ``inline=True`` runs requests whose body is already in memory on the event loop
    instead of a worker thread. That saves two thread wake-ups per request (about a
    third of the cost of a small request) but is only safe when the core never blocks,
    i.e. over the memory backend. Streamed uploads always use a worker thread.

    ``max_workers`` bounds the threads running the core; each in-flight request that
    streams a body holds one.
    """

    def __init__(self, handler: Handler, *, inline: bool = False, max_workers: int = 64) -> None:
        self.handler = handler
        self.inline = inline
        self.executor = ThreadPoolExecutor(max_workers, thread_name_prefix="objectstore")

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self._http(scope, receive, send)
        elif scope["type"] == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self.close()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        if _headers_too_large(scope["headers"]):
            await _send_text(send, 431, b"Request Header Fields Too Large")
            return
        loop = asyncio.get_running_loop()
        headers = Headers(
            (name.decode("latin-1"), value.decode("latin-1")) for name, value in scope["headers"]
        )
        raw_path = scope.get("raw_path") or scope["path"].encode("utf-8")
        streaming: _StreamingBody | None = None
        body: BodyReader
        if _small_length(headers):
            body = BytesBody(await _read_all(receive))
        else:
            body = streaming = _StreamingBody(receive, loop)
        request = Request(
            method=scope["method"],
            path=_decode_target(raw_path),
            query=_decode_target(scope.get("query_string", b"")),
            headers=headers,
            body=body,
        )
        try:
            if self.inline and streaming is None:
                response, chunks, first, done = self._run(request)
            else:
                response, chunks, first, done = await loop.run_in_executor(
                    self.executor, self._run, request
                )
        except ClientDisconnected:
            logger.info("client disconnected during upload: %s %s", request.method, request.path)
            return
        except Exception:
            logger.exception("request failed: %s %s", request.method, request.path)
            await _send_500(send)
            return
        try:
            await self._respond(response, chunks, first, done, receive, send, streaming, loop)
        finally:
            # Closing releases an open file or a lock: quick, so no second thread hop.
            response.close()

    def _run(self, request: Request) -> tuple[Response, Iterator[bytes], bytes, bool]:
        """In the worker thread: the core's response, its body iterator and first bytes."""
        response = self.handler.handle(request)
        body = response.body
        if isinstance(body, list | tuple) and len(body) <= 1:
            return response, iter(()), body[0] if body else b"", True
        chunks = iter(body)
        first, done = _take(chunks)
        return response, chunks, first, done

    async def _respond(
        self,
        response: Response,
        chunks: Iterator[bytes],
        first: bytes,
        done: bool,
        receive: Receive,
        send: Send,
        streaming: _StreamingBody | None,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        headers = [(n.encode("latin-1"), v.encode("latin-1")) for n, v in response.headers]
        if not any(name == b"server" for name, _ in headers):
            headers.append((SERVER_HEADER[0].encode(), SERVER_HEADER[1].encode()))
        await send({"type": "http.response.start", "status": response.status, "headers": headers})
        if done:
            await send({"type": "http.response.body", "body": first, "more_body": False})
            return
        # Watch for a disconnect only once the request body is fully read: before that,
        # the body reader owns ``receive`` (and notices the disconnect itself).
        gone = asyncio.Event()
        watcher = None
        if streaming is None or not streaming.more:
            watcher = asyncio.ensure_future(_watch_disconnect(receive, gone))
        try:
            data = first
            while not done and not gone.is_set():
                await send({"type": "http.response.body", "body": data, "more_body": True})
                if self.inline:
                    data, done = _take(chunks)
                else:
                    data, done = await loop.run_in_executor(self.executor, _take, chunks)
            if not gone.is_set():
                await send({"type": "http.response.body", "body": data, "more_body": False})
        finally:
            if watcher is not None:
                watcher.cancel()


async def _read_all(receive: Receive) -> bytes:
    parts = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return parts[0] if len(parts) == 1 else b"".join(parts)


async def _watch_disconnect(receive: Receive, gone: asyncio.Event) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            gone.set()
            return


def _headers_too_large(headers: list[tuple[bytes, bytes]]) -> bool:
    """More headers, or more header bytes, than the real server's HTTP stack accepts."""
    if len(headers) > MAX_HEADERS:
        return True
    return sum(len(name) + len(value) + 4 for name, value in headers) > MAX_HEADER_BYTES


async def _send_500(send: Send) -> None:
    await _send_text(send, 500, b"Internal Server Error")


async def _send_text(send: Send, status: int, body: bytes) -> None:
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        (SERVER_HEADER[0].encode(), SERVER_HEADER[1].encode()),
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
