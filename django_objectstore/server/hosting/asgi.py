"""Serve the synchronous protocol core over ASGI (uvicorn).

The core (``App.handle``) blocks on storage I/O, so it runs in a worker thread while the
event loop moves bytes:

- The body is read on the event loop first, up to :data:`PREFETCH_BODY` bytes, whatever
  its framing (``content-length`` or chunked). A body that ends within that reaches the
  core whole (:class:`~.messages.BytesBody`) and runs in the ``executor`` pool, or on
  the event loop when the core says the request will not block (``inline``, below); a
  thread is never held waiting for a slow client to send a small body.
- A longer body streams: the core gets a :class:`~.messages.BodyReader`, running in the
  separate ``uploads`` pool, so stalled uploads cannot starve other requests. Once it
  first reads, a task on the loop receives the body ahead of it, up to
  :data:`BODY_BUFFER` bytes, and the thread takes everything received at once (a MiB
  or so per wake-up, not one ASGI message). uvicorn stops reading the socket while the
  loop does not receive, so a 1 GiB upload holds about 2 MiB at a time and a slow
  backend slows the client down.
- Every wait for body bytes is bounded by ``body_idle_timeout``. A body that stops early
  (the client disconnects before its declared length or final chunk) or goes idle for
  that long is an aborted upload: the reader raises :class:`ClientDisconnected` (or its
  subclass :class:`BodyIdleTimeout`) in the core, which stores nothing. A timed-out
  client gets ``408`` and the connection is closed.
- ``/health`` and ``/ready`` are answered on the event loop, never queued behind workers.
- The response body iterator runs in the worker thread a batch (:data:`BATCH`) at a
  time; the next batch is read while the last one is sent (and awaited, which is
  uvicorn's backpressure), so at most two batches are held.
- The response is closed when it has been sent, when the client goes away, or on error.
- One access-log line per request (logger ``django_objectstore.server.access``, level
  INFO): client, method, path without the query string (which may hold ``os_auth`` or
  ``os_sig``), status, response bytes and duration.

Request header names are kept as sent (ASGI lowercases them, and ``_`` survives, unlike
in WSGI where ``x-snme-my_key`` and ``x-snme-my-key`` collide). The path is ASGI's
``raw_path``, percent-encoding untouched, as the routes and pre-signed URLs need.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from typing import Any, Protocol

from django_objectstore import __version__
from django_objectstore.server.messages import BytesBody, Headers, Request, Response
from django_objectstore.server.protocol.routing import HEALTH_PATHS

logger = logging.getLogger(__name__)
access_logger = logging.getLogger("django_objectstore.server.access")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

PREFETCH_BODY = 256 * 1024
"""Request body bytes read on the event loop before the core runs; a body that ends
within them reaches the core whole."""
PREFETCH = 256 * 1024
"""Response bytes gathered before the response starts (on the loop when it runs there)."""
BATCH = 1024 * 1024
"""Response bytes a worker thread gathers per hop to the loop, sent as the chunks read
(a revision file is read 1 MiB at a time). Measured on a 256 MiB download: 1 MiB read
ahead while the last is sent is as fast as 2 MiB, and holds less."""
BODY_BUFFER = 2 * 1024 * 1024
"""Request body bytes received ahead of the core for a streamed upload; beyond them the
loop stops receiving (and uvicorn reading the socket) until the core takes them."""
BODY_WAKE = 1024 * 1024
"""Queued request body bytes that wake the core's thread to take them all at once."""
BODY_WAKE_DELAY = 0.005
"""Seconds queued body bytes below :data:`BODY_WAKE` wait for more before the thread
is woken anyway (a client sending slowly)."""
BODY_IDLE_TIMEOUT = 30.0
"""Seconds a request body may send nothing before the upload is aborted (the default of
``OS__HTTP__BODY_IDLE_TIMEOUT``)."""
READER_GRACE = 5.0
"""Extra seconds a worker thread waits for the event loop beyond the idle timeout, in
case the loop itself has stopped (shutdown)."""
WORKERS = 64
"""Threads running the core for requests whose body is in memory."""
UPLOAD_WORKERS = 256
"""Threads running the core for requests whose body streams (one per such upload)."""
SERVER_HEADER = ("server", f"objectstore/{__version__} (django-objectstore)")
ACCESS_FORMAT = "%s %s %s %s %d %.1fms"
"""An access-log line: client, method, path without the query, status, bytes, duration."""
MAX_HEADERS = 100
MAX_HEADER_BYTES = 400 * 1024
"""Request header limits of the real server's HTTP stack (hyper); beyond them: 431."""


