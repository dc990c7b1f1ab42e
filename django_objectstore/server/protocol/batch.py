"""``POST /v1/objects:batch/{U}/{S}/``: many operations in one request (protocol-advanced §1).

The request is ``multipart/form-data``, one part per operation. Parts are parsed lazily;
at most :data:`MAX_IN_FLIGHT` operations are parsed but not yet answered, so memory
stays bounded (inserts are at most 1 MiB each). Response parts stream out in completion
order, each tagged with the operation's position in the request.

Reads (``get``, ``head``) run in the request's own thread, one after another: on the
local backends they take microseconds, less than handing them to another thread costs
(measured: a batch of keepalive heads ran twice as fast inline). Inserts and deletes,
which wait for ``fsync``, run on the app's shared pool so their flushes overlap.

Reads do not renew TTI deadlines one by one. A read of a TTI object is held
(:class:`Renewals`), and the renewals of the held reads are stored together by
:meth:`Engine.touch_many` (which decides which are due: debounce, TTL objects untouched),
one transaction on the tiered backend instead of one per read (measured:
``objectstore_keepalive`` of 100,000 objects on an embedded store took 19 s of CPU with
a commit per read, 12 s with one per batch). The held parts go out after that commit, so
a renewal that cannot be stored still fails its own read's part, as before. Held reads
are renewed when the batch ends, before an insert or delete starts (a write after a read
of the same key sees the renewal first), before the same key is read again (the second
read reports the renewed deadline), and once :data:`MAX_HELD_STREAMS` held gets keep
objects open (memory stays bounded).

A found ``get`` is answered by a :class:`StreamedPart`: its headers, then the stored
bytes chunk by chunk straight from the open object, so the server's memory does not
grow with the object's size (the real server buffers whole objects here).
"""

from __future__ import annotations

import queue
import uuid
from collections import deque
from collections.abc import Generator, Iterable, Iterator
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
from django_objectstore.wire.expiration import TimeToIdle

MAX_OPERATIONS = 1000
MAX_INSERT_BYTES = 1024 * 1024
MAX_IN_FLIGHT = 16
"""Operations parsed but not yet written to the response."""
MAX_HELD_STREAMS = MAX_IN_FLIGHT
"""Found gets (each holding an open object) held for a renewal before it is stored."""
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


_ASCII_ESCAPES = {code: f"%{code:02X}" for code in range(128) if not chr(code).isalnum()}


def encode_key(key: str) -> str:
    """Percent-encode every byte that is not an ASCII letter or digit (``a-b`` -> ``a%2Db``)."""
    if key.isascii():
        return key.translate(_ASCII_ESCAPES)  # one C call: batch responses echo every key
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


def run_write(engine: Engine, op: Operation, now: datetime, boundary: str) -> bytes:
    """Run an insert or a delete and encode its response part."""
    if op.kind == "insert":
        engine.insert(op.location, op.metadata, BytesBody(op.payload), now)
        return _part(boundary, op, 201)
    engine.delete(op.location)
    return _part(boundary, op, 204)


def run_read(
    engine: Engine, op: Operation, now: datetime, boundary: str
) -> tuple[PartOut, ObjectMetadata | None]:
    """Run a get or head without renewing; its part and the metadata read, if found."""
    if op.kind == "head":
        meta = engine.read_head(op.location, now)
        if meta is None:
            return _part(boundary, op, 404), None
        return _part(boundary, op, 204, _object_headers(meta.metadata, meta.size)), meta.metadata
    found = engine.read(op.location, now, touch=False)
    if found is None:
        return _part(boundary, op, 404), None
    try:
        headers = _object_headers(found.metadata, found.size)
        head = formdata.encode_part_head(boundary, _headers(op, 200, headers))
        return StreamedPart(head, found), found.metadata
    except BaseException:
        found.close()
        raise


def _failure_part(boundary: str, index: int, error: Exception) -> bytes:
    if not isinstance(error, ProtocolError):
        error = ProtocolError(500, f"service error: {error}")
    return _error_part(boundary, index, error)


def _close_unsent(parts: Iterable[PartOut]) -> None:
    for part in parts:
        if isinstance(part, StreamedPart):
            part.close()


