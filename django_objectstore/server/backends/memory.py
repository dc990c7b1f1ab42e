"""An in-memory backend, for tests and ``memory://`` clients. Not durable."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime

from django_objectstore.server.backends.base import ObjectLocation, ObjectMetadata, copy_metadata
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


class MemoryBackend:
    def __init__(self) -> None:
        self._objects: dict[ObjectLocation, MemoryObject] = {}
        self._lock = threading.Lock()

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
