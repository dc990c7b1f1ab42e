"""Many operations in few requests: the batch endpoint driven from Python.

``run_batch(session, operations)`` consumes ``operations`` lazily, packs them into
``multipart/form-data`` batch requests (at most ``max_operations`` operations and
``max_request_bytes`` of estimated body each), keeps up to ``concurrency`` requests in
flight on a thread pool, and yields one :class:`OperationResult` per operation as the
answers arrive (completion order; ``result.index`` is the position in the input).

The rules mirror the official Rust client: gets, heads, deletes and keepalives always
go in a batch; a put goes in a batch only when its size is known (bytes or a seekable
file) and its estimated stored size is at most 1 MiB (zstd's worst-case bound when
compressing), otherwise it runs as an ordinary ``session.put``. A failed batch request
fails only its own operations; an operation the server never answered gets a "no
response" error. Memory stays flat however many operations stream through: at most
``concurrency * max_operations`` operations are taken from the input ahead of the
results the caller has consumed.
"""

from __future__ import annotations

import queue
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import BinaryIO, Protocol

from django_objectstore.client.batch_wire import (
    Delete,
    Get,
    Head,
    Keepalive,
    Operation,
    OperationResult,
    Put,
    batch_estimate,
    describe,
    kind_of,
    operation_part,
    parse_index,
    result_from_part,
)
from django_objectstore.client.channel import Channel
from django_objectstore.client.errors import RequestError
from django_objectstore.client.usecase import Compression
from django_objectstore.wire import headers as h
from django_objectstore.wire.expiration import ExpirationPolicy
from django_objectstore.wire.formdata import (
    content_type_for,
    encode_form_data,
    new_boundary,
    parse_boundary,
    parse_form_data,
)

__all__ = [
    "MAX_OPERATIONS",
    "MAX_REQUEST_BYTES",
    "BatchSession",
    "Delete",
    "Get",
    "Head",
    "Keepalive",
    "Operation",
    "OperationResult",
    "Put",
    "run_batch",
]

MAX_OPERATIONS = 1000
"""The server answers operations past the 1000th of a request with 413."""
MAX_REQUEST_BYTES = 100 * 1024 * 1024
DEFAULT_CONCURRENCY = 3


class BatchSession(Protocol):
    """What :func:`run_batch` needs of a session: its channel, and ``put`` for the puts
    that cannot go in a batch."""

    @property
    def channel(self) -> Channel: ...

    def put(
        self,
        contents: bytes | BinaryIO,
        key: str | None = None,
        *,
        compression: Compression | None = None,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        expiration_policy: ExpirationPolicy | None = None,
        origin: str | None = None,
        filename: str | None = None,
    ) -> str: ...


@dataclass
class _Item:
    index: int
    operation: Operation
    size: int


class _Done:
    """Posted by a worker when its unit of work has reported every result."""


_DONE = _Done()


def run_batch(
    session: BatchSession,
    operations: Iterable[Operation],
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    max_operations: int = MAX_OPERATIONS,
    max_request_bytes: int = MAX_REQUEST_BYTES,
) -> Iterator[OperationResult]:
    """Run ``operations`` and yield their results in completion order (see the module doc)."""
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {concurrency!r}")
    if not 1 <= max_operations <= MAX_OPERATIONS:
        raise ValueError(f"max_operations must be between 1 and {MAX_OPERATIONS}")
    if max_request_bytes < 1:
        raise ValueError(f"max_request_bytes must be positive, got {max_request_bytes!r}")
    # Each of the ``concurrency`` threads keeps a connection of its own.
    session.channel.reserve_connections(concurrency)
    runner = _Runner(session, concurrency, max_operations, max_request_bytes)
    return runner.run(iter(operations))


