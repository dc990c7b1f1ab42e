"""The durable backend: the real service's tiered design on one machine.

Layout under the root (see ``docs/storage-engine.md``)::

    <root>/objects.sqlite3 (-wal, -shm)   high-volume tier, a row per object (:mod:`.database`)
    <root>/revisions/<xx>/<name>          long-term tier, immutable files (:mod:`.revisions`)
    <root>/parts/<xx>/<name>              staged multipart parts (:mod:`.uploads`)

A payload of at most :data:`INLINE_LIMIT` stored bytes lives inline in the database;
a larger one, and every multipart completion, is written to a new revision file which
the object's row then names (a *tombstone*). A write of either kind ends with one
transaction that swaps the row; the revision it replaced is removed after the commit.
Reads look only at the row: inline payloads are copied out in the query, revision
files are opened by name and never change once published.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from django_objectstore.server.backends.records import (
    DeadlineRenewal,
    ObjectHead,
    ObjectLocation,
    ObjectMetadata,
    StoredObject,
    copy_metadata,
)
from django_objectstore.server.backends.tiered.database import (
    DATABASE,
    Database,
    decode_metadata,
    decode_scopes,
    decode_text,
    encode_metadata,
    encode_text,
    from_micros,
    location_params,
    to_micros,
)
from django_objectstore.server.backends.tiered.files import BULK, CHUNK, DIR_MODE, FileLayer
from django_objectstore.server.backends.tiered.revisions import FileObject, FileTier, InlineObject
from django_objectstore.server.backends.tiered.uploads import TieredUploadStore
from django_objectstore.server.backends.uploads import ChainReader
from django_objectstore.server.messages import BodyReader
from django_objectstore.wire.scopes import Scopes

INLINE_LIMIT = 1024 * 1024
"""Payloads of at most this many stored bytes live in the database (the service's 1 MiB)."""
REVISIONS_DIR = "revisions"
PARTS_DIR = "parts"
_SWEEP_BATCH = 512
_OPEN_ATTEMPTS = 5
_OLD_FORMAT_MARKERS = (".locks", ".multipart")

_FIND = (
    "SELECT o.metadata, o.created, o.expires, o.size, o.revision, p.data"
    " FROM objects o LEFT JOIN payloads p ON p.object = o.id"
    " WHERE o.usecase = ? AND o.key = ? AND o.scope = ?"
)
_FIND_HEAD = (
    "SELECT metadata, created, expires, size, revision FROM objects"
    " WHERE usecase = ? AND key = ? AND scope = ?"
)
_FIND_ROW = "SELECT id, revision FROM objects WHERE usecase = ? AND key = ? AND scope = ?"
_FIND_METADATA = (
    "SELECT id, metadata, created, expires FROM objects WHERE usecase = ? AND key = ? AND scope = ?"
)
_UPDATE_OBJECT = (
    "UPDATE objects SET metadata = ?, created = ?, expires = ?, size = ?, revision = ? WHERE id = ?"
)
_INSERT_OBJECT = (
    "INSERT INTO objects (usecase, key, scope, metadata, created, expires, size, revision)"
    " VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_UPDATE_METADATA = "UPDATE objects SET metadata = ?, created = ?, expires = ? WHERE id = ?"
# A DeadlineRenewal with a deadline, as one statement: the row is neither read nor decoded.
_RENEW = (
    "UPDATE objects SET expires = ? WHERE usecase = ? AND key = ? AND scope = ?"
    " AND expires >= ? AND expires < ?"
    " AND json_extract(metadata, '$.expiration.tti') IS NOT NULL"
)

Update = Callable[[ObjectMetadata], ObjectMetadata | None]


class OldFormatError(ValueError):
    """The root holds objects in the earlier one-file-per-object format."""


@dataclass(frozen=True)
class ListedObject:
    """One object as listed by :meth:`TieredBackend.iter_objects`."""

    usecase: str
    scopes: Scopes
    key: str
    size: int
    created: datetime | None


class TieredBackend:
    """Objects in a SQLite database under ``root``, large payloads in revision files.

    ``fsync=True`` commits with ``synchronous=FULL`` and ``fsync``-s revision files and
    their directories before the commit that names them: a write that was answered
    survives a power loss. ``fsync=False`` commits with ``synchronous=NORMAL`` and
    skips the file ``fsync`` calls: writes stay atomic and survive a killed process,
    and the database stays consistent after a power loss, but the latest writes may be
    lost (a large object's file may then be missing or short, which reads report as
    an error). Meant for throwaway stores (tests).

    ``files`` performs the writes of revision and part files (:class:`.files.FileLayer`,
    the system calls by default); tests pass one that fails like a full disk. A write
    that fails, for ``ENOSPC`` or any other reason, removes its file before the error
    propagates; a full database is reported as ``OSError(ENOSPC)`` too.
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
        _refuse_old_format(self.root)
        files = files or FileLayer()
        self.fsync = fsync
        self.db = Database(os.path.join(self.root, DATABASE), durable=fsync)
        self.revisions = FileTier(
            os.path.join(self.root, REVISIONS_DIR), durable=fsync, files=files
        )
        parts = FileTier(os.path.join(self.root, PARTS_DIR), durable=fsync, files=files)
        self.uploads = TieredUploadStore(self.db, parts)
        self._renew_in_sql = _has_json(self.db)

    def close(self) -> None:
        """Close the database connections of every thread."""
        self.db.close()

    # -- writes ------------------------------------------------------------------------

    def put(self, location: ObjectLocation, metadata: ObjectMetadata, body: BodyReader) -> int:
        head, more = _read_head(body, INLINE_LIMIT)
        if not more and not isinstance(body, ChainReader):
            self._swap(location, metadata, len(head), head, None)
            return len(head)
        # Larger than the inline limit, or a multipart completion: a new revision file.
        new = self.revisions.create()
        try:
            new.write(head)
            while chunk := body.read(BULK):
                new.write(chunk)
            name = new.publish()
        except BaseException:
            new.abort()
            raise
        try:
            self._swap(location, metadata, new.size, None, name)
        except BaseException:
            self.revisions.remove([name])  # never committed: nobody names it
            raise
        return new.size

    def _swap(
        self,
        location: ObjectLocation,
        metadata: ObjectMetadata,
        size: int,
        payload: bytes | None,
        revision: str | None,
    ) -> None:
        """Point the object's row at its new payload; then remove the old revision."""
        params = location_params(location)
        document, created, expires = encode_metadata(metadata)
        with self.db.write() as connection:
            rows = connection.execute(_FIND_ROW, params).fetchall()
            if rows:
                object_id, old = rows[0]
                connection.execute(
                    _UPDATE_OBJECT, (document, created, expires, size, revision, object_id)
                )
            else:
                old = None
                cursor = connection.execute(
                    _INSERT_OBJECT, (*params, document, created, expires, size, revision)
                )
                object_id = cursor.lastrowid
            if payload is not None:
                connection.execute(
                    "INSERT OR REPLACE INTO payloads (object, data) VALUES (?, ?)",
                    (object_id, payload),
                )
            elif rows:
                connection.execute("DELETE FROM payloads WHERE object = ?", (object_id,))
        self.revisions.remove([old])

    def update_metadata(self, location: ObjectLocation, update: Update) -> ObjectMetadata | None:
        durable = not isinstance(update, DeadlineRenewal)
        with self.db.write(durable=durable) as connection:
            new = _update_row(connection, location, update)
        return None if new is None else copy_metadata(new)

    def renew_many(self, renewals: Sequence[tuple[ObjectLocation, DeadlineRenewal]]) -> None:
        """Apply several best-effort renewals (``update_metadata``) in one transaction.

        A renewal that names its deadline is one conditional ``UPDATE`` of the
        ``expires`` column (the policy is checked in the stored JSON): no row is read,
        decoded or re-encoded.
        """
        direct: list[tuple[object, ...]] = []
        others: list[tuple[ObjectLocation, DeadlineRenewal]] = []
        for location, renewal in renewals:
            due, since = renewal.deadline, renewal.not_before
            if self._renew_in_sql and due is not None and since is not None:
                deadline = to_micros(due)
                direct.append((deadline, *location_params(location), to_micros(since), deadline))
            else:
                others.append((location, renewal))
        with self.db.write(durable=False) as connection:
            if direct:
                connection.executemany(_RENEW, direct)
            for location, update in others:
                _update_row(connection, location, update)

    def delete(self, location: ObjectLocation) -> None:
        with self.db.write() as connection:
            rows = connection.execute(_FIND_ROW, location_params(location)).fetchall()
            if not rows:
                return
            object_id, old = rows[0]
            connection.execute("DELETE FROM objects WHERE id = ?", (object_id,))
            connection.execute("DELETE FROM payloads WHERE object = ?", (object_id,))
        self.revisions.remove([old])

    # -- reads -------------------------------------------------------------------------

    def get(self, location: ObjectLocation) -> StoredObject | None:
        params = location_params(location)
        missing = None
        for _attempt in range(_OPEN_ATTEMPTS):
            rows = self.db.read(_FIND, params)
            if not rows:
                return None
            document, created, expires, size, revision, payload = rows[0]
            metadata = decode_metadata(document, created, expires)
            if revision is None:
                return InlineObject(metadata, payload)
            try:
                fd = self.revisions.open(revision)
            except FileNotFoundError:
                if revision == missing:
                    break
                missing = revision  # replaced and removed since the query: look again
                continue
            return _file_object(fd, metadata, size, revision)
        raise OSError(errno.EIO, f"revision file {missing} of {location!r} is missing")

    def head(self, location: ObjectLocation) -> ObjectHead | None:
        """The metadata and size; an inline payload is not read."""
        rows = self.db.read(_FIND_HEAD, location_params(location))
        if not rows:
            return None
        document, created, expires, size, revision = rows[0]
        if revision is not None:  # a missing or short revision file is an error, as in get
            found = self.get(location)
            if found is None:
                return None
            found.close()
            return ObjectHead(found.metadata, found.size)
        return ObjectHead(decode_metadata(document, created, expires), size)

    def iter_objects(self, usecase: str, *, page_size: int = 1000) -> Iterator[ListedObject]:
        """Every object of ``usecase``, expired or not, in key order (then scope order).

        Reads one page of ``page_size`` rows per query, so no read transaction stays
        open between pages; objects written meanwhile may or may not be listed.
        """
        encoded = encode_text(usecase)
        after: tuple[bytes, str] = (b"", "")
        query = (
            "SELECT key, scope, size, created FROM objects"
            " WHERE usecase = ? AND (key, scope) > (?, ?) ORDER BY key, scope LIMIT ?"
        )
        first = "SELECT key, scope, size, created FROM objects WHERE usecase = ?"
        first += " ORDER BY key, scope LIMIT ?"
        rows = self.db.read(first, (encoded, page_size))
        while rows:
            for key, scope, size, created in rows:
                yield ListedObject(
                    usecase, decode_scopes(scope), decode_text(key), size, from_micros(created)
                )
            after = (rows[-1][0], rows[-1][1])
            rows = self.db.read(query, (encoded, *after, page_size))

    # -- maintenance ---------------------------------------------------------------------

    def sweep(self, now: datetime) -> int:
        """Remove objects expired before ``now`` and unreferenced revision files.

        Returns the number of objects removed.
        """
        cutoff = to_micros(now)
        removed = 0
        while True:
            with self.db.write() as connection:
                rows = connection.execute(
                    "SELECT id, revision FROM objects WHERE expires < ? LIMIT ?",
                    (cutoff, _SWEEP_BATCH),
                ).fetchall()
                ids = [(row[0],) for row in rows]
                connection.executemany("DELETE FROM objects WHERE id = ?", ids)
                connection.executemany("DELETE FROM payloads WHERE object = ?", ids)
            self.revisions.remove(row[1] for row in rows)
            removed += len(rows)
            if len(rows) < _SWEEP_BATCH:
                break
        self.revisions.sweep(self._referenced)
        return removed

    def _referenced(self, name: str) -> bool:
        return bool(self.db.read("SELECT 1 FROM objects WHERE revision = ?", (name,)))


def _update_row(
    connection: sqlite3.Connection, location: ObjectLocation, update: Update
) -> ObjectMetadata | None:
    """Replace one object's metadata inside a write transaction; the stored metadata."""
    rows = connection.execute(_FIND_METADATA, location_params(location)).fetchall()
    if not rows:
        return None
    object_id, document, created, expires = rows[0]
    current = decode_metadata(document, created, expires)
    new = update(copy_metadata(current))
    if new is None:
        return current
    connection.execute(_UPDATE_METADATA, (*encode_metadata(new), object_id))
    return new


def _has_json(db: Database) -> bool:
    """Whether this SQLite has ``json_extract`` (built in since 3.38, usual before)."""
    try:
        db.read("SELECT json_extract('{}', '$.a')")
    except sqlite3.OperationalError:
        return False
    return True


def _file_object(fd: int, metadata: ObjectMetadata, size: int, name: str) -> FileObject:
    try:
        actual = os.fstat(fd).st_size
    except BaseException:
        os.close(fd)
        raise
    if actual != size:
        os.close(fd)
        raise OSError(errno.EIO, f"revision file {name} has {actual} bytes, its row says {size}")
    return FileObject(fd, metadata, size)


def _read_head(body: BodyReader, limit: int) -> tuple[bytes, bool]:
    """Up to ``limit + 1`` bytes of ``body``: the bytes, and whether there are more."""
    chunks: list[bytes] = []
    total = 0
    while total <= limit:
        chunk = body.read(min(CHUNK, limit + 1 - total))
        if not chunk:
            return b"".join(chunks), False
        chunks.append(chunk)
        total += len(chunk)
    return b"".join(chunks), True


def _refuse_old_format(root: str) -> None:
    for marker in _OLD_FORMAT_MARKERS:
        if os.path.isdir(os.path.join(root, marker)):
            raise OldFormatError(
                f"storage path {root!r} (OS__STORAGE__PATH) holds objects in the old "
                f"one-file-per-object format (it has a {marker!r} directory), which this "
                f"version cannot read: it keeps objects in {DATABASE}. No migration "
                "exists (that format was never released): move the directory away and "
                "start on an empty one"
            )
