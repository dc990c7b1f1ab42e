"""The bodies of ``Session.put`` and ``Session.get``: what goes up and what comes down.

Up: the recorded encoding and whether to compress here, the streamed request body,
and the sizes reported to metrics. Down: the payload stream, decompressed on the fly
unless the caller accepts the stored encoding.
"""

from __future__ import annotations

import io
import itertools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import BinaryIO, cast

from django_objectstore.client.compression import (
    ONE_SHOT_LIMIT,
    SMALL_DOWNLOAD,
    CountingChunks,
    Payload,
    Source,
    compress_once,
    compress_stream,
    decompress_reader,
    decompress_small,
    is_compressed_type,
    iter_source,
    remaining_size,
    worth_compressing,
)
from django_objectstore.client.metadata import GetResponse, Metadata
from django_objectstore.client.metrics import OperationMetrics
from django_objectstore.client.transports import RequestBody, TransportResponse
from django_objectstore.client.usecase import Usecase, validate_compression
from django_objectstore.wire import headers as h

__all__ = [
    "UploadPlan",
    "choose_encoding",
    "get_response",
    "known_length",
    "plan_upload",
    "range_header",
    "record_put",
    "stored_key",
]


def choose_encoding(
    usecase: Usecase, compression: str | None, compress: str | None, precompressed: str | None
) -> tuple[str, bool, bool]:
    """(recorded encoding, whether to compress here, whether zstd may be skipped).

    zstd may be skipped (:func:`plan_upload` decides) when it comes from the usecase's
    default; a ``compression="zstd"`` passed to the call is always honoured.
    ``ValueError`` for bad combinations.
    """
    if compression is not None and compress is not None:
        raise ValueError("pass compression or its alias compress, not both")
    chosen = compression if compression is not None else compress
    if precompressed is not None:
        if chosen is not None:
            raise ValueError("pass compression or precompressed, not both")
        if precompressed != "zstd":
            raise ValueError(f"invalid precompressed {precompressed!r}: use 'zstd'")
        return "zstd", False, False
    encoding = validate_compression(chosen if chosen is not None else usecase.compression)
    return encoding, encoding == "zstd", chosen is None


@dataclass
class UploadPlan:
    """What ``Session.put`` sends: the body, its recorded encoding, sizes for metrics."""

    body: RequestBody
    encoding: str
    """``"zstd"`` or ``"none"``: the ``Content-Encoding`` the object is stored with."""
    compressed_here: bool
    length: int | None = None
    """A ``Content-Length`` to declare for a streamed body (``bytes`` carry their own)."""
    counter: CountingChunks | None = None
    """Counts a streamed body's bytes (and, compressed here, its source's)."""
    source_size: int | None = None


def plan_upload(
    contents: bytes | BinaryIO | Iterable[bytes],
    encoding: str,
    compress_here: bool,
    may_skip: bool,
    content_type: str | None,
) -> UploadPlan:
    """How to send ``contents``: one shot with a ``Content-Length`` where the size is
    known and small, streamed otherwise; zstd only where it helps (when ``may_skip``).

    - Already-compressed content types are sent as they are.
    - Payloads of known size up to :data:`ONE_SHOT_LIMIT` are read into memory and
      compressed in one call; if that does not shrink them (or they start like a
      compressed format) they are sent as they are.
    - Larger and unsized payloads stream; the first block decides whether zstd helps.
    """
    if compress_here and may_skip and is_compressed_type(content_type):
        encoding, compress_here = "none", False
    data = _in_memory(contents, ONE_SHOT_LIMIT if compress_here else SMALL_FILE)
    if data is not None and (not compress_here or len(data) <= ONE_SHOT_LIMIT):
        if not compress_here:
            return UploadPlan(data, encoding, False)
        packed = compress_once(data)
        if may_skip and not worth_compressing(data, packed):
            return UploadPlan(data, "none", False, source_size=len(data))
        return UploadPlan(packed, "zstd", True, source_size=len(data))
    source: Source = data if data is not None else contents
    length = None if data is not None else known_length(contents)
    if compress_here and may_skip:
        chunks = iter_source(source)
        first = next(chunks, b"")
        source = itertools.chain((first,), chunks)
        if not worth_compressing(first):
            encoding, compress_here = "none", False
    if compress_here:
        counter: CountingChunks = compress_stream(source)
        return UploadPlan(counter, encoding, True, counter=counter)
    if data is not None:
        return UploadPlan(data, encoding, False)
    counter = CountingChunks(iter_source(source))
    return UploadPlan(counter, encoding, False, length=length, counter=counter)


