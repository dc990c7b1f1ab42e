"""An in-memory backend, for tests and ``memory://`` clients. Not durable.

Objects and multipart uploads in progress live in dictionaries and are lost when the
process ends.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from django_objectstore.server.backends.records import (
    DeadlineRenewal,
    ObjectHead,
    ObjectLocation,
    ObjectMetadata,
    copy_metadata,
)
from django_objectstore.server.backends.uploads import (
    STALE_AFTER,
    ClosingReader,
    PartInfo,
    StagedPart,
    Upload,
    UploadNotFound,
    UploadStore,
    new_upload_id,
)
from django_objectstore.server.messages import BodyReader

_CHUNK = 64 * 1024


@dataclass
class MemoryObject:
    """A stored object; ``payload`` is immutable, so readers share it without copying."""

    metadata: ObjectMetadata
    payload: bytes
    size: int = field(init=False)

    def __post_init__(self) -> None:
        self.size = len(self.payload)

    def iter_bytes(self, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        start = max(0, start)
        end = self.size if end is None else max(start, min(end, self.size))
        view = memoryview(self.payload)[start:end]
        for offset in range(0, len(view), _CHUNK):
            yield bytes(view[offset : offset + _CHUNK])

    def close(self) -> None:
        return None


class _BytesReader:
    def __init__(self, data: bytes) -> None:
        self._view = memoryview(data)
        self._pos = 0

    def read(self, n: int = -1, /) -> bytes:
        end = len(self._view) if n < 0 else min(len(self._view), self._pos + n)
        chunk = bytes(self._view[self._pos : end])
        self._pos = end
        return chunk

    def close(self) -> None:
        return None


@dataclass(frozen=True)
class _StagedBytes:
    record: PartInfo
    data: bytes

    def info(self) -> PartInfo:
        return self.record

    def open(self) -> ClosingReader:
        return _BytesReader(self.data)


@dataclass
class _MemoryUpload:
    upload: Upload
    touched: datetime
    parts: dict[int, _StagedBytes] = field(default_factory=dict)


class _MemoryPart:
    """A part's chunks until it is published into its upload."""

    def __init__(self, guard: threading.Lock, target: _MemoryUpload) -> None:
        self._guard = guard
        self._target = target
        self._chunks: list[bytes] = []
        self._info: PartInfo | None = None

    def write(self, data: bytes, /) -> object:
        self._chunks.append(data)
        return None

    def seal(self, info: PartInfo) -> None:
        self._info = info

    def publish(self) -> None:
        info = self._info
        assert info is not None, "seal() comes before publish()"
        with self._guard:
            self._target.parts[info.part_number] = _StagedBytes(info, b"".join(self._chunks))
            self._target.touched = max(self._target.touched, info.last_modified)


class MemoryUploadStore(UploadStore):
    """Uploads kept in memory, for the memory backend."""

    def __init__(self) -> None:
        super().__init__()
        self._uploads: dict[str, _MemoryUpload] = {}
        self._guard = threading.Lock()

    def _entry(self, location: ObjectLocation, upload_id: str) -> _MemoryUpload:
        with self._guard:
            found = self._uploads.get(upload_id)
        if found is None or found.upload.location != location:
            raise UploadNotFound(upload_id)
        return found

    def find(self, location: ObjectLocation, upload_id: str) -> Upload:
        return self._entry(location, upload_id).upload

    @contextmanager
    def receive(self, location: ObjectLocation, upload_id: str) -> Iterator[_MemoryPart]:
        yield _MemoryPart(self._guard, self._entry(location, upload_id))

    def staged(
        self, location: ObjectLocation, upload_id: str
    ) -> tuple[Upload, Mapping[int, StagedPart]]:
        found = self._entry(location, upload_id)
        with self._guard:
            return found.upload, dict(found.parts)

    def create(self, location: ObjectLocation, metadata: ObjectMetadata, now: datetime) -> str:
        upload_id = new_upload_id()
        upload = Upload(upload_id, location, metadata, now)
        with self._guard:
            self._uploads[upload_id] = _MemoryUpload(upload, now)
        return upload_id

    def list_parts(self, location: ObjectLocation, upload_id: str) -> list[PartInfo]:
        found = self._entry(location, upload_id)
        with self._guard:
            return [found.parts[number].record for number in sorted(found.parts)]

    def remove(self, location: ObjectLocation, upload_id: str) -> None:
        with self._guard:
            found = self._uploads.get(upload_id)
            if found is not None and found.upload.location == location:
                del self._uploads[upload_id]

    def sweep_stale_uploads(self, now: datetime) -> int:
        with self._guard:
            stale = [key for key, up in self._uploads.items() if now - up.touched > STALE_AFTER]
            for key in stale:
                del self._uploads[key]
        return len(stale)


class MemoryBackend:
    """Objects in a dictionary; requests never block on I/O, so they may run inline."""

    nonblocking = True
    """Read by the HTTP runner: requests over this backend may run on the event loop."""

    def __init__(self) -> None:
        self._objects: dict[ObjectLocation, MemoryObject] = {}
        self._lock = threading.Lock()
        self.uploads = MemoryUploadStore()

    def put(self, location: ObjectLocation, metadata: ObjectMetadata, body: BodyReader) -> int:
        chunks = []
        while chunk := body.read(_CHUNK):
            chunks.append(chunk)
        stored = MemoryObject(copy_metadata(metadata), b"".join(chunks))
        with self._lock:
            self._objects[location] = stored
        return stored.size

    def get(self, location: ObjectLocation) -> MemoryObject | None:
        with self._lock:
            found = self._objects.get(location)
        if found is None:
            return None
        return MemoryObject(copy_metadata(found.metadata), found.payload)

    def head(self, location: ObjectLocation) -> ObjectHead | None:
        found = self.get(location)  # the payload is shared, not copied: nothing to save
        return None if found is None else ObjectHead(found.metadata, found.size)

    def update_metadata(
        self,
        location: ObjectLocation,
        update: Callable[[ObjectMetadata], ObjectMetadata | None],
    ) -> ObjectMetadata | None:
        with self._lock:
            found = self._objects.get(location)
            if found is None:
                return None
            new = update(copy_metadata(found.metadata))
            if new is None:
                return copy_metadata(found.metadata)
            # A new record rather than mutating: objects handed out by get() keep
            # the snapshot they were read with.
            self._objects[location] = MemoryObject(copy_metadata(new), found.payload)
            return copy_metadata(new)

    def renew_many(self, renewals: Sequence[tuple[ObjectLocation, DeadlineRenewal]]) -> None:
        for location, renewal in renewals:
            self.update_metadata(location, renewal)

    def delete(self, location: ObjectLocation) -> None:
        with self._lock:
            self._objects.pop(location, None)

    def sweep(self, now: datetime) -> int:
        with self._lock:
            expired = [
                location
                for location, stored in self._objects.items()
                if stored.metadata.time_expires is not None and stored.metadata.time_expires < now
            ]
            for location in expired:
                del self._objects[location]
        return len(expired)
