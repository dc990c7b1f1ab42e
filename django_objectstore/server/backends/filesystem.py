"""A durable backend keeping one file per object under a root directory.

Layout (names encoded by :mod:`.fs_paths`, so no key can leave its directory)::

    <root>/
      .locks/<hh>.lock                       per-object lock files (flock), 256 stripes
      .locks/tree                            directory creation/removal lock
      <usecase>/<name>=<value>/.../objects/<shard>/<key>
      <usecase>/objects/<shard>/<key>        (no scopes)
      .../objects/<shard>/.<key>.expires     renewed deadline of <key> (:mod:`.fs_sidecar`)
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

A TTI renewal (a :class:`.base.DeadlineRenewal` that only moves the deadline later)
does not rewrite the file: it writes the new deadline beside it (:mod:`.fs_sidecar`),
tied to the file's revision. Every other metadata change rewrites the file.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from datetime import datetime

from django_objectstore.server.backends.base import (
    DeadlineRenewal,
    ObjectLocation,
    ObjectMetadata,
    copy_metadata,
)
from django_objectstore.server.backends.fs_format import (
    CorruptObjectError,
    encode_header,
    new_revision,
    read_header,
)
from django_objectstore.server.backends.fs_io import (
    CHUNK,
    DIR_MODE,
    Draft,
    ObjectLocks,
    TreeLock,
    fsync_dir,
    still_named,
)
from django_objectstore.server.backends.fs_object import FileObject
from django_objectstore.server.backends.fs_paths import ObjectPath, object_path
from django_objectstore.server.backends.fs_sidecar import (
    Renewal,
    applies,
    read_renewal,
    remove_renewal,
    write_renewal,
)
from django_objectstore.server.backends.fs_sweep import sweep_tree
from django_objectstore.server.messages import BodyReader

_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_OPEN_ATTEMPTS = 3


class _Replaced:
    """The object file was replaced while it was being opened."""


_REPLACED = _Replaced()


class FilesystemBackend:
    """Objects as files under ``root`` (created with mode 0700 when missing).

    ``fsync=False`` skips ``fsync`` calls: writes stay atomic for readers and survive
    a killed process, but not a power loss or kernel crash. Meant for throwaway stores
    (tests), where small writes get several times faster. Since nothing is durable
    then anyway, every metadata change that only moves the deadline later (``PATCH``
    of a TTI object too) is kept beside the object instead of rewriting it.
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
        return f"{self.root}{os.sep}{path.relative}"

    def _sidecar_path(self, path: ObjectPath) -> str:
        return f"{self.root}{os.sep}{path.sidecar_relative}"

    def put(self, location: ObjectLocation, metadata: ObjectMetadata, body: BodyReader) -> int:
        path = object_path(location)
        draft = Draft(self.root, path.directory, self._tree, sync=self._fsync)
        size = 0
        try:
            draft.write(encode_header(location, metadata, new_revision()))
            while chunk := body.read(CHUNK):
                draft.write(chunk)
                size += len(chunk)
            draft.sync()
            with self._locks.hold(path):
                draft.rename_over(self._file_path(path))
                remove_renewal(self._sidecar_path(path))
        except BaseException:
            draft.abort()
            raise
        draft.close()
        self._sync_dir(draft.directory)
        return size

    def get(self, location: ObjectLocation) -> FileObject | None:
        return self._open(location, object_path(location))

    def _open(self, location: ObjectLocation, path: ObjectPath) -> FileObject | None:
        """Open the object and apply a renewal of that very file.

        The object is opened before its renewal is read, so a renewal that matches is
        one of the file we hold. One that does not match while the path names another
        file means the object was replaced in between: open the new one.
        """
        file_path = self._file_path(path)
        for attempt in range(1, _OPEN_ATTEMPTS + 1):
            found = self._open_once(location, path, file_path, retry=attempt < _OPEN_ATTEMPTS)
            if not isinstance(found, _Replaced):
                return found
        raise AssertionError("the last attempt never reports a replacement")

    def _open_once(
        self, location: ObjectLocation, path: ObjectPath, file_path: str, *, retry: bool
    ) -> FileObject | _Replaced | None:
        """One attempt; ``None`` when missing, ``_REPLACED`` (with ``retry``) when replaced."""
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
            metadata = header.metadata
            if header.revision is not None and metadata.time_expires is not None:
                renewal = read_renewal(self._sidecar_path(path))
                if renewal is not None and applies(header, renewal):
                    metadata.time_expires = max(metadata.time_expires, renewal.time_expires)
                elif renewal is not None and retry and not still_named(fd, file_path):
                    os.close(fd)
                    return _REPLACED
            size = os.fstat(fd).st_size - header.length
        except BaseException:
            os.close(fd)
            raise
        return FileObject(fd, metadata, header.length, size, header.revision)

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
                if current.revision is not None and self._renews(update, current.metadata, new):
                    assert new.time_expires is not None
                    renewal = Renewal(current.revision, new.time_expires)
                    write_renewal(self._sidecar_path(path), renewal)
                    return copy_metadata(new)
                draft = Draft(self.root, path.directory, self._tree, sync=self._fsync)
                try:
                    draft.write(encode_header(location, new, new_revision()))
                    draft.copy_from(current.fileno(), current.payload_offset, current.size)
                    draft.sync()
                    draft.rename_over(self._file_path(path))
                    remove_renewal(self._sidecar_path(path))
                except BaseException:
                    draft.abort()
                    raise
                draft.close()
        self._sync_dir(draft.directory)
        return copy_metadata(new)

    def _renews(
        self,
        update: Callable[[ObjectMetadata], ObjectMetadata | None],
        current: ObjectMetadata,
        new: ObjectMetadata,
    ) -> bool:
        """Whether ``new`` may go beside the file: a best-effort, deadline-only extension."""
        if not isinstance(update, DeadlineRenewal) and self._fsync:
            return False  # durable changes (PATCH) rewrite the file, fsync and all
        if current.time_expires is None or new.time_expires is None:
            return False
        if new.time_expires < current.time_expires:
            return False
        return dataclasses.replace(new, time_expires=current.time_expires) == current

    def delete(self, location: ObjectLocation) -> None:
        path = object_path(location)
        file_path = self._file_path(path)
        with self._locks.hold(path):
            try:
                os.unlink(file_path)
            except (FileNotFoundError, NotADirectoryError):
                remove_renewal(self._sidecar_path(path))  # an orphan, if anything
                return
            remove_renewal(self._sidecar_path(path))
        self._sync_dir(os.path.dirname(file_path))

    def sweep(self, now: datetime) -> int:
        """Remove expired objects and stale drafts; returns the number of objects removed."""
        return sweep_tree(
            self.root, now, self._remove_if_expired, self._remove_if_orphaned, self._tree
        )

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
                remove_renewal(self._sidecar_path(path))
        self._sync_dir(os.path.dirname(file_path))
        return True

    def _remove_if_orphaned(self, sidecar_path: str, object_name: str) -> bool:
        """Delete a renewal whose object is gone or was replaced (checked under its lock)."""
        directory = os.path.dirname(sidecar_path)
        relative = os.path.relpath(os.path.join(directory, object_name), self.root)
        path = ObjectPath(tuple(relative.split(os.sep)))
        with self._locks.hold(path):
            try:
                fd = os.open(self._file_path(path), os.O_RDONLY | _CLOEXEC | _NOFOLLOW)
            except FileNotFoundError:
                header = None
            else:
                try:
                    header = read_header(fd, self._file_path(path))
                finally:
                    os.close(fd)
            if header is not None and applies(header, read_renewal(sidecar_path)):
                return False
            remove_renewal(sidecar_path)
        return True
