"""The file layer of the tiered backend: every byte of a revision or part file goes here.

Payload bytes reach the disk through a :class:`FileLayer` (``write``, ``pwrite``,
``fsync``) from an :class:`Output` whose buffer is our own, so a failed write's file
is removed without flushing anything more: a full disk (``ENOSPC``) cannot stop its
own cleanup. Tests hand the backend a :class:`FileLayer` that fails like a full disk.
POSIX only (``fsync`` of directories).
"""

from __future__ import annotations

import errno
import os
from contextlib import suppress

CHUNK = 64 * 1024
"""Bytes buffered before a write reaches the disk."""
BULK = 1024 * 1024
"""Bytes per read of a revision file or of a large request body: each read is one
handoff between the HTTP layer's threads, so large ones keep large transfers cheap."""
DIR_MODE = 0o700
FILE_MODE = 0o600
CLOEXEC = getattr(os, "O_CLOEXEC", 0)
NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class FileLayer:
    """The system calls that put payload bytes on disk; one instance per backend.

    A subclass may fail them the way a disk does (``OSError(errno.ENOSPC)`` once a
    budget is spent), which is how the tests fill a disk without filling one.
    """

    def write(self, fd: int, data: memoryview) -> int:
        """Write some of ``data`` at the file position; how many bytes were written."""
        return os.write(fd, data)

    def pwrite(self, fd: int, data: bytes, offset: int) -> int:
        """Write some of ``data`` at ``offset``; how many bytes were written."""
        return os.pwrite(fd, data, offset)

    def fsync(self, fd: int) -> None:
        os.fsync(fd)


class Output:
    """A write-only descriptor with a buffer of our own (not Python's ``BufferedWriter``).

    :meth:`discard` drops what is buffered and closes without writing: the cleanup
    after a failed write never writes again. ``io.BufferedWriter.close`` would flush
    first and raise ``ENOSPC`` a second time, before the caller could unlink the file.
    """

    def __init__(self, fd: int, files: FileLayer) -> None:
        self.fd = fd
        self._files = files
        self._buffer = bytearray()
        self._closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._buffer and len(data) >= CHUNK:
            self._write_all(memoryview(data))
            return
        self._buffer += data
        if len(self._buffer) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        if self._buffer:
            self._write_all(memoryview(self._buffer))
            self._buffer = bytearray()

    def _write_all(self, view: memoryview) -> None:
        with view:
            while view:
                written = self._files.write(self.fd, view)
                if written <= 0:
                    raise OSError(errno.EIO, "the disk accepted no bytes")
                view = view[written:]

    def sync(self, *, fsync: bool = True) -> None:
        self.flush()
        if fsync:
            self._files.fsync(self.fd)

    def close(self) -> None:
        """Flush and close (what a successful writer does last)."""
        if self._closed:
            return
        try:
            self.flush()
        finally:
            self.discard()

    def discard(self) -> None:
        """Close without writing what is buffered; never raises."""
        if self._closed:
            return
        self._closed = True
        self._buffer = bytearray()
        with suppress(OSError):
            os.close(self.fd)


def fsync_dir(path: str) -> None:
    """Make a directory's entries (renames, new files) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def make_dir(path: str, *, sync: bool) -> None:
    """Create ``path`` (mode 0700) if missing, syncing its parent when it was created."""
    try:
        os.mkdir(path, DIR_MODE)
    except FileExistsError:
        return
    if sync:
        fsync_dir(os.path.dirname(path))
