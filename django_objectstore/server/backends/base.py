"""The interface every backend implements.

A backend stores whole objects atomically: readers see the previous object or the new
one, never a mix or a prefix. It knows nothing of HTTP, auth or expiration rules; the
engine (``engine.py``) decides those and hands the backend finished metadata. It also
owns the staging of multipart uploads (:attr:`Backend.uploads`), kept wherever its
objects are kept.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from django_objectstore.server.backends.records import (
    DeadlineRenewal,
    ObjectHead,
    ObjectLocation,
    ObjectMetadata,
    StoredObject,
)
from django_objectstore.server.backends.uploads import UploadStore
from django_objectstore.server.messages import BodyReader


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

    def head(self, location: ObjectLocation) -> ObjectHead | None:
        """Like :meth:`get`, without the payload: its metadata and stored size."""
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

    def renew_many(self, renewals: Sequence[tuple[ObjectLocation, DeadlineRenewal]]) -> None:
        """Apply several TTI renewals (as ``update_metadata`` would), best effort.

        The tiered backend stores them in one transaction; batch requests and
        keepalive renew many objects at once through :meth:`Engine.touch_many`.
        """
        ...

    def delete(self, location: ObjectLocation) -> None:
        """Remove the object; a missing object is not an error."""
        ...

    def sweep(self, now: datetime) -> int:
        """Remove objects whose ``time_expires`` is before ``now``; returns how many."""
        ...

    @property
    def uploads(self) -> UploadStore:
        """The staging store of this backend's multipart uploads."""
        ...
