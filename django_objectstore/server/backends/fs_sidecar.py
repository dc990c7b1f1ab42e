"""Deadline renewals kept beside an object file, so that renewing never copies a payload.

A TTI renewal (protocol.md §5.3) only moves ``time_expires`` later. Rewriting the whole
object file for it would cost a copy of the payload, two ``fsync`` calls and a rename
on every renewing read. Instead the new deadline goes into a small file next to the
object, ``.<object name>.expires``, holding ``{"revision": ..., "time_expires": ...}``:

* it is a fixed-size record (:data:`RECORD_SIZE` bytes) with a CRC-32 of its content.
  The first renewal of an object creates it (temporary file and rename); later ones
  overwrite it in place with one ``pwrite``, which costs a few microseconds where
  creating and renaming a file costs about a hundred. A reader that catches a write
  half-way sees a wrong checksum and reads again; the writer holds the object's lock,
  so the next read sees the whole record;
* it names the revision (:mod:`.fs_format`) of the object file it renews, and applies
  only to that file: a later ``put`` (new revision) is never extended by it, even if
  the process died before removing it;
* the effective deadline is the later of the header's and the matching renewal's;
* it is not ``fsync``-ed. Renewals are best effort in the real service too (it drops
  them under load; the next read renews again). After a power loss the file may be
  missing, old or empty; an unreadable one is ignored, so the deadline falls back to
  the last durable one in the header and nothing is corrupted or brought back.
"""

from __future__ import annotations

import errno
import itertools
import json
import os
import zlib
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime

from django_objectstore.server.backends.fs_format import Header
from django_objectstore.server.backends.fs_io import FILE_MODE
from django_objectstore.server.backends.fs_paths import DRAFT_SUFFIX

MAX_SIDECAR = 4096
RECORD_SIZE = 256
"""Every renewal record has this size, so an overwrite in place replaces it whole."""
_ATTEMPTS = 5
_READ_ATTEMPTS = 5
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NAMES = itertools.count()
"""Temporary names need only be unique (``O_EXCL`` checks), not unguessable."""


@dataclass(frozen=True)
class Renewal:
    revision: str
    time_expires: datetime


def encode_renewal(renewal: Renewal) -> bytes:
    """``<crc32 hex> <json>`` padded with spaces to :data:`RECORD_SIZE` bytes."""
    document = {"revision": renewal.revision, "time_expires": renewal.time_expires.isoformat()}
    content = json.dumps(document, separators=(",", ":")).encode("ascii")
    record = b"%08x %s" % (zlib.crc32(content), content)
    if len(record) > RECORD_SIZE:
        raise ValueError(f"renewal record too long ({len(record)} bytes)")
    return record.ljust(RECORD_SIZE, b" ")


def decode_renewal(data: bytes) -> Renewal | None:
    """The renewal in ``data``, or ``None`` for anything else (torn, empty, foreign)."""
    checksum, _, content = data.rstrip(b" ").partition(b" ")
    try:
        if int(checksum, 16) != zlib.crc32(content):
            return None
        document = json.loads(content)
        revision = document["revision"]
        deadline = datetime.fromisoformat(document["time_expires"])
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(revision, str) or deadline.tzinfo is None:
        return None
    return Renewal(revision, deadline)


def read_renewal(path: str) -> Renewal | None:
    """The renewal stored at ``path``; ``None`` when missing or unreadable."""
    try:
        fd = os.open(path, os.O_RDONLY | _CLOEXEC | _NOFOLLOW)
    except OSError as error:
        if error.errno in (errno.ENOENT, errno.ENOTDIR, errno.ELOOP):
            return None
        raise
    try:
        for _attempt in range(_READ_ATTEMPTS):
            data = os.pread(fd, MAX_SIDECAR, 0)
            renewal = decode_renewal(data)
            if renewal is not None or not data:
                return renewal
        return None  # unreadable: fall back to the header's deadline
    finally:
        os.close(fd)


def applies(header: Header, renewal: Renewal | None) -> bool:
    """Whether ``renewal`` renews the file ``header`` was read from."""
    return (
        renewal is not None
        and header.revision is not None
        and renewal.revision == header.revision
        and header.metadata.time_expires is not None
    )


def effective_deadline(header: Header, renewal: Renewal | None) -> datetime | None:
    """The later of the header's deadline and a renewal of this very file."""
    stored = header.metadata.time_expires
    if renewal is None or stored is None or not applies(header, renewal):
        return stored
    return max(stored, renewal.time_expires)


def write_renewal(path: str, renewal: Renewal) -> None:
    """Store the renewal at ``path`` (no ``fsync``: see the module docstring).

    Callers hold the object's lock. An existing record is overwritten in place; the
    first one is created by a rename so that it never appears half-written.
    """
    data = encode_renewal(renewal)
    try:
        fd = os.open(path, os.O_WRONLY | _CLOEXEC | _NOFOLLOW)
    except FileNotFoundError:
        _create_renewal(path, data)
        return
    try:
        if os.pwrite(fd, data, 0) != len(data):
            raise OSError(errno.EIO, f"short write to {path}")
    finally:
        os.close(fd)


def _create_renewal(path: str, data: bytes) -> None:
    """Create the record by renaming a complete temporary file onto ``path``.

    The temporary file is named like an upload draft, so a sweep removes it if the
    process dies before the rename. A sweep running with a clock far ahead may also
    remove it in between; then a new one is tried.
    """
    directory = os.path.dirname(path)
    for _attempt in range(_ATTEMPTS):
        name = f".renewal-{os.getpid()}-{next(_NAMES)}{DRAFT_SUFFIX}"
        temporary = os.path.join(directory, name)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _CLOEXEC
        try:
            fd = os.open(temporary, flags, FILE_MODE)
        except FileExistsError:
            continue  # left by a killed process that had the same pid
        try:
            if os.write(fd, data) != len(data):
                raise OSError(errno.EIO, f"short write to {temporary}")
        except BaseException:
            os.close(fd)
            remove_renewal(temporary)
            raise
        os.close(fd)
        try:
            os.replace(temporary, path)
            return
        except FileNotFoundError:
            continue
    raise OSError(errno.EAGAIN, f"could not write the renewal {path}")


def remove_renewal(path: str) -> None:
    with suppress(FileNotFoundError):
        os.unlink(path)
