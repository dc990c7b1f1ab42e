"""Run the server over HTTP with uvicorn: in a background thread (tests) or until a signal.

:class:`ServerThread` binds its socket before uvicorn starts, so port ``0`` picks a free
port that is known as soon as :meth:`ServerThread.start` returns. uvicorn runs with
httptools and keep-alive; request header names reach the core as sent (see ``asgi.py``).
Request headers must arrive within ``header_timeout`` and body bytes keep coming within
``body_idle_timeout`` (both from the app's ``config.http``), so a slow or stalled client
costs one connection for a bounded time, never the server.

A :class:`Sweeper` thread calls ``app.engine.sweep()`` (and
``app.engine.sweep_stale_uploads()``) every ``config.sweep_interval`` so expired objects
and abandoned multipart uploads leave the disk instead of only being hidden.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from typing import Any

import uvicorn

from django_objectstore.server.hosting.asgi import BODY_IDLE_TIMEOUT, ASGIAdapter, Handler
from django_objectstore.server.hosting.connection import HEADER_TIMEOUT, guarded_protocol
from django_objectstore.server.hosting.signals import stop_on_signals

logger = logging.getLogger(__name__)

START_TIMEOUT = 10.0
STOP_TIMEOUT = 10.0


class _Server(uvicorn.Server):
    """uvicorn's server, telling a thread when it listens (or has given up)."""

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ready = threading.Event()

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        try:
            await super().startup(sockets=sockets)
        finally:
            self.ready.set()


