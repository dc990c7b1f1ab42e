"""Several server processes on one port and one storage root (``workers`` > 1).

The parent starts ``workers`` child processes (``spawn``: fresh interpreters, nothing
inherited but the configuration) and serves nothing itself. Each child builds its own
app with :func:`~django_objectstore.server.create_app` and runs uvicorn on its own
socket bound with ``SO_REUSEPORT``, so the kernel spreads new connections over the
children and no accept lock is shared. The filesystem storage is safe to share between
processes; the memory storage is not, and is refused before any child starts
(:func:`~.settings_loader.check_workers`).

The parent forwards SIGINT and SIGTERM to the children, waits for them to finish their
requests in flight and returns. A child that exits on its own is reported (its number,
pid and status) and the others are stopped: the parent then raises, so a process
supervisor sees one failed service to restart rather than one that quietly lost
capacity. A child whose parent dies stops by itself.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess

from django_objectstore.server.app import create_app
from django_objectstore.server.config import ServerConfig
from django_objectstore.server.hosting.runner import serve
from django_objectstore.server.hosting.signals import stop_on_signals

logger = logging.getLogger(__name__)

START_TIMEOUT = 60.0
"""How long the children may take to import the server and listen (spawn is slow on a
busy machine)."""
STOP_TIMEOUT = 15.0
"""How long the children get to stop after the signal (uvicorn's graceful shutdown takes
up to 5 s) before they are killed."""
POLL_INTERVAL = 0.2


class _Worker:
    def __init__(self, number: int, process: BaseProcess, conn: Connection) -> None:
        self.number = number
        self.process = process
        self.conn = conn
        self.ready = False

    def describe(self) -> str:
        return f"worker {self.number} (pid {self.process.pid})"

    def exit_status(self) -> str:
        code = self.process.exitcode
        if code is not None and code < 0:
            return f"was killed by {signal.Signals(-code).name}"
        return f"exited with status {code}"


def serve_workers(
    config: ServerConfig,
    host: str,
    port: int,
    *,
    ready_callback: Callable[[str], None] | None = None,
    log_level: int = logging.INFO,
    log_format: str | None = None,
    uvicorn_level: int = logging.WARNING,
) -> None:
    """Serve ``config`` from ``config.workers`` processes on ``host:port`` until a signal.

    ``ready_callback`` gets the URL once every child accepts connections (port ``0``
    picks one free port for all). ``log_format`` (with ``log_level``) configures
    logging to stderr in each child; ``None`` leaves the children's logging alone.
    Raises ``RuntimeError`` when a child fails to start or stops on its own.
    """
    with stop_on_signals() as stop:
        holder = _reserve_port(host) if port == 0 else None
        if holder is not None:
            port = holder.getsockname()[1]
        workers: list[_Worker] = []
        try:
            context = multiprocessing.get_context("spawn")
            for number in range(1, config.workers + 1):
                parent_end, child_end = context.Pipe()
                process = context.Process(
                    target=_worker_main,
                    args=(child_end, config, host, port, log_level, log_format, uvicorn_level),
                    name=f"objectstore-worker-{number}",
                )
                process.start()
                child_end.close()
                workers.append(_Worker(number, process, parent_end))
            if not _wait_ready(workers, stop):
                return
            if holder is not None:
                holder.close()
                holder = None
            netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
            if ready_callback is not None:
                ready_callback(f"http://{netloc}")
            _supervise(workers, stop)
        finally:
            if holder is not None:
                holder.close()
            _stop_all(workers)


def _reserve_port(host: str) -> socket.socket:
    """A bound, not listening socket holding a free port for the children's sockets.

    It joins their ``SO_REUSEPORT`` group but, not listening, receives no connections.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, 0))
    except OSError as error:
        sock.close()
        raise OSError(error.errno, f"cannot listen on {host}:0: {error.strerror}") from None
    return sock


