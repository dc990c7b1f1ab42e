"""Durable file operations for the filesystem backend: directories, drafts, locks.

POSIX only (``fcntl.flock``, directory ``fsync``).

Every byte of an object or a staged part reaches the disk through a :class:`FileLayer`
(``write``, ``pwrite``, ``fsync``), written from an :class:`Output` whose buffer is our
own: a failed upload's draft is removed without flushing anything, so a full disk
(``ENOSPC``) cannot stop its own cleanup. Tests hand the backend a :class:`FileLayer`
that fails like a full disk does.
"""

from __future__ import annotations

import errno
import fcntl
import os
import threading
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, nullcontext, suppress

from django_objectstore.server.backends.filesystem.paths import DRAFT_SUFFIX, LOCKS_DIR, ObjectPath

CHUNK = 64 * 1024
DIR_MODE = 0o700
FILE_MODE = 0o600
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DRAFT_ATTEMPTS = 20
TREE_LOCK = "tree"
"""``.locks/tree``: held shared while creating directories, exclusively while removing."""


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

    def fileno(self) -> int:
        return self.fd

    def write(self, data: bytes) -> None:
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
        while view:
            written = self._files.write(self.fd, view)
            if written <= 0:
                raise OSError(errno.EIO, "the disk accepted no bytes")
            view = view[written:]

    def pwrite(self, data: bytes, offset: int) -> None:
        """Write ``data`` at ``offset`` (after flushing the buffer)."""
        self.flush()
        done = 0
        while done < len(data):
            written = self._files.pwrite(self.fd, data[done:], offset + done)
            if written <= 0:
                raise OSError(errno.EIO, "the disk accepted no bytes")
            done += written

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
    """Make a directory's entries (renames, new files) durable.

    A directory that is gone (a sweep removed it once it was empty) has nothing left
    to persist.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | _CLOEXEC)
    except FileNotFoundError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def ensure_dirs(root: str, parts: Sequence[str], *, sync: bool = True) -> str:
    """Create ``root/parts...`` (mode 0700), syncing each parent that gained an entry."""
    path = root
    for part in parts:
        child = os.path.join(path, part)
        try:
            os.mkdir(child, DIR_MODE)
        except FileExistsError:
            pass
        else:
            if sync:
                fsync_dir(path)
        path = child
    return path


class TreeLock:
    """Keeps the sweep from removing a directory between a writer's ``mkdir`` and ``open``.

    Writers that find a directory missing create it and their file while holding
    ``.locks/tree`` shared; the sweep removes empty directories while holding it
    exclusively. An ``flock`` on separately opened descriptors excludes threads of one
    process as well as other processes.
    """

    def __init__(self, root: str) -> None:
        self._path = os.path.join(ensure_dirs(root, (LOCKS_DIR,), sync=False), TREE_LOCK)

    @contextmanager
    def hold(self, *, exclusive: bool) -> Iterator[None]:
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT | _CLOEXEC, FILE_MODE)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)


def open_creating_dirs(
    root: str,
    directory: Sequence[str],
    name: str,
    flags: int,
    *,
    sync: bool = True,
    tree: TreeLock | None = None,
) -> tuple[str, int]:
    """``os.open`` a new file (mode 0600), creating missing directories (0700) first.

    Tries the open first: directories usually exist already, and a directory holding
    a file cannot be removed. Otherwise creates the directories and the file under
    ``tree`` (shared), so a concurrent sweep cannot remove them in between.
    """
    path = os.path.join(root, *directory)
    target = os.path.join(path, name)
    flags |= _CLOEXEC
    try:
        return path, os.open(target, flags, FILE_MODE)
    except FileNotFoundError:
        pass
    with tree.hold(exclusive=False) if tree is not None else nullcontext():
        ensure_dirs(root, directory, sync=sync)
        return path, os.open(target, flags, FILE_MODE)


def still_named(fd: int, path: str) -> bool:
    """Whether ``path`` still names the file open as ``fd``."""
    try:
        named = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    opened = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (opened.st_dev, opened.st_ino)


class Draft:
    """A new file ``.<random>.draft`` beside its target, published by an atomic rename.

    The draft is ``flock``-ed while open, which tells the sweep it is being written;
    the kernel drops the lock when the writing process dies.
    """

    def __init__(
        self,
        root: str,
        directory: Sequence[str],
        tree: TreeLock,
        *,
        sync: bool = True,
        files: FileLayer | None = None,
    ) -> None:
        self._sync = sync
        files = files or FileLayer()
        for _attempt in range(_DRAFT_ATTEMPTS):
            name = f".{uuid.uuid4().hex}{DRAFT_SUFFIX}"
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
            self.directory, fd = open_creating_dirs(
                root, directory, name, flags, sync=sync, tree=tree
            )
            self.path = os.path.join(self.directory, name)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                if still_named(fd, self.path):
                    self.file = Output(fd, files)
                    return
            except BaseException:
                os.close(fd)
                with suppress(FileNotFoundError):
                    os.unlink(self.path)
                raise
            os.close(fd)  # a sweep removed it before we locked it: start over
        raise OSError(errno.EAGAIN, f"could not create a draft in {self.directory}")

    def write(self, data: bytes) -> None:
        self.file.write(data)

    def copy_from(self, source_fd: int, offset: int, count: int) -> None:
        """Append ``count`` bytes of ``source_fd`` from ``offset`` (kernel copy if it can)."""
        self.file.flush()
        target_fd = self.file.fileno()
        copied = 0
        try:
            while copied < count:
                done = os.copy_file_range(
                    source_fd, target_fd, min(count - copied, 1 << 30), offset + copied
                )
                if done == 0:
                    break
                copied += done
        except OSError as error:
            if error.errno not in (errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP):
                raise
        while copied < count:
            chunk = os.pread(source_fd, min(CHUNK, count - copied), offset + copied)
            if not chunk:
                raise OSError(errno.EIO, f"object payload shrank while copying to {self.path}")
            self.file.write(chunk)
            copied += len(chunk)

    def sync(self) -> None:
        """Flush and ``fsync`` the contents, before the rename makes them visible."""
        self.file.sync(fsync=self._sync)

    def rename_over(self, target: str) -> None:
        """Atomically replace ``target`` (callers then :func:`fsync_dir` the directory)."""
        os.replace(self.path, target)

    def close(self) -> None:
        self.file.close()

    def abort(self) -> None:
        """Remove the draft and close it, writing nothing more; whatever the target held stays.

        Unlinked first and closed without a flush, so a full disk gets its space back
        at once and this never raises ``ENOSPC`` itself.
        """
        with suppress(OSError):
            os.unlink(self.path)
        self.file.discard()


class ObjectLocks:
    """Per-object mutual exclusion across threads and across processes on one root.

    A stripe of ``threading.Lock`` serialises threads of this process cheaply; an
    ``flock`` on ``.locks/<hh>.lock`` (the first byte of the path's hash, the same
    stripe) serialises processes. 256 lock files are created once and then reused, so
    taking a lock never creates a file on the hot path. A caller only ever holds one
    object lock at a time, so the two levels cannot deadlock.
    """

    def __init__(self, root: str) -> None:
        self._root = root
        self._stripes = [threading.Lock() for _ in range(256)]

    @contextmanager
    def hold(self, path: ObjectPath) -> Iterator[None]:
        digest = path.digest
        with self._stripes[digest[0]]:
            _directory, fd = open_creating_dirs(
                self._root,
                (LOCKS_DIR,),
                f"{digest[0]:02x}.lock",
                os.O_RDWR | os.O_CREAT,
                sync=False,
            )
            try:
                fcntl.flock(fd, fcntl.LOCK_EX)
                yield
            finally:
                os.close(fd)
