"""``POST /v1/objects:batch/{U}/{S}/``: many operations in one request (protocol-advanced §1).

The request is ``multipart/form-data``, one part per operation. Parts are parsed lazily;
at most :data:`MAX_IN_FLIGHT` operations are parsed but not yet answered, so memory
stays bounded (inserts are at most 1 MiB each). Response parts stream out in completion
order, each tagged with the operation's position in the request.

Reads (``get``, ``head``) run in the request's own thread, one after another: on the
local backends they take microseconds, less than handing them to another thread costs
(measured: a batch of keepalive heads ran twice as fast inline). Inserts and deletes,
which wait for ``fsync``, run on the app's shared pool so their flushes overlap.

A found ``get`` is answered by a :class:`StreamedPart`: its headers, then the stored
bytes chunk by chunk straight from the open object, so the server's memory does not
grow with the object's size (the real server buffers whole objects here).
"""

from __future__ import annotations

import queue
import uuid
from collections.abc import Generator, Iterator
from concurrent.futures import Executor
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import unquote_to_bytes

from django_objectstore.server.auth.authenticator import AuthContext
from django_objectstore.server.backends.records import ObjectLocation, ObjectMetadata, StoredObject
from django_objectstore.server.engine import Engine
from django_objectstore.server.errors import ProtocolError
from django_objectstore.server.messages import BytesBody, Request, Response
from django_objectstore.server.protocol.metadata_headers import (
    check_header,
    metadata_headers,
    parse_metadata,
)
from django_objectstore.server.protocol.routing import Route
from django_objectstore.wire import formdata
from django_objectstore.wire import headers as h

MAX_OPERATIONS = 1000
MAX_INSERT_BYTES = 1024 * 1024
MAX_IN_FLIGHT = 16
"""Operations parsed but not yet written to the response."""
_INLINE_KINDS = frozenset({"get", "head"})
"""Operations run in the request's thread rather than on the shared pool."""

_PERMISSIONS = {
    "get": "object.read",
    "head": "object.read",
    "insert": "object.write",
    "delete": "object.delete",
}
_REASONS = {
    200: "OK",
    201: "Created",
    204: "No Content",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    413: "Payload Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    507: "Insufficient Storage",
}
# Headers of a stored object that describe an HTTP response, not the object.
_NOT_IN_PARTS = frozenset({h.CONTENT_DISPOSITION, h.ACCEPT_RANGES, h.CONTENT_LENGTH})


@dataclass
class Operation:
    index: int
    kind: str
    location: ObjectLocation
    metadata: ObjectMetadata = field(default_factory=ObjectMetadata)
    payload: bytes = b""


def status_line(status: int) -> str:
    """``"<code> <canonical reason>"`` as in ``x-sn-batch-operation-status``."""
    return f"{status} {_REASONS.get(status, '')}".strip()


def encode_key(key: str) -> str:
    """Percent-encode every byte that is not an ASCII letter or digit (``a-b`` -> ``a%2Db``)."""
    return "".join(
        chr(byte) if chr(byte).isascii() and chr(byte).isalnum() else f"%{byte:02X}"
        for byte in key.encode("utf-8")
    )


def _bad(detail: str, status: int = 400) -> ProtocolError:
    return ProtocolError(status, f"batch error: {detail}")


def _error_part(boundary: str, index: int, error: ProtocolError) -> bytes:
    headers = [
        ("content-disposition", "form-data; name=part"),
        (h.BATCH_INDEX, str(index)),
        (h.BATCH_STATUS, status_line(error.status)),
    ]
    return formdata.encode_part(boundary, headers, error.to_json())


def _headers(
    op: Operation, status: int, extra: list[tuple[str, str]] | None = None
) -> list[tuple[str, str]]:
    headers = [
        ("content-disposition", "form-data; name=part"),
        (h.BATCH_INDEX, str(op.index)),
        (h.BATCH_KEY, encode_key(op.location.key)),
        (h.BATCH_KIND, op.kind),
        (h.BATCH_STATUS, status_line(status)),
    ]
    headers.extend(extra or [])
    return headers


