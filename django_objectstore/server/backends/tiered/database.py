"""The high-volume tier: one SQLite database in WAL mode under the backend root.

Every object has a row in ``objects`` (location, metadata, expiration deadline, size,
and the name of its revision file when its payload is in the long-term tier); inline
payloads (at most 1 MiB) live in ``payloads``, keyed by the object's row id, so that
metadata updates and renewals never rewrite a payload. Multipart uploads and their
parts are rows in ``uploads`` and ``parts``.

Concurrency is SQLite's: readers run on a snapshot (WAL), writers take the write lock
with ``BEGIN IMMEDIATE``, and several processes may open one database. Within a
process, writers also queue on a mutex (cheaper than SQLite's sleeping busy handler);
across processes the busy timeout (:data:`BUSY_TIMEOUT`) applies.

Each thread gets its own connection. They are opened with ``check_same_thread=False``
only so that the connection of a thread that has finished can be closed from another
thread; a connection is never used by two threads.
"""

from __future__ import annotations

import errno
import functools
import json
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from django_objectstore.server.backends.records import ObjectLocation, ObjectMetadata
from django_objectstore.wire.expiration import ExpirationPolicy, TimeToIdle, TimeToLive
from django_objectstore.wire.scopes import Scopes

DATABASE = "objects.sqlite3"
SCHEMA_VERSION = 1
BUSY_TIMEOUT = 30.0
"""Seconds a connection waits for another process's write transaction."""
_SQLITE_FULL = 13
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)

SCHEMA = """
CREATE TABLE IF NOT EXISTS objects (
    id INTEGER PRIMARY KEY,
    usecase BLOB NOT NULL,
    scope TEXT NOT NULL,
    key BLOB NOT NULL,
    metadata TEXT NOT NULL,
    created INTEGER,
    expires INTEGER,
    size INTEGER NOT NULL,
    revision TEXT
);
CREATE UNIQUE INDEX IF NOT EXISTS objects_location ON objects (usecase, key, scope);
CREATE INDEX IF NOT EXISTS objects_expires ON objects (expires) WHERE expires IS NOT NULL;
CREATE UNIQUE INDEX IF NOT EXISTS objects_revision ON objects (revision)
    WHERE revision IS NOT NULL;
CREATE TABLE IF NOT EXISTS payloads (
    object INTEGER PRIMARY KEY,
    data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS uploads (
    id TEXT PRIMARY KEY,
    usecase BLOB NOT NULL,
    scope TEXT NOT NULL,
    key BLOB NOT NULL,
    metadata TEXT NOT NULL,
    initiated INTEGER NOT NULL,
    touched INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS uploads_touched ON uploads (touched);
CREATE TABLE IF NOT EXISTS parts (
    upload TEXT NOT NULL,
    number INTEGER NOT NULL,
    etag TEXT NOT NULL,
    size INTEGER NOT NULL,
    modified INTEGER NOT NULL,
    file TEXT NOT NULL,
    PRIMARY KEY (upload, number)
) WITHOUT ROWID;
CREATE UNIQUE INDEX IF NOT EXISTS parts_file ON parts (file);
"""


# -- values ----------------------------------------------------------------------------


def encode_text(text: str) -> bytes:
    """Usecases and keys as UTF-8 bytes (lone surrogates kept), compared bytewise."""
    return text.encode("utf-8", "surrogatepass")


def decode_text(data: bytes) -> str:
    return data.decode("utf-8", "surrogatepass")


@functools.lru_cache(maxsize=1024)  # the few scopes a request or a batch names
def encode_scopes(scopes: Scopes) -> str:
    return json.dumps([list(pair) for pair in scopes], separators=(",", ":"))


def decode_scopes(text: str) -> Scopes:
    return tuple((name, value) for name, value in json.loads(text))


def location_params(location: ObjectLocation) -> tuple[bytes, bytes, str]:
    """``(usecase, key, scope)``: the order of the ``objects_location`` index."""
    return encode_text(location.usecase), encode_text(location.key), encode_scopes(location.scopes)


