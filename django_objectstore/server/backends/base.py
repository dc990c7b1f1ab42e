"""The interface every backend implements, and the records it stores.

A backend stores whole objects atomically: readers see the previous object or the new
one, never a mix or a prefix. It knows nothing of HTTP, auth or expiration rules; the
engine (``engine.py``) decides those and hands the backend finished metadata.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from django_objectstore.server.messages import BodyReader
from django_objectstore.wire.expiration import ExpirationPolicy
from django_objectstore.wire.scopes import Scopes


@dataclass(frozen=True)
class ObjectLocation:
    """Which object: usecase, ordered scopes and the decoded key (may contain ``/``)."""

    usecase: str
    scopes: Scopes
    key: str


@dataclass
class ObjectMetadata:
    content_type: str = "application/octet-stream"
    compression: str | None = None
    expiration: ExpirationPolicy | None = None
    time_created: datetime | None = None
    time_expires: datetime | None = None
    origin: str | None = None
    filename: str | None = None
    custom: dict[str, str] = field(default_factory=dict)


def copy_metadata(metadata: ObjectMetadata) -> ObjectMetadata:
    """An independent copy: every field but ``custom`` is immutable, so one level is enough."""
    return dataclasses.replace(metadata, custom=dict(metadata.custom))


@dataclass(frozen=True)
class DeadlineRenewal:
    """An ``update_metadata`` function that only moves ``time_expires`` later, best effort.

    TTI renewal on read (protocol.md §5.3) wraps its update in this: the real service
    may drop a renewal under load, and a dropped one is redone on a later read. A
    backend may therefore store such a change more cheaply than a full metadata update
    (the filesystem backend overwrites a slot in the object file's header in place,
    without ``fsync``), as long as readers never see a wrong deadline. Other updates
    (``PATCH``) are stored as durably as a write.
    """

    update: Callable[[ObjectMetadata], ObjectMetadata | None]

    def __call__(self, current: ObjectMetadata) -> ObjectMetadata | None:
        return self.update(current)


class StoredObject(Protocol):
    """An object found by a backend; reading it streams from a consistent snapshot."""

    metadata: ObjectMetadata
    size: int
    """Stored (possibly compressed) payload size in bytes."""

    def iter_bytes(self, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Stream bytes ``start`` up to but excluding ``end`` (``None``: to the end)."""
        ...

    def close(self) -> None:
        """Release the snapshot (open file) if ``iter_bytes`` was not run to the end."""
        ...


class Backend(Protocol):
    def put(self, location: ObjectLocation, metadata: ObjectMetadata, body: BodyReader) -> int:
        """Store the whole body atomically, replacing any object; returns the byte count.

        If reading ``body`` raises (client went away), nothing changes and the error
        propagates.
        """
        ...

    def get(self, location: ObjectLocation) -> StoredObject | None:
        """The object, expired or not (expiry is the engine's business), or ``None``."""
        ...

    def update_metadata(
        self,
        location: ObjectLocation,
        update: Callable[[ObjectMetadata], ObjectMetadata | None],
    ) -> ObjectMetadata | None:
        """Atomically replace the metadata of an existing object, keeping its payload.

        ``update`` gets the current metadata and returns the new one, or ``None`` to
        leave the object unchanged. Returns the metadata now stored, or ``None`` when
        the object does not exist.
        """
        ...

    def delete(self, location: ObjectLocation) -> None:
        """Remove the object; a missing object is not an error."""
        ...

    def sweep(self, now: datetime) -> int:
        """Remove objects whose ``time_expires`` is before ``now``; returns how many."""
        ...
