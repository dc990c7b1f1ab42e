"""The protocol core: routes a :class:`Request` to its endpoint and returns a :class:`Response`.

``create_app(config)`` is the documented entry point used by the HTTP runner, the pytest
plugin, the client's in-process transports and ``manage.py objectstore_server``.
"""

from __future__ import annotations

import logging
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from django_objectstore import __version__
from django_objectstore.server.auth import Authenticator
from django_objectstore.server.backends.base import Backend, ObjectLocation
from django_objectstore.server.clock import Clock, SystemClock
from django_objectstore.server.config import ServerConfig
from django_objectstore.server.engine import Engine
from django_objectstore.server.errors import ProtocolError
from django_objectstore.server.messages import Request, Response
from django_objectstore.wire.scopes import Scopes, parse_scopes

SERVER_HEADER = ("server", f"objectstore/{__version__} (django-objectstore)")
logger = logging.getLogger(__name__)

BATCH_WORKERS = 8
"""Threads executing batch operations, shared by every batch request of one app."""

# /v1/{endpoint}/{usecase}/{scopes}[/{key...}] on the raw (still percent-encoded) path.
_OBJECT_ROUTE = re.compile(
    r"^/v1/(?P<endpoint>objects(?::batch|:multipart(?::parts|:complete)?)?)"
    r"/(?P<usecase>[^/]+)/(?P<scopes>[^/]+)(?P<slash>/?)(?P<key>.*)$",
    re.DOTALL,
)


@dataclass(frozen=True)
class Route:
    """A parsed object-API path. ``key`` is ``None`` on collection paths."""

    endpoint: str
    usecase: str
    scopes: Scopes
    key: str | None
    trailing_slash: bool

    def location(self) -> ObjectLocation:
        assert self.key is not None
        return ObjectLocation(self.usecase, self.scopes, self.key)


def _decode(segment: str, what: str) -> str:
    try:
        return unquote_to_bytes(segment).decode("utf-8")
    except UnicodeDecodeError:
        raise ProtocolError(
            400, f"invalid {what}: not UTF-8 after percent-decoding", body="text"
        ) from None


def parse_route(path: str) -> Route | None:
    """Parse ``path``; ``None`` when no route matches (404), 400 for malformed parts."""
    match = _OBJECT_ROUTE.match(path)
    if match is None:
        return None
    usecase = _decode(match["usecase"], "usecase")
    try:
        scopes = parse_scopes(_decode(match["scopes"], "scopes"))
    except ValueError as error:
        raise ProtocolError(400, f"Invalid URL: {error}", body="text") from None
    raw_key = match["key"]
    key = _decode(raw_key, "key") if raw_key else None
    return Route(match["endpoint"], usecase, scopes, key, bool(match["slash"]))


# (endpoint, has key) -> methods routed there; anything else is 405 (404 for batch
# without its trailing slash), decided before auth like the real router does.
_METHODS: dict[tuple[str, bool], frozenset[str]] = {
    ("objects", False): frozenset({"POST"}),
    ("objects", True): frozenset({"GET", "HEAD", "PUT", "DELETE", "PATCH"}),
    ("objects:batch", False): frozenset({"POST"}),
    ("objects:multipart", False): frozenset({"POST"}),
    ("objects:multipart", True): frozenset({"PUT", "DELETE"}),
    ("objects:multipart:parts", True): frozenset({"PUT", "GET"}),
    ("objects:multipart:complete", True): frozenset({"POST"}),
}


def _check_method(endpoint: str, has_key: bool, slash: bool, method: str) -> None:
    allowed = _METHODS.get((endpoint, has_key))
    if allowed is None or (endpoint == "objects:batch" and not slash):
        raise ProtocolError(404, body="empty")
    if method not in allowed:
        raise ProtocolError(405, body="empty")


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

    def handle(self, request: Request) -> Response:
        try:
            response = self._dispatch(request)
        except ProtocolError as error:
            response = error.to_response()
        except ConnectionError:
            raise  # the client went away mid-request: nobody to answer
        except Exception:
            # Backend failures are a 500 with a JSON error body, like the real server.
            logger.exception("error while handling %s %s", request.method, request.path)
            response = ProtocolError(500, "service error: internal error").to_response()
        response.headers.append(SERVER_HEADER)
        return response

    def _dispatch(self, request: Request) -> Response:
        # Endpoint modules are imported on first use: each stays independent.
        if request.path in ("/health", "/ready"):
            from django_objectstore.server import health

            return health.handle(self, request)
        match = _OBJECT_ROUTE.match(request.path)
        if match is None:
            raise ProtocolError(404, body="empty")
        _check_method(match["endpoint"], bool(match["key"]), bool(match["slash"]), request.method)
        auth = self.auth.authenticate(request)
        route = parse_route(request.path)
        assert route is not None
        if route.endpoint == "objects":
            from django_objectstore.server import objects

            return objects.handle(self, request, auth, route)
        if route.endpoint == "objects:batch":
            from django_objectstore.server import batch

            return batch.handle(self, request, auth, route)
        from django_objectstore.server import multipart

        return multipart.handle(self, request, auth, route)


def create_app(
    config: ServerConfig | None = None,
    *,
    clock: Clock | None = None,
    backend: Backend | None = None,
) -> App:
    """Build the app for ``config``; ``backend`` overrides ``config.storage``."""
    from django_objectstore.server.backends import create_backend

    config = config or ServerConfig()
    clock = clock or SystemClock()
    engine = Engine(backend or create_backend(config.storage), config, clock)
    return App(config, engine, Authenticator(config.auth))