def _in_memory(contents: object, limit: int) -> bytes | None:
    """``contents`` as bytes if it is bytes, or a seekable file with at most ``limit``
    bytes left (read now: headers and body then leave in one write); else ``None``."""
    if isinstance(contents, bytes):
        return contents
    if isinstance(contents, bytearray | memoryview):
        return bytes(contents)
    length = known_length(contents)
    if length is not None and length <= limit:
        return _read_up_to(cast(BinaryIO, contents), length)
    return None


def _read_up_to(file: BinaryIO, length: int) -> bytes:
    parts = []
    while length > 0 and (chunk := file.read(length)):
        parts.append(chunk)
        length -= len(chunk)
    return b"".join(parts)


SMALL_FILE = 64 * 1024
"""Seekable uploads sent without compression up to this size are read into memory and
sent in one piece."""


def range_header(byte_range: tuple[int, int | None]) -> str:
    """``bytes=first-last`` for a ``(first, last)`` pair (``last`` ``None``: to the end)."""
    first, last = byte_range
    if first < 0 or (last is not None and last < first):
        raise ValueError(f"invalid byte_range {byte_range!r}: need 0 <= first <= last")
    return f"bytes={first}-{'' if last is None else last}"


def known_length(contents: object) -> int | None:
    """The bytes left in a seekable binary file, else ``None`` (streams are chunked)."""
    if not hasattr(contents, "read"):
        return None
    try:
        return remaining_size(cast(BinaryIO, contents))
    except (OSError, ValueError):
        return None


def stored_key(response: TransportResponse) -> str:
    """The key in a PUT/POST response (``{"key": ...}``); closes the response."""
    try:
        result = json.loads(response.read())
    finally:
        response.close()
    return str(result["key"])


def record_put(metrics: OperationMetrics, plan: UploadPlan, precompressed: bool) -> None:
    """Report the source and encoded sizes of an upload, where they are known."""
    metrics.compression = plan.encoding
    body, counter = plan.body, plan.counter
    if plan.compressed_here:
        metrics.source = plan.source_size
        if counter is not None:
            metrics.source = getattr(counter, "source_size", None)
        metrics.compressed = (
            len(body) if isinstance(body, bytes) else getattr(counter, "size", None)
        )
        return
    size = len(body) if isinstance(body, bytes) else getattr(counter, "size", None)
    if precompressed:
        metrics.compressed = size
    else:
        metrics.source = size


def get_response(
    response: TransportResponse, decompress: bool, accept_encoding: Sequence[str] | None
) -> GetResponse:
    """Wrap a found object's response; zstd is decoded while reading unless accepted.

    The response is closed when its metadata cannot be parsed or its encoding cannot
    be decoded.
    """
    try:
        metadata = Metadata.from_headers(response.headers)
    except ValueError:
        response.close()
        raise
    encoding = metadata.compression
    accepted = accept_encoding is not None and (
        "*" in accept_encoding or encoding in accept_encoding
    )
    if encoding and decompress and not accepted:
        if encoding != h.ZSTD:
            response.close()
            raise NotImplementedError(f"cannot decompress {encoding!r} payloads (only zstd)")
        metadata.compression = None
        length = response.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) <= SMALL_DOWNLOAD:
            # Small: read now and decode in one call (no stream decoder to set up).
            try:
                data = response.read()
            finally:
                response.close()
            decoded = decompress_small(data)
            if decoded is not None:
                return GetResponse(metadata, Payload(io.BytesIO(decoded)))
            return GetResponse(metadata, decompress_reader(io.BytesIO(data)))
        return GetResponse(metadata, decompress_reader(response))
    return GetResponse(metadata, Payload(response))
