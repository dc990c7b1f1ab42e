"""Large uploads that survive dropped connections: a seekable file sent in parts.

The file is cut into parts of ``part_size`` bytes. Each part is compressed as its own
zstd frame (a concatenation of frames is a valid zstd stream, and readers decode
across frames), uploaded with bounded concurrency and, when the connection drops or
the server answers 5xx/429, read again from the file and re-sent, up to
``part_retries`` times. When every part is in, the upload is completed; on a final
failure it is aborted so the server can discard the parts.

Resumable uploads (``upload_type=resumable``) are not used: the development server
does not offer them and multipart gives the same robustness with the real objectstore.
Memory: at most ``concurrency`` parts are held at once, each as raw and compressed bytes.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import BinaryIO

import zstandard

from django_objectstore.client.channel import HasChannel
from django_objectstore.client.compression import remaining_size
from django_objectstore.client.errors import (
    ObjectstoreConnectionError,
    RateLimited,
    RequestError,
    ServerUnavailable,
)
from django_objectstore.client.multipart import MultipartUpload, initiate_multipart_upload
from django_objectstore.wire.expiration import ExpirationPolicy

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_PART_SIZE",
    "put_large",
    "uses_multipart",
]

DEFAULT_PART_SIZE = 16 * 1024 * 1024
DEFAULT_CONCURRENCY = 4
DEFAULT_PART_RETRIES = 3
_MAX_BACKOFF = 4.0


def uses_multipart(contents: object, threshold: int | None) -> bool:
    """Whether ``Session.put`` should hand ``contents`` to :func:`put_large`.

    ``threshold``: the smallest remaining size (bytes) sent in parts; ``None`` = never.
    """
    if threshold is None or isinstance(contents, bytes | bytearray | memoryview):
        return False
    if not hasattr(contents, "read"):
        return False
    try:
        size = remaining_size(contents)  # type: ignore[arg-type]
    except (OSError, ValueError, AttributeError):
        return False  # e.g. a closed or half-implemented file: let the normal upload decide
    return size is not None and size >= threshold


class _PartReader:
    """Reads parts of a shared file from any thread (seek and read under a lock)."""

    def __init__(self, file: BinaryIO, start: int, size: int, part_size: int) -> None:
        self._file = file
        self._start = start
        self._size = size
        self._part_size = part_size
        self._lock = threading.Lock()
        self.count = max(1, -(-size // part_size))

    def read(self, part_number: int) -> bytes:
        offset = (part_number - 1) * self._part_size
        length = min(self._part_size, self._size - offset)
        with self._lock:
            self._file.seek(self._start + offset)
            data = self._file.read(length)
        if len(data) != length:
            raise ValueError(
                f"the file changed during the upload: part {part_number} should have "
                f"{length} bytes, read {len(data)}"
            )
        return data


def _transient(error: Exception) -> bool:
    return isinstance(error, ObjectstoreConnectionError | ServerUnavailable | RateLimited)


def _upload_part(
    upload: MultipartUpload, reader: _PartReader, number: int, compress: bool, retries: int
) -> str:
    attempt = 0
    while True:
        data = reader.read(number)
        if compress:
            data = zstandard.ZstdCompressor().compress(data)
        try:
            return upload.put_part(data, number)
        except Exception as error:
            if attempt >= retries or not _transient(error):
                raise
            del data
            if not isinstance(error, ObjectstoreConnectionError):
                time.sleep(min(_MAX_BACKOFF, 0.25 * 2**attempt))
            attempt += 1


def put_large(
    session: HasChannel,
    file: BinaryIO,
    *,
    key: str | None = None,
    part_size: int = DEFAULT_PART_SIZE,
    compression: str | None = None,
    content_type: str | None = None,
    metadata: Mapping[str, str] | None = None,
    expiration_policy: ExpirationPolicy | None = None,
    origin: str | None = None,
    filename: str | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    part_retries: int = DEFAULT_PART_RETRIES,
) -> str:
    """Upload the rest of a seekable ``file`` as a multipart upload; return the key.

    Arguments as for ``Session.put``, plus ``part_size`` (bytes per part before
    compression; S3/GCS backends need at least 5 MiB for every part but the last),
    ``concurrency`` (parts in flight) and ``part_retries`` (re-sends of one part after a
    dropped connection, 5xx or 429).
    """
    if part_size < 1:
        raise ValueError(f"part_size must be a positive byte count, got {part_size!r}")
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {concurrency!r}")
    if part_retries < 0:
        raise ValueError(f"part_retries must be >= 0, got {part_retries!r}")
    size = remaining_size(file)
    if size is None:
        raise ValueError("put_large needs a seekable file opened in binary mode")
    compression = compression or session.channel.usecase.compression
    reader = _PartReader(file, file.tell(), size, part_size)
    upload = initiate_multipart_upload(
        session,
        key,
        compression=compression,
        content_type=content_type,
        metadata=metadata,
        expiration_policy=expiration_policy,
        origin=origin,
        filename=filename,
    )
    try:
        etags = _upload_parts(upload, reader, compression == "zstd", concurrency, part_retries)
        return upload.complete(etags)
    except BaseException:
        # The original failure is what the caller needs to see.
        with contextlib.suppress(RequestError):
            upload.abort()
        raise


def _upload_parts(
    upload: MultipartUpload, reader: _PartReader, compress: bool, concurrency: int, retries: int
) -> dict[int, str]:
    etags: dict[int, str] = {}
    numbers = iter(range(1, reader.count + 1))
    with ThreadPoolExecutor(concurrency, thread_name_prefix="objectstore-part") as pool:
        running: dict[Future[str], int] = {}
        try:
            while True:
                while len(running) < concurrency:
                    number = next(numbers, None)
                    if number is None:
                        break
                    future = pool.submit(_upload_part, upload, reader, number, compress, retries)
                    running[future] = number
                if not running:
                    return etags
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    etags[running.pop(future)] = future.result()
        finally:
            for future in running:
                future.cancel()
