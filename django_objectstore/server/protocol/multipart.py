"""S3-style multipart uploads (protocol-advanced.md §2).

| Request | Answer |
|---|---|
| ``POST objects:multipart/{U}/{S}/`` / ``PUT .../{K}`` | 200 ``{"key", "upload_id"}`` |
| ``PUT objects:multipart:parts/...?upload_id=&part_number=`` | 200 ``{"etag"}`` |
| ``GET objects:multipart:parts/...?upload_id=`` | 200 page of parts |
| ``POST objects:multipart:complete/...?upload_id=`` | 200, spaces, then one JSON |
| ``DELETE objects:multipart/...?upload_id=`` | 204, also for unknown ids |

Every request needs ``object.write`` on the target object, listing parts included, as
the real server's authorization wrapper does. An unknown (well-formed) upload id on
upload-part or list-parts answers 404 JSON; the real server answers 500 there, so
clients must not rely on either.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from django_objectstore.server.auth.authenticator import AuthContext
from django_objectstore.server.backends.records import ObjectLocation
from django_objectstore.server.backends.uploads import (
    MAX_PART_NUMBER,
    CompletedPart,
    InvalidPart,
    PartRejected,
    UploadNotFound,
    UploadStore,
    decode_md5,
)
from django_objectstore.server.engine import Engine
from django_objectstore.server.errors import ProtocolError, disk_full_as_507
from django_objectstore.server.messages import FLUSH, Request, Response
from django_objectstore.server.protocol.metadata_headers import parse_metadata
from django_objectstore.server.protocol.multipart_query import (
    parse_complete_body,
    parse_query,
    query_int,
    upload_id_param,
)
from django_objectstore.server.protocol.routing import Route
from django_objectstore.wire.numbers import U64_MAX, parse_decimal

WRITE = "object.write"
KEEPALIVE_SECONDS = 1.0
"""While assembling, completion writes one space this often (first after one interval)."""


def _json(status: int, document: object) -> Response:
    payload = json.dumps(document).encode()
    headers = [("content-type", "application/json"), ("content-length", str(len(payload)))]
    return Response(status, headers, [payload])


def _not_found(upload_id: str) -> ProtocolError:
    return ProtocolError(404, f"client error: multipart upload {upload_id!r} not found")


def handle(engine: Engine, request: Request, auth: AuthContext, route: Route) -> Response:
    """Dispatch a multipart request (methods are already checked by the router)."""
    store = engine.uploads
    if route.endpoint == "objects:multipart":
        if request.method == "DELETE":
            return _abort(store, request, auth, route.location())
        return _initiate(engine, store, request, auth, route)
    if route.endpoint == "objects:multipart:parts":
        if request.method == "PUT":
            return _upload_part(engine, store, request, auth, route.location())
        return _list_parts(store, request, auth, route.location())
    return _complete(engine, store, request, auth, route.location())


def _initiate(
    engine: Engine, store: UploadStore, request: Request, auth: AuthContext, route: Route
) -> Response:
    metadata = parse_metadata(request.headers)
    engine.validate_policy(route.usecase, metadata.expiration)
    key = route.key if route.key is not None else str(uuid.uuid4())
    location = ObjectLocation(route.usecase, route.scopes, key)
    auth.require(WRITE, location)
    with disk_full_as_507():
        upload_id = store.create(location, metadata, engine.now())
    return _json(200, {"key": key, "upload_id": upload_id})


def _upload_part(
    engine: Engine,
    store: UploadStore,
    request: Request,
    auth: AuthContext,
    location: ObjectLocation,
) -> Response:
    query = parse_query(request.query)
    upload_id = upload_id_param(query)
    part_number = query_int(query, "part_number", required=True, minimum=1)
    assert part_number is not None
    length_header = request.headers.get("content-length")
    if length_header is None:
        raise ProtocolError(400, "client error: Content-Length header is required")
    try:
        content_length = parse_decimal(length_header.strip(), U64_MAX)
    except ValueError:
        raise ProtocolError(
            400, "client error: Content-Length must be a whole number of bytes"
        ) from None
    if part_number > MAX_PART_NUMBER:
        raise ProtocolError(400, f"client error: part_number must be at most {MAX_PART_NUMBER}")
    try:
        md5 = decode_md5(request.headers.get("content-md5"))
    except ValueError as error:
        raise ProtocolError(400, f"client error: {error}") from None
    auth.require(WRITE, location)
    try:
        with disk_full_as_507():
            info = store.put_part(
                location,
                upload_id,
                part_number,
                request.body,
                content_length,
                md5,
                engine.clock.now(),
            )
    except UploadNotFound:
        raise _not_found(upload_id) from None
    except PartRejected as error:
        raise ProtocolError(400, f"client error: {error}") from None
    return _json(200, {"etag": info.etag})


def _format_time(value: datetime) -> str:
    """RFC 3339 UTC with ``Z``; fractions printed with 9 digits, omitted when zero."""
    value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%dT%H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond * 1000:09d}"
    return text + "Z"


def _list_parts(
    store: UploadStore, request: Request, auth: AuthContext, location: ObjectLocation
) -> Response:
    query = parse_query(request.query)
    upload_id = upload_id_param(query)
    max_parts = query_int(query, "max_parts", minimum=0)
    marker = query_int(query, "part_number_marker", minimum=1) or 0
    auth.require(WRITE, location)
    try:
        parts = [
            part for part in store.list_parts(location, upload_id) if part.part_number > marker
        ]
    except UploadNotFound:
        raise _not_found(upload_id) from None
    # max_parts=0 gives an empty page that is not truncated: a page without parts has
    # no last part number to resume from.
    truncated = max_parts is not None and 0 < max_parts < len(parts)
    if max_parts is not None:
        parts = parts[:max_parts]
    document: dict[str, object] = {
        "parts": [
            {
                "part_number": part.part_number,
                "etag": part.etag,
                "last_modified": _format_time(part.last_modified),
                "size": part.size,
            }
            for part in parts
        ],
        "is_truncated": truncated,
    }
    if truncated:
        document["next_part_number_marker"] = parts[-1].part_number
    return _json(200, document)


def _abort(
    store: UploadStore, request: Request, auth: AuthContext, location: ObjectLocation
) -> Response:
    upload_id = upload_id_param(parse_query(request.query))
    auth.require(WRITE, location)
    with store.lock(upload_id):
        store.remove(location, upload_id)
    return Response(204, [("content-length", "0")])


@dataclass
class _Completion:
    """Assembles in a thread; the response waits for it, writing keepalive spaces."""

    done: threading.Event
    result: bytes = b""


def _complete(
    engine: Engine,
    store: UploadStore,
    request: Request,
    auth: AuthContext,
    location: ObjectLocation,
) -> Response:
    upload_id = upload_id_param(parse_query(request.query))
    parts = parse_complete_body(request)
    auth.require(WRITE, location)
    completion = _Completion(threading.Event())

    def assemble() -> None:
        try:
            completion.result = json.dumps(
                _assemble(engine, store, location, upload_id, parts)
            ).encode()
        finally:
            completion.done.set()

    threading.Thread(target=assemble, name="objectstore-multipart-complete", daemon=True).start()
    return Response(200, [("content-type", "application/json")], _keepalive(completion))


def _assemble(
    engine: Engine,
    store: UploadStore,
    location: ObjectLocation,
    upload_id: str,
    parts: list[CompletedPart],
) -> dict[str, object]:
    """The completion document: ``{"key": K}`` or ``{"error": {"code", "message"}}``."""
    try:
        with store.lock(upload_id):
            upload, body = store.open_parts(location, upload_id, parts)
            try:
                engine.insert(location, upload.metadata, body, upload.initiated)
            finally:
                body.close()
            store.remove(location, upload_id)
    except InvalidPart as error:
        return {"error": {"code": "InvalidPart", "message": str(error)}}
    except UploadNotFound:
        message = f"service error: multipart upload {upload_id!r} not found"
        return {"error": {"code": "internal error", "message": message}}
    except ProtocolError as error:
        return {"error": {"code": "internal error", "message": error.detail}}
    except Exception as error:
        return {"error": {"code": "internal error", "message": f"service error: {error}"}}
    return {"key": location.key}


def _keepalive(completion: _Completion) -> Iterator[bytes]:
    while not completion.done.wait(KEEPALIVE_SECONDS):
        yield b" "
        yield FLUSH  # send the space now, not when a network buffer fills
    yield completion.result
