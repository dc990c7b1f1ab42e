"""Multipart staging of the tiered backend: rows in its database, parts in files.

An upload is a row in ``uploads`` (target location, metadata, initiation and last
activity time); each staged part is a row in ``parts`` naming an immutable file under
``<root>/parts`` (:class:`~.revisions.FileTier`). A part is received into a temporary
file, flushed, ``fsync``-ed and published under a new name; one transaction then
checks that the upload still exists and points the part's row at the file, and the
file it replaced is removed after the commit. A crash in between leaves an
unreferenced file that the sweep removes. Upload ids are server-generated UUIDs;
anything else is reported as an unknown upload.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from typing import IO

from django_objectstore.server.backends.records import ObjectLocation, ObjectMetadata
from django_objectstore.server.backends.tiered.database import (
    Database,
    decode_metadata,
    decode_scopes,
    decode_text,
    encode_metadata,
    from_micros,
    location_params,
    to_micros,
)
from django_objectstore.server.backends.tiered.revisions import FileTier, NewFile
from django_objectstore.server.backends.uploads import (
    STALE_AFTER,
    ClosingReader,
    PartInfo,
    StagedPart,
    Upload,
    UploadNotFound,
    UploadStore,
    is_upload_id,
    new_upload_id,
)

_FIND_UPLOAD = "SELECT usecase, scope, key, metadata, initiated FROM uploads WHERE id = ?"
_PARTS = "SELECT number, etag, size, modified, file FROM parts WHERE upload = ? ORDER BY number"


class _PartFile:
    def __init__(self, path: str) -> None:
        self._file: IO[bytes] = open(path, "rb")  # noqa: SIM115 - closed by close()

    def read(self, n: int = -1, /) -> bytes:
        return self._file.read(n)

    def close(self) -> None:
        self._file.close()


class _StagedPartFile:
    def __init__(self, record: PartInfo, path: str) -> None:
        self.record = record
        self.path = path

    def info(self) -> PartInfo:
        return self.record

    def open(self) -> ClosingReader:
        return _PartFile(self.path)


class _IncomingPart:
    """A part being received: a new file, published, then named by the part's row."""

    def __init__(self, store: TieredUploadStore, location: ObjectLocation, upload_id: str):
        self._store = store
        self._location = location
        self._upload_id = upload_id
        self._file: NewFile = store.parts.create()
        self._info: PartInfo | None = None
        self._name: str | None = None
        self.done = False

    def write(self, data: bytes, /) -> object:
        return self._file.write(data)

    def seal(self, info: PartInfo) -> None:
        self._name = self._file.publish()
        self._info = info

    def publish(self) -> None:
        info, name = self._info, self._name
        assert info is not None and name is not None, "seal() comes before publish()"
        self._store.attach(self._location, self._upload_id, info, name)
        self.done = True

    def discard(self) -> None:
        if self._name is None:
            self._file.abort()
        elif not self.done:
            self._store.parts.remove([self._name])


