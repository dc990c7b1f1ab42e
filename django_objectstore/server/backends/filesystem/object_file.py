"""An open object file of the filesystem backend: metadata plus a payload read by offset."""

from __future__ import annotations

import errno
import os
from collections.abc import Iterator
from types import TracebackType

from django_objectstore.server.backends.filesystem.fileops import CHUNK
from django_objectstore.server.backends.records import ObjectMetadata


class FileObject:
    """An open object file: metadata plus the payload, read with ``pread``.

    The descriptor is closed when an ``iter_bytes`` iterator is exhausted or closed,
    or when :meth:`close` is called, whichever comes first.
    """

    def __init__(
        self,
        fd: int,
        metadata: ObjectMetadata,
        offset: int,
        size: int,
        slot_offset: int | None = None,
    ):
        self.metadata = metadata
        self.size = size
        self.slot_offset = slot_offset
        """Where the file's renewal slot is (:mod:`.format`); ``None`` in older files."""
        self._fd = fd
        self._offset = offset

    @property
    def closed(self) -> bool:
        return self._fd < 0

    def fileno(self) -> int:
        return self._fd

    @property
    def payload_offset(self) -> int:
        return self._offset

    def iter_bytes(self, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        if self._fd < 0:
            raise ValueError("the object was closed; call backend.get() again to read it")
        start = max(0, start)
        end = self.size if end is None else max(start, min(end, self.size))
        return _Chunks(self, start, end)

    def read_at(self, position: int, count: int) -> bytes:
        return os.pread(self._fd, count, self._offset + position)

    def close(self) -> None:
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)

    def __enter__(self) -> FileObject:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class _Chunks:
    """Iterator over a byte range; closing it (or reaching the end) closes the file."""

    def __init__(self, owner: FileObject, start: int, end: int) -> None:
        self._owner = owner
        self._position = start
        self._end = end

    def __iter__(self) -> _Chunks:
        return self

    def __next__(self) -> bytes:
        if self._position >= self._end or self._owner.closed:
            self._owner.close()
            raise StopIteration
        try:
            chunk = self._owner.read_at(self._position, min(CHUNK, self._end - self._position))
        except BaseException:
            self._owner.close()
            raise
        if not chunk:
            self._owner.close()
            raise OSError(errno.EIO, "object file is shorter than its recorded size")
        self._position += len(chunk)
        return chunk

    def close(self) -> None:
        self._owner.close()
