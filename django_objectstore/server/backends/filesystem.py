"""A durable backend keeping one file per object under a root directory.

Layout (names encoded by :mod:`.fs_paths`, so no key can leave its directory)::

    <root>/
      .locks/<hh>/<hh>                       per-object lock files (flock), on demand
      .locks/tree                            directory creation/removal lock
      <usecase>/<name>=<value>/.../objects/<shard>/<key>
      <usecase>/objects/<shard>/<key>        (no scopes)
      .../objects/<shard>/.<random>.draft    uploads in progress

``<shard>`` is the first byte (two hex digits) of the SHA-256 of the key. Each object
file is a JSON header line with the metadata and the location, then the raw payload
(:mod:`.fs_format`), so metadata and payload always change together.

Writes stream into a draft beside the target, are flushed and fsync'ed, then renamed
over the target under the object's lock (:class:`.fs_io.ObjectLocks`); the directory
is fsync'ed after. Readers open the file once and read header and payload from that one
descriptor, so a concurrent rename never mixes two versions. A failed upload removes
its draft; a killed process leaves one behind, which is never read as an object and is
removed by :meth:`FilesystemBackend.sweep` once stale.
"""

from __future__ import annotations

import copy
import errno
import os
from collections.abc import Callable, Iterator
from datetime import datetime
from types import TracebackType
from typing import IO

from django_objectstore.server.backends.base import ObjectLocation, ObjectMetadata
from django_objectstore.server.backends.fs_format import (
    CorruptObjectError,
    encode_header,
    read_header,
)
from django_objectstore.server.backends.fs_io import (
    CHUNK,
    DIR_MODE,
    Draft,
    ObjectLocks,
    TreeLock,
    fsync_dir,
)
from django_objectstore.server.backends.fs_paths import ObjectPath, object_path
from django_objectstore.server.backends.fs_sweep import sweep_tree
from django_objectstore.server.messages import BodyReader

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class FileObject:
    """An open object file: metadata plus the payload, read with ``pread``.

    The descriptor is closed when an ``iter_bytes`` iterator is exhausted or closed,
    or when :meth:`close` is called, whichever comes first.
    """

    def __init__(self, file: IO[bytes], metadata: ObjectMetadata, offset: int, size: int):
        self.metadata = metadata
        self.size = size
        self._file = file
        self._offset = offset

    @property
    def closed(self) -> bool:
        return self._file.closed

    def fileno(self) -> int:
        return self._file.fileno()

    @property
    def payload_offset(self) -> int:
        return self._offset

    def iter_bytes(self, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        if self._file.closed:
            raise ValueError("the object was closed; call backend.get() again to read it")
        start = max(0, start)
        end = self.size if end is None else max(start, min(end, self.size))
        return _Chunks(self, start, end)

    def read_at(self, position: int, count: int) -> bytes:
        return os.pread(self._file.fileno(), count, self._offset + position)

    def close(self) -> None:
        self._file.close()

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


class FilesystemBackend:
    """Objects as files under ``root`` (created with mode 0700 when missing).

    ``fsync=False`` skips ``fsync`` calls: writes stay atomic for readers and survive
    a killed process, but not a power loss or kernel crash. Meant for throwaway stores
    (tests), where small writes get several times faster.
    """

    def __init__(self, root: str | os.PathLike[str], *, fsync: bool = True) -> None:
        self.root = os.path.abspath(os.fspath(root))
        try:
            os.makedirs(self.root, mode=DIR_MODE, exist_ok=True)
        except FileExistsError:
            raise NotADirectoryError(
                f"storage path {self.root!r} (OS__STORAGE__PATH) exists and is not a "
                "directory: point it at a directory or a path that does not exist yet"
            ) from None
        self._locks = ObjectLocks(self.root)
        self._tree = TreeLock(self.root)
        self._fsync = fsync

    def _sync_dir(self, directory: str) -> None:
        if self._fsync:
            fsync_dir(directory)

    def _file_path(self, path: ObjectPath) -> str:
        return os.path.join(self.root, *path.parts)

    def put(self, location: ObjectLocation, metadata: ObjectMetadata, body: BodyReader) -> int:
        path = object_path(location)
        draft = Draft(self.root, path.directory, self._tree, sync=self._fsync)
        size = 0
        try:
            draft.write(encode_header(location, metadata))
            while chunk := body.read(CHUNK):
                draft.write(chunk)
                size += len(chunk)
            draft.sync()
            with self._locks.hold(path):
                draft.rename_over(self._file_path(path))
        except BaseException:
            draft.abort()
            raise
        draft.close()
        self._sync_dir(draft.directory)
        return size

    def get(self, location: ObjectLocation) -> FileObject | None:
        return self._open(location, object_path(location))

    def _open(self, location: ObjectLocation, path: ObjectPath) -> FileObject | None:
        file_path = self._file_path(path)
        try:
            fd = os.open(file_path, os.O_RDONLY | _CLOEXEC | _NOFOLLOW)
        except (FileNotFoundError, NotADirectoryError):
            return None
        file = open(fd, "rb")  # noqa: SIM115 - owned by the returned FileObject
        try:
            found, metadata, header_length = read_header(file)
            if found != location:
                raise CorruptObjectError(f"{file_path} holds {found!r}, expected {location!r}")
            size = os.fstat(fd).st_size - header_length
        except BaseException:
            file.close()
            raise
        return FileObject(file, metadata, header_length, size)

    def update_metadata(
        self,
        location: ObjectLocation,
        update: Callable[[ObjectMetadata], ObjectMetadata | None],
    ) -> ObjectMetadata | None:
        path = object_path(location)
        with self._locks.hold(path):
            current = self._open(location, path)
            if current is None:
                return None
            with current:
                new = update(copy.deepcopy(current.metadata))
                if new is None:
                    return current.metadata
                draft = Draft(self.root, path.directory, self._tree, sync=self._fsync)
                try:
                    draft.write(encode_header(location, new))
                    draft.copy_from(current.fileno(), current.payload_offset, current.size)
                    draft.sync()
                    draft.rename_over(self._file_path(path))
                except BaseException:
                    draft.abort()
                    raise
                draft.close()
        self._sync_dir(draft.directory)
        return copy.deepcopy(new)

    def delete(self, location: ObjectLocation) -> None:
        path = object_path(location)
        file_path = self._file_path(path)
        with self._locks.hold(path):
            try:
                os.unlink(file_path)
            except (FileNotFoundError, NotADirectoryError):
                return
        self._sync_dir(os.path.dirname(file_path))

    def sweep(self, now: datetime) -> int:
        """Remove expired objects and stale drafts; returns the number of objects removed."""
        return sweep_tree(self.root, now, self._remove_if_expired, self._tree)

    def _remove_if_expired(self, location: ObjectLocation, file_path: str, now: datetime) -> bool:
        """Delete the object at ``file_path`` if, checked again under its lock, it expired."""
        path = object_path(location)
        if self._file_path(path) != file_path:
            return False  # not where this backend would put it: leave it alone
        with self._locks.hold(path):
            current = self._open(location, path)
            if current is None:
                return False
            with current:
                expires = current.metadata.time_expires
                if expires is None or not expires < now:
                    return False
                os.unlink(file_path)
        self._sync_dir(os.path.dirname(file_path))
        return True