class Handler(Protocol):
    """What the adapter serves: the protocol core's ``App`` or anything shaped like it.

    A handler may also have ``runs_inline(request) -> bool`` (``App`` does): true when a
    request whose body is in memory never blocks, so it may run on the event loop.
    """

    def handle(self, request: Request) -> Response: ...


class ClientDisconnected(ConnectionResetError):
    """The request body ended before it was complete: the upload is aborted."""


class BodyIdleTimeout(ClientDisconnected):
    """The client sent no body bytes for the idle timeout: the upload is aborted."""


async def _receive_body(receive: Receive, timeout: float) -> Message:
    """The next ``http.request`` message; raises when the body cannot be completed."""
    try:
        async with asyncio.timeout(timeout):
            message = await receive()
    except TimeoutError:
        raise BodyIdleTimeout(f"the client sent no body bytes for {timeout:g} s") from None
    if message["type"] != "http.request":
        raise ClientDisconnected("the client disconnected before sending the whole body")
    return message


async def _prefetch(receive: Receive, timeout: float, limit: int) -> tuple[list[bytes], bool]:
    """Body chunks until the body ends (``True``) or ``limit`` bytes are held (``False``)."""
    parts: list[bytes] = []
    total = 0
    while True:
        message = await _receive_body(receive, timeout)
        body = message.get("body", b"")
        if body:
            parts.append(body)
            total += len(body)
        if not message.get("more_body", False):
            return parts, True
        if total >= limit:
            return parts, False


