"""Object API paths: ``/v1/{endpoint}/{usecase}/{scopes}[/{key...}]`` and their methods.

Routing happens in two steps, like the real server's router: :func:`check_route`
answers 404/405 from the raw path and the method before authentication, and
:func:`parse_route` decodes the path's parts afterwards (400 for malformed ones).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from django_objectstore.server.backends.records import ObjectLocation
from django_objectstore.server.errors import ProtocolError
from django_objectstore.wire.scopes import Scopes, parse_scopes

HEALTH_PATHS = frozenset({"/health", "/ready"})
"""Served without authentication by :mod:`.health`."""

# /v1/{endpoint}/{usecase}/{scopes}[/{key...}] on the raw (still percent-encoded) path.
_OBJECT_ROUTE = re.compile(
    r"^/v1/(?P<endpoint>objects(?::batch|:multipart(?::parts|:complete)?)?)"
    r"/(?P<usecase>[^/]+)/(?P<scopes>[^/]+)(?P<slash>/?)(?P<key>.*)$",
    re.DOTALL,
)

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


def check_route(path: str, method: str) -> None:
    """``ProtocolError`` 404 when no route matches ``path``, 405 when ``method`` is not routed."""
    match = _OBJECT_ROUTE.match(path)
    if match is None:
        raise ProtocolError(404, body="empty")
    endpoint, slash = match["endpoint"], bool(match["slash"])
    allowed = _METHODS.get((endpoint, bool(match["key"])))
    if allowed is None or (endpoint == "objects:batch" and not slash):
        raise ProtocolError(404, body="empty")
    if method not in allowed:
        raise ProtocolError(405, body="empty")


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