def _wait_ready(workers: list[_Worker], stop: threading.Event) -> bool:
    """True once every child listens; False when a signal came first. Raises on failure."""
    deadline = time.monotonic() + START_TIMEOUT
    by_conn = {worker.conn: worker for worker in workers}
    by_sentinel = {worker.process.sentinel: worker for worker in workers}
    while not all(worker.ready for worker in workers):
        if stop.is_set():
            return False
        if time.monotonic() > deadline:
            raise RuntimeError(f"the workers did not start within {START_TIMEOUT:g} s")
        pending = [w.conn for w in workers if not w.ready]
        for item in wait([*pending, *by_sentinel], timeout=POLL_INTERVAL):
            if item in by_conn:
                _receive(by_conn[item])
            elif not by_sentinel[item].ready:  # type: ignore[index]
                worker = by_sentinel[item]  # type: ignore[index]
                if worker.conn.poll():
                    _receive(worker)  # its error message, sent just before it exited
                raise RuntimeError(f"{worker.describe()} {worker.exit_status()} while starting")
    for worker in workers:
        logger.info("%s listening", worker.describe())
    return True


def _receive(worker: _Worker) -> None:
    try:
        kind, text = worker.conn.recv()
    except (EOFError, OSError):
        worker.process.join(STOP_TIMEOUT)
        raise RuntimeError(f"{worker.describe()} {worker.exit_status()} while starting") from None
    if kind == "error":
        raise RuntimeError(f"{worker.describe()}: {text}")
    worker.ready = True


def _supervise(workers: list[_Worker], stop: threading.Event) -> None:
    """Wait for a signal; a child exiting first is reported and stops the service."""
    sentinels = {worker.process.sentinel: worker for worker in workers}
    while not stop.is_set():
        exited = wait(list(sentinels), timeout=POLL_INTERVAL)
        if exited and not stop.is_set():
            worker = sentinels[exited[0]]  # type: ignore[index]
            worker.process.join()
            message = f"{worker.describe()} {worker.exit_status()}; stopping the other workers"
            logger.error("%s", message)
            raise RuntimeError(message)


def _stop_all(workers: list[_Worker]) -> None:
    """SIGTERM to every child still running, then wait; kill those that outstay."""
    for worker in workers:
        if worker.process.is_alive() and worker.process.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker.process.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    for worker in workers:
        worker.process.join(max(0.0, deadline - time.monotonic()))
        if worker.process.is_alive():
            logger.error("%s did not stop within %g s; killing it", worker.describe(), STOP_TIMEOUT)
            worker.process.kill()
            worker.process.join(STOP_TIMEOUT)
        elif worker.process.exitcode not in (0, -signal.SIGTERM, None):  # SIGTERM: ours
            logger.warning("%s %s", worker.describe(), worker.exit_status())
        worker.conn.close()


def _worker_main(
    conn: Connection,
    config: ServerConfig,
    host: str,
    port: int,
    log_level: int,
    log_format: str | None,
    uvicorn_level: int,
) -> None:
    """One child: build the app and serve it on a ``SO_REUSEPORT`` socket until a signal."""
    # Ctrl-C reaches the whole process group: while starting, leave stopping to the
    # parent (a traceback per child helps nobody); serve() then installs its handlers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if log_format is not None:
        logging.basicConfig(level=log_level, format=log_format, stream=sys.stderr)
    threading.Thread(target=_stop_with_parent, args=(conn,), daemon=True).start()

    def ready(url: str) -> None:
        conn.send(("ready", url))

    try:
        app = create_app(config)
        serve(app, host, port, ready_callback=ready, log_level=uvicorn_level, reuse_port=True)
    except (ValueError, OSError, RuntimeError) as error:
        conn.send(("error", str(error)))
        sys.exit(1)


def _stop_with_parent(conn: Connection) -> None:
    """SIGTERM to this child when the parent's end of the pipe closes (it stopped or died)."""
    with contextlib.suppress(EOFError, OSError):
        conn.recv()
    os.kill(os.getpid(), signal.SIGTERM)
