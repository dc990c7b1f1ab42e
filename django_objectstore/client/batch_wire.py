"""The batch endpoint's per-operation wire format: operations to parts, parts to results.

Kept apart from the scheduling in :mod:`django_objectstore.client.batch` so each can be
read alone. Nothing here sends a request.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import BinaryIO
from urllib.parse import unquote

import zstandard

from django_objectstore.client.channel import Channel
from django_objectstore.client.compression import remaining_size
from django_objectstore.client.errors import RequestError, error_for_status, status_text
from django_objectstore.client.metadata import Metadata
from django_objectstore.client.usecase import Compression
from django_objectstore.wire import headers as h
from django_objectstore.wire.expiration import ExpirationPolicy
from django_objectstore.wire.paths import quote_path
from django_objectstore.wire.scopes import format_scopes

MAX_PART_BYTES = 1024 * 1024
"""The server refuses batch inserts whose stored payload exceeds 1 MiB."""
_ZSTD_BLOCK = 128 * 1024


@dataclass(frozen=True)
class Get:
    key: str
    decompress: bool = True


@dataclass(frozen=True)
class Head:
    key: str


@dataclass(frozen=True)
class Delete:
    key: str


@dataclass(frozen=True)
class Keepalive:
    """Touch an object so its time-to-idle deadline is renewed (sent as a batch HEAD)."""

    key: str


@dataclass(frozen=True)
class Put:
    contents: bytes | BinaryIO
    key: str | None = None
    compression: Compression | None = None
    content_type: str | None = None
    metadata: Mapping[str, str] | None = None
    expiration_policy: ExpirationPolicy | None = None
    origin: str | None = None
    filename: str | None = None


Operation = Get | Head | Delete | Keepalive | Put


@dataclass
class OperationResult:
    """The outcome of one operation.

    ``index`` is the operation's position in the caller's input. ``found`` tells whether
    a get/head/keepalive found the object; it is ``True`` for successful puts and
    ``False`` for deletes and failures. ``payload`` holds a found get's bytes
    (decompressed unless the :class:`Get` said otherwise). ``error`` is set on failure.
    """

    index: int
    operation: Operation
    key: str | None
    status: int | None = None
    found: bool = False
    metadata: Metadata | None = None
    payload: bytes | None = None
    error: Exception | None = field(default=None)

    @property
    def ok(self) -> bool:
        return self.error is None


def kind_of(operation: Operation) -> str:
    if isinstance(operation, Get):
        return "get"
    if isinstance(operation, Put):
        return "insert"
    if isinstance(operation, Delete):
        return "delete"
    if isinstance(operation, Head | Keepalive):
        return "head"
    raise TypeError(f"not a batch operation: {operation!r} (use Get, Head, Delete, Keepalive, Put)")


def zstd_bound(n: int) -> int:
    """zstd's worst-case compressed size for ``n`` input bytes (``ZSTD_COMPRESSBOUND``)."""
    return n + (n >> 8) + ((_ZSTD_BLOCK - n) >> 11 if n < _ZSTD_BLOCK else 0)


def effective_compression(channel: Channel, put: Put) -> str:
    return put.compression or channel.usecase.compression


def put_source_size(put: Put) -> int | None:
    """Bytes left in the put's contents; ``None`` for streams of unknown size."""
    contents = put.contents
    if isinstance(contents, bytes | bytearray | memoryview):
        return len(contents)
    return remaining_size(contents)


def batch_estimate(channel: Channel, put: Put) -> int | None:
    """Estimated stored size if the put fits a batch part, else ``None`` (single request)."""
    size = put_source_size(put)
    if size is None:
        return None
    if effective_compression(channel, put) == "zstd":
        size = zstd_bound(size)
    return size if size <= MAX_PART_BYTES else None


def encode_key(key: str) -> str:
    """Percent-encode a key for ``x-sn-batch-operation-key`` (the server decodes it)."""
    return quote_path(key)


def operation_part(channel: Channel, operation: Operation) -> tuple[list[tuple[str, str]], bytes]:
    """The headers and body of one request part; a put's payload is read (and compressed) now."""
    headers = [(h.BATCH_KIND, kind_of(operation))]
    if not isinstance(operation, Put):
        headers.append((h.BATCH_KEY, encode_key(operation.key)))
        return headers, b""
    if operation.key:
        headers.append((h.BATCH_KEY, encode_key(operation.key)))
    compression = effective_compression(channel, operation)
    headers.extend(
        channel.write_headers(
            compression=compression,
            content_type=operation.content_type,
            metadata=operation.metadata,
            expiration_policy=operation.expiration_policy,
            origin=operation.origin,
            filename=operation.filename,
        ).items()
    )
    contents = operation.contents
    data = (
        bytes(contents) if isinstance(contents, bytes | bytearray | memoryview) else contents.read()
    )
    if compression == "zstd":
        data = zstandard.ZstdCompressor().compress(data)
    return headers, data


def describe(channel: Channel, operation: Operation, key: str | None) -> str:
    scope = format_scopes(channel.scopes)
    where = f"{channel.usecase.name}/{scope}" + (f"/{key}" if key else "")
    return f"batch {kind_of(operation)} of {where} on {channel.transport.base_url}"


def result_from_part(
    channel: Channel,
    index: int,
    operation: Operation,
    headers: Mapping[str, str],
    body: bytes,
) -> OperationResult:
    """Interpret one response part for the operation it answers."""
    raw_key = headers.get(h.BATCH_KEY)
    key = unquote(raw_key) if raw_key is not None else getattr(operation, "key", None)
    status = parse_status(headers.get(h.BATCH_STATUS))
    result = OperationResult(index, operation, key, status)
    if status is None:
        result.error = RequestError(
            f"{describe(channel, operation, key)}: response part without a valid status"
        )
    elif status == 404 and isinstance(operation, Get | Head | Keepalive):
        pass  # not found is a result, not an error
    elif status >= 400:
        text = body.decode("utf-8", "replace")
        message = f"{describe(channel, operation, key)} failed: {status_text(status)}: {text}"
        result.error = error_for_status(status, message, text)
    elif isinstance(operation, Delete):
        pass
    else:
        result.found = True
        if isinstance(operation, Get | Head):  # a keepalive reports only ``found``
            result.metadata = Metadata.from_headers(headers)
        if isinstance(operation, Get):
            result.payload = _get_payload(operation, result, body)
    return result


def _get_payload(operation: Get, result: OperationResult, body: bytes) -> bytes:
    metadata = result.metadata
    if not operation.decompress or metadata is None or metadata.compression is None:
        return body
    if metadata.compression != "zstd":
        raise NotImplementedError(f"cannot decompress content-encoding {metadata.compression!r}")
    reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(body), read_across_frames=True)
    result.metadata = dataclasses.replace(metadata, compression=None)
    return reader.read()


def parse_status(value: str | None) -> int | None:
    """``"404 Not Found"`` -> 404; ``None`` when missing or malformed."""
    if not value:
        return None
    head = value.strip().split(" ", 1)[0]
    return int(head) if head.isdigit() and len(head) == 3 else None


def parse_index(value: str | None) -> int | None:
    if value is None or not value.strip().isdigit():
        return None
    return int(value.strip())