class _Runner:
    def __init__(
        self, session: BatchSession, concurrency: int, max_operations: int, max_bytes: int
    ) -> None:
        self.session = session
        self.channel = session.channel
        self.concurrency = concurrency
        self.max_operations = max_operations
        self.max_bytes = max_bytes
        self.results: queue.SimpleQueue[OperationResult | _Done] = queue.SimpleQueue()
        self.in_flight = 0

    def run(self, operations: Iterator[Operation]) -> Iterator[OperationResult]:
        # One request at a time runs in the caller's thread: a thread per run would cost
        # more than it overlaps (nothing does), and an in-process store would open a new
        # database connection for each new thread.
        pool = (
            ThreadPoolExecutor(self.concurrency, thread_name_prefix="objectstore-batch")
            if self.concurrency > 1
            else None
        )
        # Invariant while a chunk is being filled: at most ``concurrency - 1`` units of
        # work are in flight, so the chunk has a slot and the operations taken from the
        # input but not yet answered stay below ``concurrency * max_operations``.
        try:
            chunk: list[_Item] = []
            chunk_bytes = 0
            for index, operation in enumerate(operations):
                try:
                    size = self._classify(operation)
                except Exception as error:
                    yield OperationResult(index, operation, _key(operation), error=error)
                    continue
                if size is None:
                    if chunk and self.concurrency == 1:
                        self._submit(pool, self._batch_request, chunk)
                        chunk, chunk_bytes = [], 0
                    yield from self._wait(self.concurrency - 1 - (1 if chunk else 0))
                    self._submit(pool, self._single_put, index, operation)
                    if not chunk:
                        yield from self._wait(self.concurrency - 1)
                    continue
                if chunk and chunk_bytes + size > self.max_bytes:
                    self._submit(pool, self._batch_request, chunk)
                    chunk, chunk_bytes = [], 0
                    yield from self._wait(self.concurrency - 1)
                chunk.append(_Item(index, operation, size))
                chunk_bytes += size
                if len(chunk) >= self.max_operations:
                    self._submit(pool, self._batch_request, chunk)
                    chunk, chunk_bytes = [], 0
                    yield from self._wait(self.concurrency - 1)
                yield from self._drain(block=False)
            if chunk:
                self._submit(pool, self._batch_request, chunk)
            yield from self._wait(0)
        finally:
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)

    def _classify(self, operation: Operation) -> int | None:
        """Estimated batch bytes, or ``None`` for a put that must go alone."""
        kind_of(operation)  # TypeError for anything that is not an operation
        if isinstance(operation, Put):
            return batch_estimate(self.channel, operation)
        return 0

    def _submit(self, pool: ThreadPoolExecutor | None, fn: object, *args: object) -> None:
        def work() -> None:
            try:
                fn(*args)  # type: ignore[operator]
            finally:
                self.results.put(_DONE)

        self.in_flight += 1
        if pool is None:
            work()  # concurrency 1: the caller waits for it before going on anyway
        else:
            pool.submit(work)

    def _wait(self, limit: int) -> Iterator[OperationResult]:
        """Yield results until at most ``limit`` units of work are in flight."""
        while self.in_flight > limit:
            yield from self._drain(block=True)

    def _drain(self, *, block: bool) -> Iterator[OperationResult]:
        while True:
            try:
                item = self.results.get(block=block)
            except queue.Empty:
                return
            if isinstance(item, _Done):
                self.in_flight -= 1
                if block:
                    return
                continue
            yield item

    def _single_put(self, index: int, put: Put) -> None:
        try:
            key = self.session.put(
                put.contents,
                key=put.key,
                compression=put.compression,
                content_type=put.content_type,
                metadata=put.metadata,
                expiration_policy=put.expiration_policy,
                origin=put.origin,
                filename=put.filename,
            )
        except Exception as error:
            self.results.put(OperationResult(index, put, put.key, _status(error), error=error))
            return
        status = 200 if put.key else 201
        self.results.put(OperationResult(index, put, key, status, found=True))

    def _batch_request(self, chunk: list[_Item]) -> None:
        # Inserts go first: the server then meets every (possibly large) get only after
        # the request body has been sent, so neither side waits on a full socket buffer.
        ordered = sorted(chunk, key=lambda item: not isinstance(item.operation, Put))
        pending = dict(enumerate(ordered))
        failure: Exception | None = None
        unattributable = 0
        try:
            boundary = new_boundary()
            parts = (operation_part(self.channel, item.operation) for item in ordered)
            response = self.channel.send(
                "POST",
                None,
                endpoint="objects:batch",
                headers={h.CONTENT_TYPE: content_type_for(boundary)},
                body=encode_form_data(parts, boundary),
            )
        except Exception as error:
            self._fail(pending, error)
            return
        try:
            if not 200 <= response.status < 300:
                raise RequestError(f"batch request answered {response.status}", response.status)
            stream = parse_form_data(response, parse_boundary(response.headers.get(h.CONTENT_TYPE)))
            for part in stream:
                position = parse_index(part.headers.get(h.BATCH_INDEX))
                item = pending.pop(position, None) if position is not None else None
                if item is None:
                    unattributable += 1
                    continue
                self.results.put(self._result(item, part.headers, part.body))
        except Exception as error:
            failure = error
        finally:
            response.close()
        if failure is None:
            note = (
                f" ({unattributable} response parts had no valid index)" if unattributable else ""
            )
            failure = RequestError(f"the server sent no response for this operation{note}")
        self._fail(pending, failure)

    def _result(self, item: _Item, headers: dict[str, str], body: bytes) -> OperationResult:
        try:
            return result_from_part(self.channel, item.index, item.operation, headers, body)
        except Exception as error:
            return OperationResult(item.index, item.operation, _key(item.operation), error=error)

    def _fail(self, pending: dict[int, _Item], cause: Exception) -> None:
        for item in pending.values():
            error = cause
            if not isinstance(cause, RequestError) or cause.status is None:
                message = f"{describe(self.channel, item.operation, _key(item.operation))}: {cause}"
                error = RequestError(message, _status(cause))
                error.__cause__ = cause
            self.results.put(
                OperationResult(
                    item.index, item.operation, _key(item.operation), _status(cause), error=error
                )
            )
        pending.clear()


def _key(operation: Operation) -> str | None:
    return getattr(operation, "key", None)


def _status(error: Exception) -> int | None:
    return error.status if isinstance(error, RequestError) else None