def _part(
    boundary: str,
    op: Operation,
    status: int,
    extra: list[tuple[str, str]] | None = None,
    body: bytes = b"",
) -> bytes:
    return formdata.encode_part(boundary, _headers(op, status, extra), body)


def _ascii_header(part: formdata.FormPart, name: str) -> str | None:
    value = part.headers.get(name)
    if value is not None and not (value.isascii() and value.isprintable()):
        raise _bad(f"bad request: unable to convert {name} header value to string")
    return value


def parse_operation(part: formdata.FormPart, index: int, route: Route) -> Operation:
    """The operation a part describes; ``ProtocolError`` 400/413 when it is invalid.

    Every header of the part must be one HTTP could carry (:func:`check_header`), as
    for a single-object request: a name like ``x-snme-a b`` is a 400 for the part.
    """
    for name, value in part.headers:
        try:
            check_header(name, value)
        except ProtocolError as error:
            raise _bad(f"bad request: {error.detail.removeprefix('client error: ')}") from None
    kind = _ascii_header(part, h.BATCH_KIND)
    if kind is None:
        raise _bad(f"bad request: missing {h.BATCH_KIND} header")
    kind = kind.lower()
    raw_key = _ascii_header(part, h.BATCH_KEY)
    key = None
    if raw_key is not None:
        try:
            key = unquote_to_bytes(raw_key).decode("utf-8")
        except UnicodeDecodeError:
            raise _bad(
                f"bad request: unable to percent-decode {h.BATCH_KEY} header value"
            ) from None
    if kind not in _PERMISSIONS:
        raise _bad(f"bad request: invalid operation kind: {kind}")
    if kind != "insert":
        if not key:
            raise _bad(f"bad request: missing {h.BATCH_KEY} header for {kind} operation")
        return Operation(index, kind, ObjectLocation(route.usecase, route.scopes, key))
    try:
        metadata = parse_metadata(part.headers)
    except ProtocolError as error:
        raise _bad(f"metadata error: {error.detail.removeprefix('client error: ')}") from None
    payload = part.read_limited(MAX_INSERT_BYTES)
    if payload is None:
        raise _bad(
            "batch limit exceeded: individual request in batch exceeds body size limit of "
            f"{MAX_INSERT_BYTES} bytes",
            413,
        )
    location = ObjectLocation(route.usecase, route.scopes, key or str(uuid.uuid4()))
    return Operation(index, kind, location, metadata, payload)


def _object_headers(metadata: ObjectMetadata, size: int) -> list[tuple[str, str]]:
    return [(n, v) for n, v in metadata_headers(metadata, size) if n not in _NOT_IN_PARTS]


def _boundary(request: Request) -> str:
    """The request's form-data boundary; anything else is a whole-request plain-text 400,
    as the real server's form-data extractor answers."""
    try:
        return formdata.parse_boundary(request.headers.get(h.CONTENT_TYPE))
    except formdata.FormDataError:
        raise ProtocolError(
            400, "Invalid `boundary` for `multipart/form-data` request", body="text"
        ) from None


class StreamedPart:
    """A response part whose body streams from an open stored object; closes it at the end.

    Iterate it once; :meth:`close` releases the object when the part is dropped unsent.
    """

    def __init__(self, head: bytes, stored: StoredObject) -> None:
        self._head = head
        self._stored = stored
        self._closed = False

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield self._head
            yield from self._stored.iter_bytes()
            yield formdata.PART_END
        finally:
            self.close()

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._stored.close()


PartOut = bytes | StreamedPart
"""An encoded response part, or one that streams its body."""