class TieredUploadStore(UploadStore):
    """Uploads and parts recorded in the backend's database."""

    def __init__(self, db: Database, parts: FileTier) -> None:
        super().__init__()
        self.db = db
        self.parts = parts

    def create(self, location: ObjectLocation, metadata: ObjectMetadata, now: datetime) -> str:
        upload_id = new_upload_id()
        usecase, key, scope = location_params(location)
        document = encode_metadata(metadata)[0]
        initiated = to_micros(now)
        with self.db.write() as connection:
            connection.execute(
                "INSERT INTO uploads (id, usecase, scope, key, metadata, initiated, touched)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (upload_id, usecase, scope, key, document, initiated, initiated),
            )
        return upload_id

    def find(self, location: ObjectLocation, upload_id: str) -> Upload:
        if not is_upload_id(upload_id):
            raise UploadNotFound(upload_id)
        rows = self.db.read(_FIND_UPLOAD, (upload_id,))
        if not rows:
            raise UploadNotFound(upload_id)
        usecase, scope, key, document, initiated = rows[0]
        stored = ObjectLocation(decode_text(usecase), decode_scopes(scope), decode_text(key))
        if stored != location:
            raise UploadNotFound(upload_id)
        started = from_micros(initiated)
        assert started is not None
        return Upload(upload_id, stored, decode_metadata(document, initiated, None), started)

    @contextmanager
    def receive(self, location: ObjectLocation, upload_id: str) -> Iterator[_IncomingPart]:
        part = _IncomingPart(self, location, upload_id)
        try:
            yield part
        finally:
            part.discard()

    def attach(self, location: ObjectLocation, upload_id: str, info: PartInfo, name: str) -> None:
        """Point part ``info.part_number`` at file ``name``; ``UploadNotFound`` if gone."""
        with self.db.write() as connection:
            rows = connection.execute(
                "SELECT usecase, key, scope FROM uploads WHERE id = ?", (upload_id,)
            ).fetchall()
            if not rows or tuple(rows[0]) != location_params(location):
                raise UploadNotFound(upload_id)
            old = connection.execute(
                "SELECT file FROM parts WHERE upload = ? AND number = ?",
                (upload_id, info.part_number),
            ).fetchall()
            modified = to_micros(info.last_modified)
            connection.execute(
                "INSERT OR REPLACE INTO parts (upload, number, etag, size, modified, file)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (upload_id, info.part_number, info.etag, info.size, modified, name),
            )
            connection.execute(
                "UPDATE uploads SET touched = max(touched, ?) WHERE id = ?",
                (modified, upload_id),
            )
        self.parts.remove(row[0] for row in old)

    def _records(self, upload_id: str) -> list[tuple[PartInfo, str]]:
        records = []
        for number, etag, size, modified, name in self.db.read(_PARTS, (upload_id,)):
            last_modified = from_micros(modified)
            assert last_modified is not None
            records.append((PartInfo(number, etag, size, last_modified), name))
        return records

    def list_parts(self, location: ObjectLocation, upload_id: str) -> list[PartInfo]:
        self.find(location, upload_id)
        return [info for info, _name in self._records(upload_id)]

    def staged(
        self, location: ObjectLocation, upload_id: str
    ) -> tuple[Upload, Mapping[int, StagedPart]]:
        upload = self.find(location, upload_id)
        return upload, {
            info.part_number: _StagedPartFile(info, self.parts.path(name))
            for info, name in self._records(upload_id)
        }

    def remove(self, location: ObjectLocation, upload_id: str) -> None:
        try:
            self.find(location, upload_id)
        except UploadNotFound:
            return
        self._drop([upload_id])

    def _drop(self, upload_ids: list[str], *, idle_before: int | None = None) -> int:
        """Delete uploads and their parts (with ``idle_before``: only those still idle)."""
        names: list[str] = []
        dropped = 0
        with self.db.write() as connection:
            for upload_id in upload_ids:
                if idle_before is not None:
                    idle = connection.execute(
                        "SELECT 1 FROM uploads WHERE id = ? AND touched < ?",
                        (upload_id, idle_before),
                    ).fetchall()
                    if not idle:
                        continue
                rows = connection.execute(
                    "SELECT file FROM parts WHERE upload = ?", (upload_id,)
                ).fetchall()
                names.extend(row[0] for row in rows)
                connection.execute("DELETE FROM parts WHERE upload = ?", (upload_id,))
                dropped += connection.execute(
                    "DELETE FROM uploads WHERE id = ?", (upload_id,)
                ).rowcount
        self.parts.remove(names)
        return dropped

    def sweep_stale_uploads(self, now: datetime) -> int:
        cutoff = to_micros(now - STALE_AFTER)
        stale = [
            row[0] for row in self.db.read("SELECT id FROM uploads WHERE touched < ?", (cutoff,))
        ]
        removed = self._drop(stale, idle_before=cutoff) if stale else 0
        self.parts.sweep(self._referenced)
        return removed

    def _referenced(self, name: str) -> bool:
        return bool(self.db.read("SELECT 1 FROM parts WHERE file = ?", (name,)))