class Renewals:
    """Answered reads of one batch whose TTI renewals are due, not yet stored.

    :meth:`hold` keeps a read's part; :meth:`flush` stores every held renewal in one
    :meth:`Engine.touch_many` call and returns the held parts to send, or, when the
    renewals could not be stored, an error part for each of those reads.
    """

    def __init__(self, engine: Engine, now: datetime, boundary: str) -> None:
        self.engine = engine
        self.now = now
        self.boundary = boundary
        self._reads: dict[ObjectLocation, ObjectMetadata] = {}
        self._parts: list[tuple[int, PartOut]] = []
        self._streams = 0

    def __contains__(self, location: ObjectLocation) -> bool:
        return location in self._reads

    @property
    def full(self) -> bool:
        """Enough open objects are held: flush before the next read."""
        return self._streams >= MAX_HELD_STREAMS

    def hold(self, op: Operation, part: PartOut, metadata: ObjectMetadata) -> None:
        self._reads[op.location] = metadata
        self._parts.append((op.index, part))
        self._streams += isinstance(part, StreamedPart)

    def flush(self) -> list[PartOut]:
        """Store the held renewals; the parts to send in their place."""
        if not self._parts:
            return []
        reads, parts = list(self._reads.items()), self._parts
        self._reads, self._parts, self._streams = {}, [], 0
        try:
            self.engine.touch_many(reads, self.now)
        except Exception as error:
            _close_unsent(part for _, part in parts)
            return [_failure_part(self.boundary, index, error) for index, _ in parts]
        except BaseException:
            _close_unsent(part for _, part in parts)
            raise
        return [part for _, part in parts]


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
        """Run an insert or a delete (on the shared pool) and queue its part."""
        try:
            results.put(run_write(self.engine, op, self.now, self.boundary))
        except Exception as error:
            results.put(_failure_part(self.boundary, op.index, error))

    def read(self, op: Operation, renewals: Renewals) -> PartOut | None:
        """Run a get or head; its part, or ``None`` when it waits in ``renewals``."""
        try:
            part, metadata = run_read(self.engine, op, self.now, self.boundary)
        except Exception as error:
            return _failure_part(self.boundary, op.index, error)
        if metadata is None or not isinstance(metadata.expiration, TimeToIdle):
            return part  # only TTI objects renew; touch_many decides which are due
        renewals.hold(op, part, metadata)
        return None

    def stream(self) -> Iterator[bytes]:
        """Response parts in completion order, then the closing delimiter."""
        results: queue.SimpleQueue[PartOut] = queue.SimpleQueue()
        renewals = Renewals(self.engine, self.now, self.boundary)
        outbox: deque[PartOut] = deque()  # parts ready to send, in order
        pending = 0
        exhausted = False
        executor = self.workers
        operations = self.operations()
        try:
            while True:
                while pending and not results.empty():
                    pending -= 1
                    outbox.append(results.get())
                yield from _drain(outbox)
                if not exhausted and pending < MAX_IN_FLIGHT:
                    item = next(operations, None)
                    if item is None:
                        exhausted = True
                        outbox.extend(renewals.flush())
                    elif isinstance(item, bytes):
                        outbox.append(item)
                    elif item.kind in _INLINE_KINDS:
                        if item.location in renewals or renewals.full:
                            outbox.extend(renewals.flush())
                        answered = self.read(item, renewals)
                        if answered is not None:
                            outbox.append(answered)
                    else:
                        outbox.extend(renewals.flush())
                        pending += 1
                        executor.submit(self.run, item, results)
                    continue
                if not pending:
                    break
                pending -= 1
                outbox.append(results.get())
            yield from _drain(outbox)
            yield formdata.closing_delimiter(self.boundary)
        finally:
            # Operations already handed to the shared pool still run to completion;
            # reads answered but not sent (the client went away) are still renewed, and
            # gets among them release their objects.
            operations.close()
            outbox.extend(renewals.flush())
            while not results.empty():
                outbox.append(results.get())
            _close_unsent(outbox)


def _drain(outbox: deque[PartOut]) -> Iterator[bytes]:
    while outbox:
        yield from _chunks(outbox.popleft())


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
