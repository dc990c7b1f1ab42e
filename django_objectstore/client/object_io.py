"""The bodies of ``Session.put`` and ``Session.get``: what goes up and what comes down.

Up: the recorded encoding and whether to compress here, the streamed request body,
and the sizes reported to metrics. Down: the payload stream, decompressed on the fly
unless the caller accepts the stored encoding.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import BinaryIO, cast

from django_objectstore.client.compression import (
    CountingChunks,
    Payload,
    Source,
    compress_stream,
    decompress_reader,
    iter_source,
    remaining_size,
)
from django_objectstore.client.metadata import GetResponse, Metadata
from django_objectstore.client.metrics import OperationMetrics
from django_objectstore.client.transports import RequestBody, TransportResponse
from django_objectstore.client.usecase import Usecase, validate_compression
from django_objectstore.wire import headers as h

__all__ = [
    "choose_encoding",
    "get_response",
    "known_length",
    "range_header",
    "record_put",
    "stored_key",
    "upload_body",
]


def choose_encoding(
    usecase: Usecase, compression: str | None, compress: str | None, precompressed: str | None
) -> tuple[str, bool]:
    """(recorded encoding, whether to compress here); ``ValueError`` for bad combinations."""
    if compression is not None and compress is not None:
        raise ValueError("pass compression or its alias compress, not both")
    chosen = compression if compression is not None else compress
    if precompressed is not None:
        if chosen is not None:
            raise ValueError("pass compression or precompressed, not both")
        if precompressed != "zstd":
            raise ValueError(f"invalid precompressed {precompressed!r}: use 'zstd'")
        return "zstd", False
    encoding = validate_compression(chosen if chosen is not None else usecase.compression)
    return encoding, encoding == "zstd"


def upload_body(
    contents: bytes | BinaryIO | Iterable[bytes], compress_here: bool
) -> tuple[RequestBody, CountingChunks | None]:
    """The request body for ``contents``, and the counter of its bytes when streamed.

    Small seekable files (at most :data:`SMALL_FILE` bytes left) are read into memory
    and sent like ``bytes``: headers and body then leave in one write.
    """
    counter: CountingChunks
    if compress_here:
        counter = compress_stream(contents)
    elif isinstance(contents, bytes | bytearray | memoryview):
        return bytes(contents), None
    else:
        length = known_length(contents)
        if length is not None and length <= SMALL_FILE:
            return _read_up_to(cast(BinaryIO, contents), length), None
        counter = CountingChunks(iter_source(contents))
    return counter, counter


def _read_up_to(file: BinaryIO, length: int) -> bytes:
    parts = []
    while length > 0 and (chunk := file.read(length)):
        parts.append(chunk)
        length -= len(chunk)
    return b"".join(parts)


SMALL_FILE = 64 * 1024
"""Seekable uploads up to this size are sent from memory in one piece."""


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


def record_put(
    metrics: OperationMetrics,
    contents: Source,
    body: RequestBody,
    counter: CountingChunks | None,
    encoding: str,
    compressed_here: bool,
) -> None:
    """Report the source and encoded sizes of an upload, where they are known."""
    metrics.compression = encoding
    if isinstance(body, bytes):
        size = len(body)
        metrics.source, metrics.compressed = (None, size) if encoding == "zstd" else (size, None)
    elif counter is not None:
        if compressed_here:
            metrics.source = getattr(counter, "source_size", None)
            metrics.compressed = counter.size
        elif encoding == "zstd":
            metrics.compressed = counter.size
        else:
            metrics.source = counter.size


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
        return GetResponse(metadata, decompress_reader(response))
    return GetResponse(metadata, Payload(response))
