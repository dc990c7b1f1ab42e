"""The protocol core: routes a :class:`Request` to its endpoint and returns a :class:`Response`.

``create_app(config)`` (also importable from :mod:`django_objectstore.server`) is the
entry point used by the HTTP runner, the pytest plugin, the client's in-process
transports and ``manage.py objectstore_server``.

Why a request failed is logged here: 4xx causes at DEBUG, 5xx at WARNING (unexpected
exceptions at ERROR with the traceback), with the method and path but never the query
string or headers, which carry tokens and signatures.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from django_objectstore import __version__
from django_objectstore.server.auth.authenticator import Authenticator
from django_objectstore.server.backends import create_backend
from django_objectstore.server.backends.base import Backend
from django_objectstore.server.clock import Clock, SystemClock
from django_objectstore.server.config import ServerConfig
from django_objectstore.server.engine import Engine
from django_objectstore.server.errors import ProtocolError
from django_objectstore.server.messages import Request, Response
from django_objectstore.server.protocol import batch, health, multipart, objects
from django_objectstore.server.protocol.routing import HEALTH_PATHS, check_route, parse_route

SERVER_HEADER = ("server", f"objectstore/{__version__} (django-objectstore)")
logger = logging.getLogger(__name__)

_SECRETS = re.compile(
    r"(?i)((?:os_auth|os_sig|authorization|x-os-auth)\s*[=:]\s*(?:bearer\s+)?|bearer\s+)"
    r"(?!<|bearer\s)[^\s&;,)]+"
    r"|eyJ[\w-]*\.[\w-]+\.[\w-]*"
)


def redact(text: str) -> str:
    """``text`` with anything shaped like a token or a signature replaced, for logs."""
    return _SECRETS.sub(lambda m: f"{m[1] or ''}[redacted]", text)


BATCH_WORKERS = 8
"""Threads executing batch operations, shared by every batch request of one app."""

OPERATIONS = ("read", "write", "delete", "update", "batch", "multipart")
"""What :meth:`App.runs_inline` asks a backend's ``nonblocking_for`` about."""


def operation(request: Request) -> str | None:
    """The backend operation ``request`` would run, or ``None`` for other paths.

    ``read`` is a ``GET``/``HEAD`` of an object (including its time-to-idle renewal,
    which the engine debounces), ``write`` a ``PUT``/``POST`` of one, ``delete`` and
    ``update`` (``PATCH``) the others; ``batch`` and ``multipart`` their endpoints.
    """
    parts = request.path.split("/", 3)
    if len(parts) < 4 or parts[1] != "v1":
        return None
    endpoint = parts[2]
    if endpoint == "objects":
        method = request.method
        if method in ("GET", "HEAD"):
            return "read"
        if method in ("PUT", "POST"):
            return "write"
        return {"DELETE": "delete", "PATCH": "update"}.get(method)
    if endpoint == "objects:batch":
        return "batch"
    return "multipart" if endpoint.startswith("objects:multipart") else None


class App:
    """The objectstore protocol over one storage engine."""

    def __init__(self, config: ServerConfig, engine: Engine, authenticator: Authenticator) -> None:
        self.config = config
        self.engine = engine
        self.clock = engine.clock
        self.auth = authenticator
        # Shared by all batch requests: threads start on first use and are reused, so a
        # stream of batch requests does not pay for a new pool each time.
        self.batch_workers = ThreadPoolExecutor(
            BATCH_WORKERS, thread_name_prefix="objectstore-batch"
        )
        backend = engine.backend
        self._nonblocking_for: Callable[[str], bool] | None = getattr(
            backend, "nonblocking_for", None
        )
        self._nonblocking = bool(getattr(backend, "nonblocking", False))

    def runs_inline(self, request: Request) -> bool:
        """Whether ``request`` (its body already in memory) never blocks on I/O.

        The HTTP adapter then runs it on the event loop, saving the crossing to a worker
        thread and back. The backend answers per operation (:func:`operation`) with a
        ``nonblocking_for(operation) -> bool`` method, else for everything with its
        ``nonblocking`` attribute (the memory backend's is true). True means the
        operation and the first 256 KiB of its response body wait on no disk, lock or
        network in the common case, so a backend reading files says false, since a page
        cache miss would stall every connection for the length of a disk read.
        """
        nonblocking_for = self._nonblocking_for
        if nonblocking_for is None:
            return self._nonblocking
        op = operation(request)
        return op is not None and bool(nonblocking_for(op))

    def handle(self, request: Request) -> Response:
        try:
            response = self._dispatch(request)
        except ProtocolError as error:
            level = logging.WARNING if error.status >= 500 else logging.DEBUG
            if logger.isEnabledFor(level):
                logger.log(
                    level,
                    "%s %s: %d %s",
                    request.method,
                    redact(request.path),
                    error.status,
                    redact("; ".join([error.detail, *error.causes]) or "(no detail)"),
                )
            response = error.to_response()
        except ConnectionError:
            raise  # the client went away mid-request: nobody to answer
        except Exception:
            # Backend failures are a 500 with a JSON error body, like the real server.
            logger.exception("error while handling %s %s", request.method, redact(request.path))
            response = ProtocolError(500, "service error: internal error").to_response()
        response.headers.append(SERVER_HEADER)
        return response

    def _dispatch(self, request: Request) -> Response:
        if request.path in HEALTH_PATHS:
            return health.handle(request)
        check_route(request.path, request.method)
        auth = self.auth.authenticate(request)
        route = parse_route(request.path)
        assert route is not None
        if route.endpoint == "objects":
            return objects.handle(self.engine, request, auth, route)
        if route.endpoint == "objects:batch":
            return batch.handle(self.engine, self.batch_workers, request, auth, route)
        return multipart.handle(self.engine, request, auth, route)


def create_app(
    config: ServerConfig | None = None,
    *,
    clock: Clock | None = None,
    backend: Backend | None = None,
) -> App:
    """Build the app for ``config``; ``backend`` overrides ``config.storage``."""
    config = config or ServerConfig()
    clock = clock or SystemClock()
    engine = Engine(backend or create_backend(config.storage), config, clock)
    return App(config, engine, Authenticator(config.auth))
