"""The long-term tier: immutable files named by the database, never by keys.

Layout of one tier directory (``<root>/revisions`` for objects, ``<root>/parts`` for
staged multipart parts)::

    <tier>/<xx>/<32 hex>     a published file; <xx> is the first two hex digits
    <tier>/.tmp/<32 hex>     a file being written

A file is written under ``.tmp``, flushed and ``fsync``-ed, then renamed to its final
name, and the shard directory ``fsync``-ed: only then does a database row name it.
Published files never change, so a reader holding one open reads one whole version,
whatever happens to the row. Names are random (:func:`new_name`), so two writers never
share a file. A crash between publishing and the commit that names the file leaves an
unreferenced file; :meth:`FileTier.sweep` removes those, and stale temporary files,
once they are older than :data:`GRACE` by the system clock (mtime): a live writer
keeps touching its file and commits within the database's busy timeout.
"""

from __future__ import annotations

import errno
import os
import re
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from datetime import timedelta

from django_objectstore.server.backends.records import ObjectMetadata
from django_objectstore.server.backends.tiered.files import (
    BULK,
    CHUNK,
    CLOEXEC,
    FILE_MODE,
    NOFOLLOW,
    FileLayer,
    Output,
    fsync_dir,
    make_dir,
)

TEMP_DIR = ".tmp"
GRACE = timedelta(hours=1)
"""Unreferenced and temporary files younger than this are left alone by the sweep."""
_NAME = re.compile(r"[0-9a-f]{32}")


def new_name() -> str:
    return uuid.uuid4().hex


def is_name(text: str) -> bool:
    return _NAME.fullmatch(text) is not None


class NewFile:
    """A file being written under ``.tmp``; :meth:`publish` names it, :meth:`abort` drops it."""

    def __init__(self, tier: FileTier) -> None:
        self._tier = tier
        self.name = new_name()
        self.temp = os.path.join(tier.temp_dir, self.name)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | CLOEXEC
        self.output = Output(os.open(self.temp, flags, FILE_MODE), tier.files)
        self.size = 0

    def write(self, data: bytes | bytearray | memoryview, /) -> object:
        self.output.write(data)
        self.size += len(data)
        return None

    def publish(self) -> str:
        """Flush, ``fsync`` (when durable) and rename into place; returns the name."""
        tier = self._tier
        self.output.sync(fsync=tier.durable)
        self.output.close()
        shard = tier.shard_dir(self.name)
        try:
            os.rename(self.temp, os.path.join(shard, self.name))
        except FileNotFoundError:
            make_dir(shard, sync=tier.durable)
            os.rename(self.temp, os.path.join(shard, self.name))
        if tier.durable:
            fsync_dir(shard)
        return self.name

    def abort(self) -> None:
        """Remove the file at once and close it without writing; never raises."""
        with suppress(OSError):
            os.unlink(self.temp)
        self.output.discard()


class FileTier:
    """One directory of immutable files (object revisions or staged parts)."""

    def __init__(self, directory: str, *, durable: bool, files: FileLayer) -> None:
        self.directory = directory
        self.temp_dir = os.path.join(directory, TEMP_DIR)
        self.durable = durable
        self.files = files
        make_dir(directory, sync=durable)
        make_dir(self.temp_dir, sync=durable)

    def shard_dir(self, name: str) -> str:
        return os.path.join(self.directory, name[:2])

    def path(self, name: str) -> str:
        if not is_name(name):
            raise OSError(errno.EINVAL, f"not a file name of this store: {name!r}")
        return os.path.join(self.directory, name[:2], name)

    def create(self) -> NewFile:
        return NewFile(self)

    def open(self, name: str) -> int:
        """A read descriptor; ``FileNotFoundError`` when the file was removed meanwhile."""
        return os.open(self.path(name), os.O_RDONLY | CLOEXEC | NOFOLLOW)

    def remove(self, names: Iterable[str | None]) -> None:
        """Unlink files no row names any more (after the commit that dropped them)."""
        for name in names:
            if name is not None:
                with suppress(FileNotFoundError):
                    os.unlink(self.path(name))

    def sweep(self, referenced: Callable[[str], bool]) -> int:
        """Remove stale temporary files and unreferenced files; returns how many."""
        cutoff = time.time() - GRACE.total_seconds()
        removed = 0
        for path, name in self._files():
            try:
                if os.stat(path, follow_symlinks=False).st_mtime >= cutoff:
                    continue
                if os.path.dirname(path) != self.temp_dir and referenced(name):
                    continue
                os.unlink(path)
            except FileNotFoundError:
                continue
            removed += 1
        return removed

    def _files(self) -> Iterator[tuple[str, str]]:
        with os.scandir(self.directory) as shards:
            directories = sorted(entry.path for entry in shards if entry.is_dir())
        for directory in directories:
            with os.scandir(directory) as entries:
                names = [entry.name for entry in entries if is_name(entry.name)]
            for name in names:
                yield os.path.join(directory, name), name


class FileObject:
    """An object whose payload is a published file, read with ``pread``.

    The descriptor is closed when an ``iter_bytes`` iterator is exhausted or closed,
    or when :meth:`close` is called, whichever comes first.
    """

    def __init__(self, fd: int, metadata: ObjectMetadata, size: int) -> None:
        self.metadata = metadata
        self.size = size
        self._fd = fd

    @property
    def closed(self) -> bool:
        return self._fd < 0

    def iter_bytes(self, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        if self._fd < 0:
            raise ValueError("the object was closed; call backend.get() again to read it")
        start = max(0, start)
        end = self.size if end is None else max(start, min(end, self.size))
        return _Chunks(self, start, end)

    def read_at(self, position: int, count: int) -> bytes:
        return os.pread(self._fd, count, position)

    def close(self) -> None:
        fd, self._fd = self._fd, -1
        if fd >= 0:
            os.close(fd)


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
            chunk = self._owner.read_at(self._position, min(BULK, self._end - self._position))
        except BaseException:
            self._owner.close()
            raise
        if not chunk:
            self._owner.close()
            raise OSError(errno.EIO, "revision file is shorter than its recorded size")
        self._position += len(chunk)
        return chunk

    def close(self) -> None:
        self._owner.close()


class InlineObject:
    """An object whose payload was copied out of its database row."""

    def __init__(self, metadata: ObjectMetadata, payload: bytes) -> None:
        self.metadata = metadata
        self.size = len(payload)
        self._payload = payload

    def iter_bytes(self, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        start = max(0, start)
        end = self.size if end is None else max(start, min(end, self.size))
        if start == 0 and end == self.size <= CHUNK:
            return iter((self._payload,) if end else ())
        view = memoryview(self._payload)[start:end]
        return (bytes(view[at : at + CHUNK]) for at in range(0, len(view), CHUNK))

    def close(self) -> None:
        return None