class _StreamingBody:
    """A request body received on the event loop and handed to the worker thread in bulk.

    Once the core first reads, a task on the loop (the pump) receives ``http.request``
    messages into a queue shared with the worker thread, each wait bounded by the idle
    timeout. The thread is woken when :data:`BODY_WAKE` bytes are queued, the body has
    ended or failed, or the pump found nothing more for :data:`BODY_WAKE_DELAY`, and it
    takes everything queued at once: one thread wake-up per MiB instead of one per ASGI
    message (a quarter of the server's time went to those on a large upload). The pump
    stops receiving once :data:`BODY_BUFFER` bytes are queued, until the thread takes
    them: uvicorn then stops reading the socket, so memory stays flat in the body size.

    ``read`` runs in the worker thread and returns at most one received message's bytes
    (short reads are allowed by :class:`BodyReader`). ``prefix`` holds chunks the
    adapter already received. :meth:`close` (on the loop) stops the pump when the
    request ends before its body was read.
    """

    def __init__(
        self,
        receive: Receive,
        loop: asyncio.AbstractEventLoop,
        prefix: list[bytes],
        timeout: float = BODY_IDLE_TIMEOUT,
    ) -> None:
        self._receive = receive
        self._loop = loop
        self._timeout = timeout
        self._chunks: deque[bytes] = deque(prefix)
        self._chunk = b""
        self._pos = 0
        self.more = True
        """Whether the thread has yet to see the end of the body."""
        # Shared between the pump (on the loop) and the thread, under ``_ready``.
        self._ready = threading.Condition()
        self._queue: list[bytes] = []
        self._queued = 0
        self._received = 0
        self._ended = False
        self._error: ClientDisconnected | None = None
        self._paused = False
        self._drained = asyncio.Event()
        self._wake_timer: asyncio.TimerHandle | None = None
        self._pump_task: asyncio.Task[None] | None = None
        self._started = False

    def close(self) -> None:
        """On the loop: stop receiving (the request is over)."""
        if self._pump_task is not None:
            self._pump_task.cancel()
        self._cancel_wake_timer()

    # -- on the event loop -------------------------------------------------------------

    def _start(self) -> None:
        self._pump_task = self._loop.create_task(self._pump())

    async def _pump(self) -> None:
        try:
            while True:
                message = await _receive_body(self._receive, self._timeout)
                body = message.get("body", b"")
                more = bool(message.get("more_body", False))
                with self._ready:
                    if body:
                        self._queue.append(body)
                        self._queued += len(body)
                        self._received += len(body)
                    self._ended = not more
                    full = self._queued >= BODY_BUFFER
                    if full:
                        self._paused = True
                        self._drained.clear()
                    if not more or self._queued >= BODY_WAKE:
                        self._wake()
                    elif self._queue and self._wake_timer is None:
                        self._wake_timer = self._loop.call_later(BODY_WAKE_DELAY, self._wake_later)
                if not more:
                    return
                if full:
                    await self._drained.wait()
        except ClientDisconnected as error:
            self._fail(error)
        except asyncio.CancelledError:
            self._fail(ClientDisconnected("the server stopped while the body was read"))
            raise

    def _fail(self, error: ClientDisconnected) -> None:
        with self._ready:
            self._error = error
            self._wake()

    def _wake(self) -> None:
        """Under ``_ready``: let the thread take what is queued."""
        self._cancel_wake_timer()
        self._ready.notify()

    def _wake_later(self) -> None:
        self._wake_timer = None
        with self._ready:
            self._ready.notify()

    def _cancel_wake_timer(self) -> None:
        if self._wake_timer is not None:
            self._wake_timer.cancel()
            self._wake_timer = None

    # -- in the worker thread ----------------------------------------------------------

    def _fetch(self) -> None:
        """Take every queued chunk, waiting for the pump when none is queued."""
        if not self._started:
            self._started = True
            try:
                self._loop.call_soon_threadsafe(self._start)
            except RuntimeError:  # the loop is closed: the server stopped
                self.more = False
                raise ClientDisconnected("the server stopped while the body was read") from None
        with self._ready:
            seen = self._received
            while not self._queue and not self._ended and self._error is None:
                if not self._ready.wait(self._timeout + READER_GRACE) and seen == self._received:
                    # The pump times out on its own: the loop itself has stopped.
                    self.more = False
                    raise BodyIdleTimeout(f"no body bytes for {self._timeout:g} s")
                seen = self._received
            taken, self._queue, self._queued = self._queue, [], 0
            ended, error = self._ended, self._error
            resume, self._paused = self._paused, False
        self._chunks.extend(taken)
        if resume:
            with suppress(RuntimeError):  # a closed loop: the pump is gone too
                self._loop.call_soon_threadsafe(self._drained.set)
        if error is not None and not taken:
            self.more = False
            raise error
        if ended and not taken:
            self.more = False

    def _next_chunk(self) -> bool:
        """Move to the next chunk with bytes; ``False`` at the end of the body."""
        while not self._chunks:
            if not self.more:
                return False
            self._fetch()
        self._chunk = self._chunks.popleft()
        self._pos = 0
        return True

    def read(self, n: int = -1, /) -> bytes:
        if n < 0:
            parts = []
            while part := self.read(1 << 20):
                parts.append(part)
            return b"".join(parts)
        while self._pos >= len(self._chunk):
            if not self._next_chunk():
                return b""
        start = self._pos
        if start == 0 and n >= len(self._chunk):
            self._pos = len(self._chunk)
            return self._chunk
        self._pos = min(len(self._chunk), start + n)
        return self._chunk[start : self._pos]