def to_micros(value: datetime | None) -> int | None:
    return None if value is None else (value - _EPOCH) // _MICROSECOND


def from_micros(value: int | None) -> datetime | None:
    return None if value is None else _EPOCH + timedelta(microseconds=value)


def _policy_to_json(policy: ExpirationPolicy | None) -> dict[str, int] | None:
    if policy is None:
        return None
    kind = "ttl" if isinstance(policy, TimeToLive) else "tti"
    return {kind: policy.delta // _MICROSECOND}


def _policy_from_json(value: dict[str, int] | None) -> ExpirationPolicy | None:
    if value is None:
        return None
    if "ttl" in value:
        return TimeToLive(timedelta(microseconds=value["ttl"]))
    return TimeToIdle(timedelta(microseconds=value["tti"]))


def encode_metadata(metadata: ObjectMetadata) -> tuple[str, int | None, int | None]:
    """``(metadata JSON, created, expires)``: the deadline has a column of its own."""
    document: dict[str, Any] = {"content_type": metadata.content_type}
    if metadata.compression is not None:
        document["compression"] = metadata.compression
    if metadata.expiration is not None:
        document["expiration"] = _policy_to_json(metadata.expiration)
    if metadata.origin is not None:
        document["origin"] = metadata.origin
    if metadata.filename is not None:
        document["filename"] = metadata.filename
    if metadata.custom:
        document["custom"] = metadata.custom
    return (
        json.dumps(document, separators=(",", ":")),
        to_micros(metadata.time_created),
        to_micros(metadata.time_expires),
    )


def decode_metadata(text: str, created: int | None, expires: int | None) -> ObjectMetadata:
    content_type, compression, expiration, origin, filename, custom = _decode_document(text)
    return ObjectMetadata(
        content_type=content_type,
        compression=compression,
        expiration=expiration,
        time_created=from_micros(created),
        time_expires=from_micros(expires),
        origin=origin,
        filename=filename,
        custom=dict(custom),
    )


_Document = tuple[
    str, str | None, ExpirationPolicy | None, str | None, str | None, tuple[tuple[str, str], ...]
]


@functools.lru_cache(maxsize=1024)
def _decode_document(text: str) -> _Document:
    """The metadata JSON's fields, immutable so they can be cached: many objects share
    one document (the same content type and policy), and decoding it is most of a read."""
    document = json.loads(text)
    return (
        document["content_type"],
        document.get("compression"),
        _policy_from_json(document.get("expiration")),
        document.get("origin"),
        document.get("filename"),
        tuple(document.get("custom", {}).items()),
    )


# -- errors ----------------------------------------------------------------------------


def is_full(error: sqlite3.Error) -> bool:
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and code & 0xFF == _SQLITE_FULL


@contextmanager
def disk_errors(path: str) -> Iterator[None]:
    """SQLite's "database or disk is full" as ``OSError(ENOSPC)``, like a file write's."""
    try:
        yield
    except sqlite3.Error as error:
        if is_full(error):
            raise OSError(errno.ENOSPC, f"database or disk is full: {path}") from error
        raise


# -- connections -----------------------------------------------------------------------


def _use_wal(connection: sqlite3.Connection) -> None:
    """Switch ``connection``'s database to WAL mode, waiting out other processes.

    The first switch of a new database file needs an exclusive lock, and SQLite answers
    ``database is locked`` at once, without its busy timeout, when another process holds
    a lock at that moment: it happens when several processes (server workers, a Django
    site's web workers on an embedded store) open a fresh store together. So the switch
    is retried, backing off, for up to :data:`BUSY_TIMEOUT` seconds. Once the file is in
    WAL mode (it stays so), the statement needs no such lock.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT
    delay = 0.001
    while True:
        try:
            connection.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() + delay > deadline:
                raise
        time.sleep(delay)  # SQLite's own busy handler sleeps the same way
        delay = min(delay * 2, 0.05)


class Database:
    """Connections to one database file: one per thread, transactions as context managers.

    ``durable`` maps the backend's ``fsync`` option: ``synchronous=FULL`` (the WAL is
    synced at every commit) or ``NORMAL`` (synced at checkpoints only: a power loss
    may undo the latest commits but never corrupts the database; a killed process
    loses nothing that was committed).
    """

    def __init__(self, path: str, *, durable: bool) -> None:
        self.path = path
        self.durable = durable
        self._synchronous = "FULL" if durable else "NORMAL"
        self._local = threading.local()
        self._write_lock = threading.Lock()
        self._guard = threading.Lock()
        self._open: list[tuple[weakref.ref[threading.Thread], sqlite3.Connection]] = []
        self._pid = os.getpid()
        # A database dropped without close() still closes its connections when collected
        # (or at exit), instead of leaving them to the garbage collector unclosed.
        weakref.finalize(self, _close_all, self._open, self._guard)
        with self.write() as connection:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (opened on first use, again after a ``fork``)."""
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None or self._pid != os.getpid():
            connection = self._connect()
        return connection

    def _connect(self) -> sqlite3.Connection:
        if self._pid != os.getpid():  # a forked child: the parent's connections are not ours
            self._pid = os.getpid()
            self._open.clear()
            self._write_lock = threading.Lock()
        with disk_errors(self.path):
            connection = sqlite3.connect(
                self.path,
                timeout=BUSY_TIMEOUT,
                isolation_level=None,
                check_same_thread=False,
                cached_statements=64,
            )
            try:
                os.chmod(self.path, 0o600)
                _use_wal(connection)
                connection.execute(f"PRAGMA synchronous = {self._synchronous}")
                connection.execute("PRAGMA journal_size_limit = 67108864")
                connection.execute("PRAGMA temp_store = MEMORY")
            except BaseException:
                connection.close()
                raise
        self._local.connection = connection
        with self._guard:
            finished = [pair for pair in self._open if not _alive(pair[0])]
            self._open[:] = [pair for pair in self._open if _alive(pair[0])]
            self._open.append((weakref.ref(threading.current_thread()), connection))
        for _thread, old in finished:
            old.close()
        return connection

    def close(self) -> None:
        """Close every connection (call when no thread uses the database any more)."""
        _close_all(self._open, self._guard)
        self._local = threading.local()

    def read(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        """All rows of one query, run to its end so no read transaction stays open."""
        with disk_errors(self.path):
            return self.connection().execute(sql, params).fetchall()

    @contextmanager
    def write(self, *, durable: bool = True) -> Iterator[sqlite3.Connection]:
        """A write transaction (``BEGIN IMMEDIATE``), committed when the block ends.

        ``durable=False`` commits without syncing the WAL even when the database is
        durable: for best-effort changes (TTI renewals). A later durable commit syncs
        them too.
        """
        connection = self.connection()
        relaxed = self.durable and not durable
        with self._write_lock, disk_errors(self.path):
            if relaxed:
                connection.execute("PRAGMA synchronous = NORMAL")
            try:
                connection.execute("BEGIN IMMEDIATE")
                try:
                    yield connection
                    connection.execute("COMMIT")
                except BaseException:
                    if connection.in_transaction:
                        connection.execute("ROLLBACK")
                    raise
            finally:
                if relaxed:
                    connection.execute(f"PRAGMA synchronous = {self._synchronous}")


def _alive(thread: weakref.ref[threading.Thread]) -> bool:
    found = thread()
    return found is not None and found.is_alive()


def _close_all(
    open_connections: list[tuple[weakref.ref[threading.Thread], sqlite3.Connection]],
    guard: threading.Lock,
) -> None:
    with guard:
        connections = open_connections[:]
        open_connections.clear()
    for _thread, connection in connections:
        connection.close()