def execute(engine: Engine, op: Operation, now: datetime, boundary: str) -> PartOut:
    """Run one checked operation and encode its response part."""
    if op.kind == "insert":
        engine.insert(op.location, op.metadata, BytesBody(op.payload), now)
        return _part(boundary, op, 201)
    if op.kind == "delete":
        engine.delete(op.location)
        return _part(boundary, op, 204)
    found = engine.read(op.location, now)
    if found is None:
        return _part(boundary, op, 404)
    try:
        headers = _object_headers(found.metadata, found.size)
        if op.kind == "head":
            found.close()
            return _part(boundary, op, 204, headers)
        return StreamedPart(formdata.encode_part_head(boundary, _headers(op, 200, headers)), found)
    except BaseException:
        found.close()
        raise


class _Batch:
    """One batch request's parsing, checks and execution."""

    def __init__(
        self,
        engine: Engine,
        workers: Executor,
        request: Request,
        auth: AuthContext,
        route: Route,
    ) -> None:
        self.engine = engine
        self.workers = workers
        self.auth = auth
        self.route = route
        self.boundary = formdata.new_boundary()
        self.reader = formdata.FormDataReader(request.body, _boundary(request))
        self.now = engine.now()

    def operations(self) -> Generator[Operation | bytes, None, None]:
        """Checked operations in request order, or finished error parts."""
        index = 0
        while True:
            try:
                part = self.reader.next_part()
            except formdata.FormDataError as error:
                yield _error_part(self.boundary, index, _bad(f"multipart error: {error}"))
                return
            if part is None:
                return
            try:
                if index >= MAX_OPERATIONS:
                    raise _bad(
                        "batch limit exceeded: exceeded "
                        f"{MAX_OPERATIONS} operations per batch request",
                        413,
                    )
                op = parse_operation(part, index, self.route)
                self.auth.require(_PERMISSIONS[op.kind], op.location)
                if op.kind == "insert":
                    self.engine.validate_policy(self.route.usecase, op.metadata.expiration)
            except formdata.FormDataError as error:
                yield _error_part(self.boundary, index, _bad(f"multipart error: {error}"))
                return
            except ProtocolError as error:
                yield _error_part(self.boundary, index, error)
            else:
                yield op
            index += 1

    def run(self, op: Operation, results: queue.SimpleQueue[PartOut]) -> None:
        try:
            results.put(execute(self.engine, op, self.now, self.boundary))
        except ProtocolError as error:
            results.put(_error_part(self.boundary, op.index, error))
        except Exception as error:
            failure = ProtocolError(500, f"service error: {error}")
            results.put(_error_part(self.boundary, op.index, failure))

    def stream(self) -> Iterator[bytes]:
        """Response parts in completion order, then the closing delimiter."""
        results: queue.SimpleQueue[PartOut] = queue.SimpleQueue()
        pending = 0
        exhausted = False
        executor = self.workers
        operations = self.operations()
        try:
            while True:
                while pending and not results.empty():
                    pending -= 1
                    yield from _chunks(results.get())
                if not exhausted and pending < MAX_IN_FLIGHT:
                    item = next(operations, None)
                    if item is None:
                        exhausted = True
                    elif isinstance(item, bytes):
                        yield item
                    else:
                        pending += 1
                        if item.kind in _INLINE_KINDS:
                            self.run(item, results)
                        else:
                            executor.submit(self.run, item, results)
                    continue
                if not pending:
                    break
                pending -= 1
                yield from _chunks(results.get())
            yield formdata.closing_delimiter(self.boundary)
        finally:
            # Operations already handed to the shared pool still run to completion;
            # gets answered but not sent (the client went away) release their objects.
            operations.close()
            while not results.empty():
                unsent = results.get()
                if isinstance(unsent, StreamedPart):
                    unsent.close()


def _chunks(part: PartOut) -> Iterator[bytes]:
    if isinstance(part, bytes):
        yield part
        return
    with closing(part):
        yield from part


def handle(
    engine: Engine, workers: Executor, request: Request, auth: AuthContext, route: Route
) -> Response:
    """Serve one batch request; inserts and deletes run on ``workers``."""
    batch = _Batch(engine, workers, request, auth, route)
    headers = [(h.CONTENT_TYPE, formdata.content_type_for(batch.boundary))]
    return Response(200, headers, batch.stream())
