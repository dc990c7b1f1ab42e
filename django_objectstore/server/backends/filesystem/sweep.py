"""Garbage collection for the filesystem backend: expired objects, stale drafts, empty dirs.

The sweep reads each object's header without a lock (cheap), and only for candidates
takes the object's lock and checks again, so an object replaced or renewed meanwhile
is kept. The deadline is the later of the header's and that of the renewal slot in
the same header (:mod:`.format`). Drafts are removed only when no process holds
their ``flock`` (a writer holds it from creation to publication; the kernel drops it
when the writer dies) and they are older than :data:`DRAFT_MAX_AGE`. Empty
directories are removed with ``rmdir`` under the exclusive tree lock
(:class:`.fileops.TreeLock`), which writers creating directories hold shared, so no
directory disappears between a writer's ``mkdir`` and ``open``.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Callable
from contextlib import suppress
from datetime import datetime, timedelta

from django_objectstore.server.backends.filesystem.fileops import TreeLock, still_named
from django_objectstore.server.backends.filesystem.format import CorruptObjectError, read_header
from django_objectstore.server.backends.filesystem.paths import is_draft_name, is_object_name
from django_objectstore.server.backends.records import ObjectLocation

logger = logging.getLogger(__name__)

DRAFT_MAX_AGE = timedelta(hours=1)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)

RemoveIfExpired = Callable[[ObjectLocation, str, datetime], bool]


def sweep_tree(
    root: str,
    now: datetime,
    remove_if_expired: RemoveIfExpired,
    tree: TreeLock,
) -> int:
    """Sweep every usecase directory under ``root``; returns how many objects went."""
    removed = 0
    with os.scandir(root) as entries:
        tops = [entry.path for entry in entries if not entry.name.startswith(".")]
    for top in tops:
        if not os.path.isdir(top) or os.path.islink(top):
            continue
        for directory, _dirs, files in os.walk(top, topdown=False):
            for name in files:
                file_path = os.path.join(directory, name)
                try:
                    if is_draft_name(name):
                        remove_stale_draft(file_path, now)
                    elif is_object_name(name) and _expired(file_path, now, remove_if_expired):
                        removed += 1
                except (OSError, CorruptObjectError) as error:
                    logger.warning("sweep skipped %s: %s", file_path, error)
            _remove_if_empty(directory, tree)
    return removed


def _expired(file_path: str, now: datetime, remove_if_expired: RemoveIfExpired) -> bool:
    try:
        fd = os.open(file_path, os.O_RDONLY | _CLOEXEC | _NOFOLLOW)
    except FileNotFoundError:
        return False
    try:
        header = read_header(fd, file_path)
    finally:
        os.close(fd)
    deadline = header.metadata.time_expires
    if deadline is None or not deadline < now:
        return False
    return remove_if_expired(header.location, file_path, now)


def remove_stale_draft(file_path: str, now: datetime) -> bool:
    """Remove a draft nobody is writing that was last modified before ``now - 1 h``."""
    try:
        fd = os.open(file_path, os.O_RDONLY | _CLOEXEC | _NOFOLLOW)
    except FileNotFoundError:
        return False
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False  # a live writer holds it
        modified = datetime.fromtimestamp(os.fstat(fd).st_mtime, now.tzinfo)
        if modified >= now - DRAFT_MAX_AGE or not still_named(fd, file_path):
            return False  # recent, or published/removed meanwhile
        os.unlink(file_path)
        return True
    finally:
        os.close(fd)


def _remove_if_empty(directory: str, tree: TreeLock) -> None:
    try:
        with os.scandir(directory) as entries:
            if next(entries, None) is not None:
                return  # the usual case, checked without taking the lock
    except FileNotFoundError:
        return
    with tree.hold(exclusive=True), suppress(OSError):  # gained an entry, or gone
        os.rmdir(directory)
