"""The single-object endpoints: POST, PUT, GET, HEAD, DELETE and PATCH (protocol.md §3).

The app (``server/app.py``) has already checked the method and authenticated the request.
Each handler then follows the real server's order: query string, endpoint-specific
input (metadata headers, ``Range``, JSON body), usecase policy, permission, storage.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime
from urllib.parse import parse_qsl

from django_objectstore.server.auth.authenticator import AuthContext
from django_objectstore.server.backends.records import ObjectLocation, StoredObject
from django_objectstore.server.engine import Engine
from django_objectstore.server.errors import ProtocolError
from django_objectstore.server.messages import Request, Response
from django_objectstore.server.protocol.expiry_extension import parse_extend_expiry
from django_objectstore.server.protocol.metadata_headers import metadata_headers, parse_metadata
from django_objectstore.server.protocol.ranges import (
    content_range,
    parse_range,
    resolve_range,
    unsatisfied_range,
)
from django_objectstore.server.protocol.routing import Route
from django_objectstore.wire import headers as h
from django_objectstore.wire.numbers import json_int

MAX_JSON_BODY = 2 * 1024 * 1024
"""PATCH bodies larger than this are refused with 413 (the real server's JSON limit)."""


class StreamingBody:
    """Response chunks from a stored object; closes it when exhausted or closed early."""

    def __init__(self, stored: StoredObject, start: int = 0, end: int | None = None) -> None:
        self._stored = stored
        self._chunks = stored.iter_bytes(start, end)
        self._closed = False

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        if self._closed:
            raise StopIteration
        try:
            return next(self._chunks)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            close_chunks = getattr(self._chunks, "close", None)
            if close_chunks is not None:
                close_chunks()
            self._stored.close()


def json_response(status: int, document: object) -> Response:
    payload = json.dumps(document, ensure_ascii=False).encode("utf-8")
    headers = [(h.CONTENT_TYPE, "application/json"), (h.CONTENT_LENGTH, str(len(payload)))]
    return Response(status, headers, [payload])


def empty_response(status: int, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, [*(headers or []), (h.CONTENT_LENGTH, "0")], [])


def _check_upload_query(request: Request, collection: bool) -> None:
    """Resumable uploads are not implemented: 501 so clients fall back to a plain upload."""
    if not request.query or request.method not in ("POST", "PUT", "DELETE"):
        return
    params = dict(parse_qsl(request.query, keep_blank_values=True))
    upload_type = params.get("upload_type")
    session = params.get("session")
    if session is not None and collection:
        raise ProtocolError(400, "client error: `session` is not valid when creating an object")
    if upload_type is not None and upload_type != "resumable":
        raise ProtocolError(400, f"client error: unknown upload_type {upload_type!r}")
    if upload_type is not None and request.method == "DELETE" and session is None:
        raise ProtocolError(400, "client error: upload_type is not valid on DELETE")
    if upload_type is not None or session is not None:
        raise ProtocolError(
            501, "resumable uploads are not supported by this server; use a plain upload"
        )


def handle(engine: Engine, request: Request, auth: AuthContext, route: Route) -> Response:
    """Serve one request on ``/v1/objects/...``."""
    now = engine.now()
    _check_upload_query(request, route.key is None)
    if route.key is None:
        key = str(uuid.uuid4())
        location = ObjectLocation(route.usecase, route.scopes, key)
        return _write(engine, request, auth, location, now, 201)
    location = route.location()
    if request.method == "PUT":
        return _write(engine, request, auth, location, now, 200)
    if request.method in ("GET", "HEAD"):
        return _read(engine, request, auth, location, now)
    if request.method == "DELETE":
        auth.require("object.delete", location)
        engine.delete(location)
        return empty_response(204)
    return _patch(engine, request, auth, location, now)


def _write(
    engine: Engine,
    request: Request,
    auth: AuthContext,
    location: ObjectLocation,
    now: datetime,
    status: int,
) -> Response:
    metadata = parse_metadata(request.headers)
    engine.validate_policy(location.usecase, metadata.expiration)
    engine.stamp(metadata, now)
    auth.require("object.write", location)
    engine.insert(location, metadata, request.body, now)
    return json_response(status, {"key": location.key})


def _read(
    engine: Engine, request: Request, auth: AuthContext, location: ObjectLocation, now: datetime
) -> Response:
    head = request.method == "HEAD"
    raw_range = None if head else request.headers.get(h.RANGE)
    spec = parse_range(raw_range) if raw_range is not None else None
    auth.require("object.read", location)
    stored = engine.read(location, now, touch=False)
    if stored is None:
        return empty_response(404)
    headers = metadata_headers(stored.metadata, stored.size)
    span = resolve_range(spec, stored.size) if spec is not None else None
    if spec is not None and span is None:
        stored.close()
        unsatisfied = [
            (h.CONTENT_RANGE, unsatisfied_range(stored.size)),
            (h.ACCEPT_RANGES, "bytes"),
        ]
        return empty_response(416, unsatisfied)
    engine.touch(location, stored.metadata, now)
    if head:
        stored.close()
        return Response(200, [*headers, (h.CONTENT_LENGTH, str(stored.size))], [])
    if span is None:
        headers.append((h.CONTENT_LENGTH, str(stored.size)))
        return Response(200, headers, StreamingBody(stored))
    start, end = span
    headers.append((h.CONTENT_RANGE, content_range(start, end, stored.size)))
    headers.append((h.CONTENT_LENGTH, str(end - start + 1)))
    return Response(206, headers, StreamingBody(stored, start, end + 1))


def _json_body(request: Request) -> object:
    """The PATCH body as the real server's JSON extractor sees it (415/413/400)."""
    content_type = (request.headers.get(h.CONTENT_TYPE) or "").split(";")[0].strip().lower()
    kind, _, subtype = content_type.partition("/")
    if kind != "application" or not (subtype == "json" or subtype.endswith("+json")):
        raise ProtocolError(
            415, "Expected request with `Content-Type: application/json`", body="text"
        )
    payload = request.body.read(MAX_JSON_BODY + 1)
    while len(payload) <= MAX_JSON_BODY and (more := request.body.read(MAX_JSON_BODY + 1)):
        payload += more
    if len(payload) > MAX_JSON_BODY:
        raise ProtocolError(
            413, "Failed to buffer the request body: length limit exceeded", body="text"
        )
    try:
        return json.loads(
            payload.decode("utf-8"),
            object_pairs_hook=_unique_keys,
            parse_constant=_no_constant,
            parse_int=json_int,
        )
    except _DuplicateField as error:
        raise ProtocolError(
            422, f"Failed to deserialize the JSON body: {error}", body="text"
        ) from None
    except (ValueError, RecursionError) as error:
        raise ProtocolError(
            400, f"Failed to parse the request body as JSON: {error}", body="text"
        ) from None


class _DuplicateField(Exception):
    pass


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    document: dict[str, object] = {}
    for name, value in pairs:
        if name in document:
            raise _DuplicateField(f"duplicate field `{name}`")
        document[name] = value
    return document


def _no_constant(name: str) -> object:
    raise ValueError(f"invalid JSON number {name}")


def _patch(
    engine: Engine, request: Request, auth: AuthContext, location: ObjectLocation, now: datetime
) -> Response:
    target = parse_extend_expiry(_json_body(request))
    auth.require("object.write", location)
    engine.extend_expiry(location, target, now)
    return empty_response(204)
