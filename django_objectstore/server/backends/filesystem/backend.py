"""A durable backend keeping one file per object under a root directory.

Layout (names encoded by :mod:`.paths`, so no key can leave its directory)::

    <root>/
      .locks/<hh>.lock                       per-object lock files (flock), 256 stripes
      .locks/tree                            directory creation/removal lock
      <usecase>/<name>=<value>/.../objects/<shard>/<key>
      <usecase>/objects/<shard>/<key>        (no scopes)
      .../objects/<shard>/.<random>.draft    uploads in progress
      .multipart/<upload id>/...             multipart uploads (:mod:`.uploads`)

``<shard>`` is the first byte (two hex digits) of the SHA-256 of the key. Each object
file is a JSON header line with the metadata and the location, then the raw payload
(:mod:`.format`), so metadata and payload always change together.

Writes stream into a draft beside the target, are flushed and fsync'ed, then renamed
over the target under the object's lock (:class:`.fileops.ObjectLocks`); the directory
is fsync'ed after. Readers open the file once and read header and payload from that one
descriptor, so a concurrent rename never mixes two versions. A failed upload removes
its draft; a killed process leaves one behind, which is never read as an object and is
removed by :meth:`FilesystemBackend.sweep` once stale.

A TTI renewal (a :class:`~..records.DeadlineRenewal` that only moves the deadline later)
does not rewrite the file: under the object's lock it overwrites the fixed-width
renewal slot at the end of the file's header line in place (:mod:`.format`), with
one ``pwrite`` and no ``fsync`` (renewals are best effort, as in the real service).
Since every replacement of the file is renamed in under the same lock, a renewal
always writes into the file that is current. Every other metadata change rewrites the
file, with a blank slot.
"""

from __future__ import annotations

import dataclasses
import errno
import os
from collections.abc import Callable
from datetime import datetime

from django_objectstore.server.backends.filesystem.fileops import (
    CHUNK,
    DIR_MODE,
    Draft,
    FileLayer,
    ObjectLocks,
    TreeLock,
    fsync_dir,
)
from django_objectstore.server.backends.filesystem.format import (
    CorruptObjectError,
    encode_header,
    encode_slot,
    read_header,
)
from django_objectstore.server.backends.filesystem.object_file import FileObject
from django_objectstore.server.backends.filesystem.paths import ObjectPath, object_path
from django_objectstore.server.backends.filesystem.sweep import sweep_tree
from django_objectstore.server.backends.filesystem.uploads import FilesystemUploadStore
from django_objectstore.server.backends.records import (
    DeadlineRenewal,
    ObjectLocation,
    ObjectMetadata,
    copy_metadata,
)
from django_objectstore.server.messages import BodyReader

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


class FilesystemBackend:
    """Objects as files under ``root`` (created with mode 0700 when missing).

    ``fsync=False`` skips ``fsync`` calls: writes stay atomic for readers and survive
    a killed process, but not a power loss or kernel crash. Meant for throwaway stores
    (tests), where small writes get several times faster. Since nothing is durable
    then anyway, every metadata change that only moves the deadline later (``PATCH``
    of a TTI object too) goes into the renewal slot instead of rewriting the file.

    ``files`` performs the writes (:class:`.fileops.FileLayer`, the system calls by
    default); tests pass one that fails like a full disk. A write that fails, for
    ``ENOSPC`` or any other reason, removes its draft before the error propagates.
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        fsync: bool = True,
        files: FileLayer | None = None,
    ) -> None:
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
        self._files = files or FileLayer()
        self.uploads = FilesystemUploadStore(self.root, self._files)

    def _sync_dir(self, directory: str) -> None:
        if self._fsync:
            fsync_dir(directory)

    def _file_path(self, path: ObjectPath) -> str:
        return f"{self.root}{os.sep}{path.relative}"

    def put(self, location: ObjectLocation, metadata: ObjectMetadata, body: BodyReader) -> int:
        path = object_path(location)
        draft = Draft(self.root, path.directory, self._tree, sync=self._fsync, files=self._files)
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
        """Open the object (header, renewal slot applied); ``None`` when missing."""
        file_path = self._file_path(path)
        try:
            fd = os.open(file_path, os.O_RDONLY | _CLOEXEC | _NOFOLLOW)
        except (FileNotFoundError, NotADirectoryError):
            return None
        try:
            header = read_header(fd, file_path)
            if header.location != location:
                raise CorruptObjectError(
                    f"{file_path} holds {header.location!r}, expected {location!r}"
                )
            size = os.fstat(fd).st_size - header.length
        except BaseException:
            os.close(fd)
            raise
        return FileObject(fd, header.metadata, header.length, size, header.slot_offset)

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
                new = update(copy_metadata(current.metadata))
                if new is None:
                    return current.metadata
                slot = self._renewal_slot(update, current, new)
                if slot is not None and current.slot_offset is not None:
                    _write_slot(self._file_path(path), current.slot_offset, slot)
                    return copy_metadata(new)
                draft = Draft(
                    self.root, path.directory, self._tree, sync=self._fsync, files=self._files
                )
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
        return copy_metadata(new)

    def _renewal_slot(
        self,
        update: Callable[[ObjectMetadata], ObjectMetadata | None],
        current: FileObject,
        new: ObjectMetadata,
    ) -> bytes | None:
        """The slot to write in place when ``new`` is a deadline-only extension, else ``None``.

        Only best-effort renewals qualify (every change when ``fsync`` is off), only
        files that have a slot, and only deadlines that move later: a deadline is
        never shortened.
        """
        if not isinstance(update, DeadlineRenewal) and self._fsync:
            return None  # durable changes (PATCH) rewrite the file, fsync and all
        stored = current.metadata.time_expires
        if current.slot_offset is None or stored is None or new.time_expires is None:
            return None
        if new.time_expires < stored:
            return None
        if dataclasses.replace(new, time_expires=stored) != current.metadata:
            return None
        try:
            return encode_slot(new.time_expires)
        except ValueError:
            return None  # before 1970: the header can still hold it

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


def _write_slot(file_path: str, offset: int, slot: bytes) -> None:
    """Overwrite the renewal slot of the file at ``file_path`` (callers hold its lock).

    No ``fsync``: a renewal is best effort. A power loss may lose it (the deadline falls
    back to the header's) or tear it, which readers detect by its checksum.
    """
    fd = os.open(file_path, os.O_WRONLY | _CLOEXEC | _NOFOLLOW)
    try:
        if os.pwrite(fd, slot, offset) != len(slot):
            raise OSError(errno.EIO, f"short write of the renewal slot of {file_path}")
    finally:
        os.close(fd)
