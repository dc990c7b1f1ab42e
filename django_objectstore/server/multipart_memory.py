"""Multipart staging in memory, for the memory backend (lost when the process ends)."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime

from django_objectstore.server.backends.base import ObjectLocation, ObjectMetadata
from django_objectstore.server.multipart_store import (
    STALE_AFTER,
    ClosingReader,
    PartInfo,
    StagedPart,
    Upload,
    UploadNotFound,
    UploadStore,
    new_upload_id,
)


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

    def _find(self, location: ObjectLocation, upload_id: str) -> _MemoryUpload:
        with self._guard:
            found = self._uploads.get(upload_id)
        if found is None or found.upload.location != location:
            raise UploadNotFound(upload_id)
        return found

    def _load(self, location: ObjectLocation, upload_id: str) -> Upload:
        return self._find(location, upload_id).upload

    @contextmanager
    def _receive(self, location: ObjectLocation, upload_id: str) -> Iterator[_MemoryPart]:
        yield _MemoryPart(self._guard, self._find(location, upload_id))

    def _staged(
        self, location: ObjectLocation, upload_id: str
    ) -> tuple[Upload, Mapping[int, StagedPart]]:
        found = self._find(location, upload_id)
        with self._guard:
            return found.upload, dict(found.parts)

    def create(self, location: ObjectLocation, metadata: ObjectMetadata, now: datetime) -> str:
        upload_id = new_upload_id()
        upload = Upload(upload_id, location, metadata, now)
        with self._guard:
            self._uploads[upload_id] = _MemoryUpload(upload, now)
        return upload_id

    def list_parts(self, location: ObjectLocation, upload_id: str) -> list[PartInfo]:
        found = self._find(location, upload_id)
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