class _Exchange:
    """Wraps ``send`` to note the status and body bytes for the access log."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.status = 0
        self.sent = 0

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        else:
            self.sent += len(message.get("body", b""))
        await self._send(message)


def _decode_target(raw: bytes) -> str:
    """The raw path or query as text; bytes that are not UTF-8 are percent-encoded.

    The core percent-decodes path segments itself, so such bytes then surface as its
    ordinary "not UTF-8" 400 instead of an encoding error.
    """
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return "".join(chr(b) if b < 0x80 else f"%{b:02X}" for b in raw)


def _take(chunks: Iterator[bytes]) -> tuple[bytes, bool]:
    """Up to :data:`PREFETCH` bytes from ``chunks`` as one; ``True`` when it is exhausted."""
    parts, done = _gather(chunks, PREFETCH)
    return (parts[0] if len(parts) == 1 else b"".join(parts)), done


def _gather(chunks: Iterator[bytes], limit: int) -> tuple[list[bytes], bool]:
    """Chunks from ``chunks`` until ``limit`` bytes; ``True`` when it is exhausted.

    An empty chunk (``messages.FLUSH``) ends the batch early once something is gathered.
    """
    parts: list[bytes] = []
    total = 0
    for chunk in chunks:
        if not chunk:
            if parts:
                return parts, False
            continue
        parts.append(chunk)
        total += len(chunk)
        if total >= limit:
            return parts, False
    return parts, True


class ASGIAdapter:
    """An ASGI application serving ``handler`` (usually the core's ``App``).

    Running a request on the event loop instead of a worker thread saves two thread
    wake-ups and the futures between them (about a third of the cost of a small
    request), but a request that blocks there stalls every connection. ``inline``:

    - ``None`` (default): ask the handler per request (``runs_inline``, see
      :class:`Handler`; the core asks its backend per operation), so a small ``GET``
      over a backend whose reads never block is answered on the loop; a response body
      longer than one batch (:data:`PREFETCH`) is then read on in a worker thread;
    - ``True``: every request whose body is in memory, and its whole response, runs on
      the loop (a core that never blocks: the memory backend);
    - ``False``: always a worker thread.

    Streamed uploads (bodies beyond :data:`PREFETCH_BODY`) always use a worker thread.

    ``max_workers`` bounds the threads running the core for requests whose body is in
    memory; ``max_uploads`` those whose body streams (each holds one while it runs).
    ``body_idle_timeout`` (seconds) bounds every wait for request body bytes.
    """

    def __init__(
        self,
        handler: Handler,
        *,
        inline: bool | None = None,
        max_workers: int = WORKERS,
        max_uploads: int = UPLOAD_WORKERS,
        body_idle_timeout: float = BODY_IDLE_TIMEOUT,
    ) -> None:
        self.handler = handler
        self.inline = inline
        self._runs_inline: Callable[[Request], bool] | None = getattr(handler, "runs_inline", None)
        self.body_idle_timeout = body_idle_timeout
        self.executor = ThreadPoolExecutor(max_workers, thread_name_prefix="objectstore")
        self.uploads = ThreadPoolExecutor(max_uploads, thread_name_prefix="objectstore-upload")

    def close(self) -> None:
        self.executor.shutdown(wait=False, cancel_futures=True)
        self.uploads.shutdown(wait=False, cancel_futures=True)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            exchange = _Exchange(send)
            started = time.monotonic()
            try:
                await self._http(scope, receive, exchange.send)
            finally:
                if access_logger.isEnabledFor(logging.INFO):
                    _log_access(scope, exchange, time.monotonic() - started)
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
            await _send_text(send, 431, b"Request Header Fields Too Large", close=True)
            return
        loop = asyncio.get_running_loop()
        headers = Headers(
            (name.decode("latin-1"), value.decode("latin-1")) for name, value in scope["headers"]
        )
        raw_path = scope.get("raw_path") or scope["path"].encode("utf-8")
        request = Request(
            method=scope["method"],
            path=_decode_target(raw_path),
            query=_decode_target(scope.get("query_string", b"")),
            headers=headers,
        )
        if request.path in HEALTH_PATHS:
            # Never behind the worker pools, and without waiting for a body.
            response = self.handler.handle(request)
            try:
                await self._respond(response, iter(()), *_whole(response), receive, send, None)
            finally:
                response.close()
            return
        streaming: _StreamingBody | None = None
        prefix: list[bytes] = []
        complete = False
        try:
            if (headers.get("expect") or "").lower() == "100-continue":
                pass  # read nothing before the core runs: it may refuse without the body
            else:
                prefix, complete = await _prefetch(receive, self.body_idle_timeout, PREFETCH_BODY)
            if complete:
                request.body = BytesBody(prefix[0] if len(prefix) == 1 else b"".join(prefix))
            else:
                request.body = streaming = _StreamingBody(
                    receive, loop, prefix, self.body_idle_timeout
                )
            on_loop = streaming is None and self._on_loop(request)
            if on_loop:
                response, chunks, first, done = self._run(request)
            else:
                pool = self.executor if streaming is None else self.uploads
                response, chunks, first, done = await loop.run_in_executor(pool, self._run, request)
        except ClientDisconnected as error:
            _stop(streaming)
            await _aborted(request, error, send, answer=True)
            return
        except Exception:
            _stop(streaming)
            logger.exception("request failed: %s %s", request.method, _printable(request.path))
            await _send_500(send)
            return
        try:
            await self._respond(response, chunks, first, done, receive, send, streaming)
        except ClientDisconnected as error:
            # The body ended early while the response streamed (batch requests read
            # their body as they answer): the response cannot be completed either.
            await _aborted(request, error, send, answer=False)
        finally:
            # Closing releases an open file or a lock: quick, so no second thread hop.
            response.close()
            _stop(streaming)

    def _on_loop(self, request: Request) -> bool:
        """Whether ``request`` (its body in memory) runs on the event loop."""
        if self.inline is not None:
            return self.inline
        runs_inline = self._runs_inline
        if runs_inline is None:
            return False
        try:
            return bool(runs_inline(request))
        except Exception:
            logger.exception("runs_inline failed; running the request in a thread")
            return False

    def _run(self, request: Request) -> tuple[Response, Iterator[bytes], bytes, bool]:
        """In a worker thread (or on the loop): the response, its body iterator, first bytes."""
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
        pool = self.executor if streaming is None else self.uploads
        on_loop = self.inline and streaming is None  # the whole core never blocks
        # In a thread, the next batch is read while this one is sent: the file read and
        # the socket write overlap (two batches in memory at most).
        ahead: concurrent.futures.Future[tuple[list[bytes], bool]] | None = None
        try:
            batch = [first]
            while not done and not gone.is_set():
                if not on_loop:
                    ahead = pool.submit(_gather, chunks, BATCH)
                for data in batch:
                    if gone.is_set():
                        return
                    await send({"type": "http.response.body", "body": data, "more_body": True})
                if ahead is None:
                    batch, done = _gather(chunks, PREFETCH)
                else:
                    batch, done = await asyncio.wrap_future(ahead)
                    ahead = None
            if not gone.is_set():
                last = batch.pop() if batch else b""
                for data in batch:
                    await send({"type": "http.response.body", "body": data, "more_body": True})
                await send({"type": "http.response.body", "body": last, "more_body": False})
        finally:
            if watcher is not None:
                watcher.cancel()
            if ahead is not None:
                # The response is closed next: never while a thread still reads it.
                await _settle(ahead)


async def _settle(future: concurrent.futures.Future[Any]) -> None:
    """Wait for ``future`` (even when cancelled meanwhile); its outcome is dropped."""
    while not future.done():
        with suppress(asyncio.CancelledError):
            await asyncio.wait({asyncio.wrap_future(future)})
    if not future.cancelled():
        future.exception()


def _stop(streaming: _StreamingBody | None) -> None:
    """Stop receiving a streamed body once its request is over (a no-op otherwise)."""
    if streaming is not None:
        streaming.close()


def _whole(response: Response) -> tuple[bytes, bool]:
    """The body of a response built in memory (health), as ``_respond`` takes it."""
    return b"".join(response.body), True


async def _aborted(
    request: Request, error: ClientDisconnected, send: Send, *, answer: bool
) -> None:
    """An upload that ended early: nothing was stored.

    A client that timed out and still waits gets 408 (if no response has started:
    ``answer``) and the connection is closed; uvicorn closes it too when a started
    response is left incomplete, and ignores what is sent to a client that has gone.
    """
    path = _printable(request.path)
    logger.debug("upload aborted: %s %s: %s", request.method, path, error)
    if answer and isinstance(error, BodyIdleTimeout):
        await _send_text(send, 408, b"Request Timeout: no body bytes in time", close=True)


def _printable(text: str) -> str:
    """``text`` for a log line: control characters escaped, so a line stays one line."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def _log_access(scope: Scope, exchange: _Exchange, seconds: float) -> None:
    client = scope.get("client")
    peer = f"{client[0]}:{client[1]}" if client else "-"
    raw_path = scope.get("raw_path") or scope.get("path", "").encode("utf-8")
    args = (
        peer,
        scope.get("method", "-"),
        _printable(_decode_target(raw_path)),
        exchange.status or "-",
        exchange.sent,
        seconds * 1000,
    )
    # ``logger.info`` would first walk the stack for the caller's file and line, which
    # an access line never shows: a third of its cost on every request.
    record = access_logger.makeRecord(
        access_logger.name, logging.INFO, __file__, 0, ACCESS_FORMAT, args, None
    )
    access_logger.handle(record)


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


async def _send_text(send: Send, status: int, body: bytes, *, close: bool = False) -> None:
    headers = [
        (b"content-type", b"text/plain; charset=utf-8"),
        (b"content-length", str(len(body)).encode()),
        (SERVER_HEADER[0].encode(), SERVER_HEADER[1].encode()),
    ]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body, "more_body": False})
