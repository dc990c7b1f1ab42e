"""The records a backend stores: where an object is, its metadata, and a found object."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

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
    (the tiered backend commits it without syncing the database's log), as long as
    readers never see a wrong deadline. Other updates
    (``PATCH``) are stored as durably as a write.

    When ``deadline`` is set, ``update`` is exactly: an object that still has a TTI
    policy and a deadline at or after ``not_before`` but before ``deadline`` gets
    ``time_expires = deadline``; anything else stays as it is. A backend may then store
    the renewal without reading the object's metadata (the tiered backend runs one
    conditional ``UPDATE`` of the deadline column).
    """

    update: Callable[[ObjectMetadata], ObjectMetadata | None]
    deadline: datetime | None = None
    not_before: datetime | None = None

    def __call__(self, current: ObjectMetadata) -> ObjectMetadata | None:
        return self.update(current)


@dataclass(frozen=True)
class ObjectHead:
    """An object's metadata and stored size, without its payload (what a HEAD needs)."""

    metadata: ObjectMetadata
    size: int


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