def _bind(host: str, port: int, *, reuse_port: bool = False) -> socket.socket:
    """A listening socket; ``reuse_port`` lets several processes listen on one port
    (``SO_REUSEPORT``: the kernel spreads new connections over them)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted connections only when
    # the socket's proto says TCP, and without it every response waits ~40 ms for the
    # client's delayed ACK (headers and body are separate writes).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise OSError(error.errno, f"cannot listen on {host}:{port}: {error.strerror}") from None
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class Sweeper:
    """Calls ``app.engine.sweep()`` every ``interval`` seconds in a daemon thread."""

    def __init__(self, app: Any, interval: float) -> None:
        self.app = app
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="objectstore-sweep", daemon=True)

    def start(self) -> None:
        if self.interval > 0:
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(STOP_TIMEOUT)

    def sweep_once(self) -> int:
        """Remove expired objects and multipart uploads abandoned for a week."""
        engine = getattr(self.app, "engine", None)
        sweep = getattr(engine, "sweep", None)
        if sweep is None:
            return 0
        try:
            removed = int(sweep() or 0)
        except Exception:
            logger.exception("sweeping expired objects failed")
            return 0
        sweep_uploads = getattr(engine, "sweep_stale_uploads", None)
        if sweep_uploads is None:
            return removed
        try:
            removed += int(sweep_uploads())
        except Exception:
            logger.exception("sweeping abandoned multipart uploads failed")
        return removed

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            removed = self.sweep_once()
            if removed:
                logger.info("swept %d expired objects", removed)


def never_blocks(app: Any) -> bool:
    """Whether ``app`` stores in memory, so its requests can run on the event loop.

    A backend says so with a true ``nonblocking`` attribute (the memory backend does).
    """
    backend = getattr(getattr(app, "engine", None), "backend", None)
    return bool(getattr(backend, "nonblocking", False))


def _sweep_interval(app: Any) -> float:
    config = getattr(app, "config", None)
    interval = getattr(config, "sweep_interval", None)
    return interval.total_seconds() if interval is not None else 0.0


def _http_setting(app: Any, name: str, default: float) -> float:
    """``app.config.http.<name>`` in seconds, or ``default`` for apps without one."""
    value = getattr(getattr(getattr(app, "config", None), "http", None), name, None)
    return value.total_seconds() if value is not None else default


class ServerThread:
    """``app`` served over HTTP from a background thread; also a context manager.

    ``url`` is ``http://host:port`` once :meth:`start` returns. ``sweep_interval``
    (seconds) defaults to the app's ``config.sweep_interval``; ``0`` disables sweeping.
    ``inline`` (see :class:`~.asgi.ASGIAdapter`) defaults to :func:`never_blocks`.
    ``body_idle_timeout`` and ``header_timeout`` (seconds) default to the app's
    ``config.http`` (30 s each). ``log_level`` is uvicorn's own; the server's records
    go to the ``django_objectstore.server`` loggers. ``reuse_port`` binds with
    ``SO_REUSEPORT``, for several worker processes on one port (see ``workers``).
    """

    def __init__(
        self,
        app: Handler,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        sweep_interval: float | None = None,
        inline: bool | None = None,
        log_level: str | int = "warning",
        body_idle_timeout: float | None = None,
        header_timeout: float | None = None,
        reuse_port: bool = False,
    ) -> None:
        self.app = app
        self.reuse_port = reuse_port
        self.host = host
        self._requested_port = port
        self.port = port
        if body_idle_timeout is None:
            body_idle_timeout = _http_setting(app, "body_idle_timeout", BODY_IDLE_TIMEOUT)
        if header_timeout is None:
            header_timeout = _http_setting(app, "header_timeout", HEADER_TIMEOUT)
        self.adapter = ASGIAdapter(
            app,
            inline=never_blocks(app) if inline is None else inline,
            body_idle_timeout=body_idle_timeout,
        )
        self.sweeper = Sweeper(
            app, _sweep_interval(app) if sweep_interval is None else sweep_interval
        )
        self._config = uvicorn.Config(
            self.adapter,
            http=guarded_protocol(header_timeout),
            # The protocol has no WebSocket endpoint; "none" also keeps uvicorn from
            # importing a websockets module that warns (an error under -W error).
            ws="none",
            loop="asyncio",
            lifespan="on",
            log_level=log_level,
            # None: leave the process's logging configuration alone (we run inside
            # test sessions and Django projects); uvicorn's records propagate.
            log_config=None,
            # Our adapter writes the access log (without query strings, which may
            # carry os_auth / os_sig); uvicorn's would repeat each line with them.
            access_log=False,
            server_header=False,
            timeout_keep_alive=30,
            timeout_graceful_shutdown=5,
        )
        self._server = _Server(self._config)
        self._socket: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self) -> ServerThread:
        """Listen and serve; returns once requests are accepted."""
        self._socket = _bind(self.host, self._requested_port, reuse_port=self.reuse_port)
        self.port = self._socket.getsockname()[1]
        self._thread = threading.Thread(target=self._run, name="objectstore-http", daemon=True)
        self._thread.start()
        if not self._server.ready.wait(START_TIMEOUT) or not self._server.started:
            self.stop()
            raise RuntimeError(f"the objectstore server did not start on {self.url}") from (
                self._error
            )
        self.sweeper.start()
        return self

    def _run(self) -> None:
        assert self._socket is not None
        try:
            self._server.run(sockets=[self._socket])
        except BaseException as error:  # SystemExit from a failed startup included
            self._error = error
            logger.exception("the objectstore server stopped with an error")
        finally:
            self._server.ready.set()

    def stop(self) -> None:
        """Stop accepting requests, finish those in flight, and join the threads."""
        self.sweeper.stop()
        self._server.should_exit = True
        if self._thread is not None and self._thread.is_alive():
            self._thread.join(STOP_TIMEOUT)
            if self._thread.is_alive():
                self._server.force_exit = True
                self._thread.join(STOP_TIMEOUT)
        if self._socket is not None:
            self._socket.close()
        self.adapter.close()

    def __enter__(self) -> ServerThread:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def serve(
    app: Handler,
    host: str,
    port: int,
    *,
    ready_callback: Callable[[str], None] | None = None,
    log_level: str | int = "warning",
    reuse_port: bool = False,
) -> None:
    """Serve ``app`` on ``host:port`` until SIGINT or SIGTERM, then stop cleanly.

    ``ready_callback`` gets the URL once the server accepts connections. Signal
    handlers are installed only when called from the main thread. For ``reuse_port``
    see :class:`ServerThread`.
    """
    with (
        stop_on_signals() as stop,
        ServerThread(app, host, port, log_level=log_level, reuse_port=reuse_port) as server,
    ):
        if ready_callback is not None:
            ready_callback(server.url)
        while not stop.wait(0.5):
            thread = server._thread
            if thread is None or not thread.is_alive():
                raise RuntimeError("the objectstore server stopped unexpectedly")
