"""Streaming zstd: compress uploads and decompress downloads without buffering them.

Uploads become one zstd frame produced chunk by chunk; downloads are decoded across
frames (objects assembled from multipart parts hold one frame per part). Memory stays
at a few hundred KiB whatever the object size.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO, Protocol, cast

import zstandard

CHUNK_SIZE = 64 * 1024
"""Bytes read from an upload source at a time. Below glibc's 128 KiB mmap threshold:
larger buffers are mapped and unmapped per read and cost twice the CPU in page faults."""

Source = bytes | bytearray | memoryview | BinaryIO | Iterable[bytes]


class Readable(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...


def check_source(source: object) -> None:
    """``TypeError`` before any request for what cannot be uploaded (str, None, text files).

    A bad source found only while streaming would fail the request halfway, and over
    the in-process transports even look like a server error.
    """
    if isinstance(source, bytes | bytearray | memoryview):
        return
    if isinstance(source, str | io.TextIOBase):
        raise TypeError(
            "contents must be bytes, a binary file or an iterable of bytes; "
            "encode text first or open files in binary mode ('rb')"
        )
    if not hasattr(source, "read") and not isinstance(source, Iterable):
        raise TypeError(
            "contents must be bytes, a binary file or an iterable of bytes, "
            f"got {type(source).__name__}"
        )


def remaining_size(file: BinaryIO) -> int | None:
    """Bytes from the current position to the end of a seekable file, else ``None``."""
    seekable = getattr(file, "seekable", None)
    if seekable is None or not seekable():
        return None
    position = file.tell()
    end = file.seek(0, io.SEEK_END)
    file.seek(position)
    return max(0, end - position)


def iter_source(source: Source, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """The upload source as chunks: ``bytes`` sliced, files read, iterables passed on."""
    if isinstance(source, bytes | bytearray | memoryview):
        view = memoryview(source)
        for start in range(0, len(view), chunk_size):
            yield bytes(view[start : start + chunk_size])
        return
    read = getattr(source, "read", None)
    if read is not None:
        while chunk := read(chunk_size):
            if not isinstance(chunk, bytes | bytearray):
                raise TypeError(
                    f"upload source returned {type(chunk).__name__}; open files in binary mode"
                )
            yield bytes(chunk)
        return
    for chunk in source:
        if chunk:
            yield bytes(chunk)


class CountingChunks:
    """Iterate ``chunks`` and count the bytes (``.size``) for metrics."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self.size = 0

    def __iter__(self) -> Iterator[bytes]:
        return self

    def __next__(self) -> bytes:
        chunk = next(self._chunks)
        self.size += len(chunk)
        return chunk


class CompressedChunks(CountingChunks):
    """One zstd frame over ``source``; ``source_size`` and ``size`` count in and out."""

    def __init__(self, source: Source, level: int = 3) -> None:
        self._source = CountingChunks(iter_source(source))
        super().__init__(self._compress(level))

    @property
    def source_size(self) -> int:
        return self._source.size

    def _compress(self, level: int) -> Iterator[bytes]:
        compressor = zstandard.ZstdCompressor(level=level).compressobj()
        for chunk in self._source:
            out = compressor.compress(chunk)
            if out:
                yield out
        yield compressor.flush()


def compress_stream(source: Source) -> CompressedChunks:
    """Compress ``source`` on the fly into one zstd frame (an iterator of chunks)."""
    return CompressedChunks(source)


class Payload(io.RawIOBase):
    """A downloaded object as a read-only binary stream.

    ``read(n)``, ``readinto``, ``readall``, iteration (chunks of up to 64 KiB, not lines)
    and ``close`` (releases the connection). Also a context manager.
    """

    def __init__(self, source: Readable, *, on_close: Any = None) -> None:
        super().__init__()
        self._source = source
        self._on_close = on_close
        self.bytes_read = 0

    def readable(self) -> bool:
        return True

    def read(self, n: int | None = -1, /) -> bytes:
        if self.closed:
            raise ValueError("read from a closed payload")
        data = self._source.read(-1 if n is None else n)
        self.bytes_read += len(data)
        return data

    def readall(self) -> bytes:
        return self.read(-1)

    def readinto(self, buffer: Any, /) -> int:
        view = memoryview(buffer).cast("B")
        data = self.read(len(view))
        view[: len(data)] = data
        return len(data)

    def __iter__(self) -> Iterator[bytes]:
        while chunk := self.read(65536):
            yield chunk

    def close(self) -> None:
        if not self.closed:
            try:
                close = getattr(self._source, "close", None)
                if close is not None:
                    close()
                if self._on_close is not None:
                    self._on_close()
            finally:
                super().close()


def decompress_reader(raw: Readable) -> Payload:
    """Decode a zstd body (one or more frames) as it is read."""
    reader: Any = zstandard.ZstdDecompressor().stream_reader(
        cast(Any, raw), read_size=CHUNK_SIZE, read_across_frames=True, closefd=False
    )
    return Payload(reader, on_close=getattr(raw, "close", None))
