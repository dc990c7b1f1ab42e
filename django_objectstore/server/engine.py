"""The storage engine: expiration rules and metadata stamping over a :class:`Backend`.

Every endpoint (single object, batch, multipart) goes through an :class:`Engine`, so
request time, TTL/TTI deadlines, renewal on read, usecase policies and expiry extension
behave the same everywhere. Backends only store what the engine hands them.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from django_objectstore.server.backends.base import Backend
from django_objectstore.server.backends.records import (
    DeadlineRenewal,
    ObjectHead,
    ObjectLocation,
    ObjectMetadata,
    StoredObject,
)
from django_objectstore.server.backends.uploads import UploadStore
from django_objectstore.server.clock import Clock
from django_objectstore.server.config import PolicyRule, ServerConfig
from django_objectstore.server.errors import ProtocolError, disk_full_as_507
from django_objectstore.server.messages import BodyReader
from django_objectstore.wire.durations import format_duration
from django_objectstore.wire.expiration import (
    ExpirationPolicy,
    TimeToIdle,
    TimeToLive,
    format_expiration,
)
from django_objectstore.wire.timestamps import MAX_TIMESTAMP, ceil_second

MAX_DEBOUNCE = timedelta(hours=24)


@dataclass(frozen=True)
class ExtendAt:
    """Extend to an absolute deadline (whole seconds, UTC)."""

    at: datetime


@dataclass(frozen=True)
class ExtendAfter:
    """Extend to ``after`` past the object's creation or past the request time."""

    after: timedelta
    origin: Literal["creation", "now"]


ExtendTarget = ExtendAt | ExtendAfter


_ROUNDING_UNITS = (86400, 3600, 60)


def round_lifetime(seconds: int) -> timedelta:
    """The coarsest whole days, hours or minutes within 1 % of ``seconds``, else seconds."""
    for unit in _ROUNDING_UNITS:
        rounded = (seconds + unit // 2) // unit * unit
        if rounded > 0 and abs(rounded - seconds) * 100 <= seconds:
            return timedelta(seconds=rounded)
    return timedelta(seconds=seconds)


def rewritten_policy(current: ObjectMetadata, deadline: datetime) -> ExpirationPolicy | None:
    """The policy to store after extending ``current`` to ``deadline``.

    TTL becomes the new total lifetime (rounded, see :func:`round_lifetime`); TTI keeps
    its duration.
    """
    policy = current.expiration
    if not isinstance(policy, TimeToLive):
        return policy
    if current.time_created is not None:
        lifetime = deadline - current.time_created
    else:
        assert current.time_expires is not None
        lifetime = policy.delta + (deadline - current.time_expires)
    return TimeToLive(round_lifetime(lifetime.days * 86400 + lifetime.seconds))


def add_deadline(start: datetime, delta: timedelta) -> datetime | None:
    """``start + delta`` rounded up to a whole second; ``None`` past 9999-12-31."""
    try:
        deadline = ceil_second(start + delta)
    except OverflowError:
        return None
    return deadline if deadline <= MAX_TIMESTAMP else None


@functools.lru_cache(maxsize=256)
def _renewal_due(now: datetime, tti: timedelta) -> tuple[datetime, timedelta] | None:
    """The deadline a TTI read at ``now`` renews to and the debounce before it is due;
    ``None`` past 9999-12-31. Cached: a batch's reads share ``now`` and their policy."""
    renewed = add_deadline(now, tti)
    if renewed is None:
        return None
    return renewed, min(tti / 4, MAX_DEBOUNCE)


def is_expired(metadata: ObjectMetadata, now: datetime) -> bool:
    """Expired iff the deadline is strictly before the request time."""
    return metadata.time_expires is not None and metadata.time_expires < now


class Engine:
    """Expiration, renewal and metadata rules for one backend and one configuration."""

    def __init__(self, backend: Backend, config: ServerConfig, clock: Clock) -> None:
        self.backend = backend
        self.config = config
        self.clock = clock

    def now(self) -> datetime:
        """The request time: the clock rounded up to a whole second. Take it once."""
        return ceil_second(self.clock.now())

    # -- writes ------------------------------------------------------------------

    def validate_policy(self, usecase: str, policy: ExpirationPolicy | None) -> None:
        """``ProtocolError(400)`` when the ``usecases`` config forbids ``policy``.

        As the real server's ``usecases.rs``: the policy's kind must be allowed, and a
        TTL or TTI duration may equal its kind's ``max`` but not exceed it.
        """
        settings = self.config.usecases.get(usecase)
        if settings is None:
            return
        rules = settings.expiration
        rule: PolicyRule
        if policy is None:
            kind, rule, cap = "manual", rules.manual, None
        elif isinstance(policy, TimeToLive):
            kind, rule, cap = format_expiration(policy), rules.ttl, rules.ttl.max
        else:
            kind, rule, cap = format_expiration(policy), rules.tti, rules.tti.max
        if not rule.allowed:
            raise ProtocolError(
                400,
                f"client error: expiration policy {kind!r} is not allowed for use case {usecase!r}",
            )
        if policy is not None and cap is not None and policy.delta > cap:
            raise ProtocolError(
                400,
                f"client error: expiration duration {format_duration(policy.delta)} exceeds "
                f"maximum of {format_duration(cap)} for use case {usecase!r}",
            )

    def stamp(self, metadata: ObjectMetadata, now: datetime) -> ObjectMetadata:
        """A copy with ``time_created = now`` and the deadline of its policy.

        ``ProtocolError(400)`` when the deadline would be past 9999-12-31.
        """
        expires = None
        if metadata.expiration is not None:
            expires = add_deadline(now, metadata.expiration.delta)
            if expires is None:
                raise ProtocolError(
                    400,
                    f"client error: expiration {format_expiration(metadata.expiration)} "
                    "ends after 9999-12-31",
                )
        return dataclasses.replace(
            metadata, time_created=now, time_expires=expires, custom=dict(metadata.custom)
        )

    def insert(
        self,
        location: ObjectLocation,
        metadata: ObjectMetadata,
        body: BodyReader,
        now: datetime,
    ) -> None:
        """Validate, stamp and store ``body``, replacing any object at ``location``.

        A full disk is ``ProtocolError(507)``; the object that was there stays.
        """
        stamped = self.stamp(metadata, now)
        self.validate_policy(location.usecase, stamped.expiration)
        with disk_full_as_507():
            self.backend.put(location, stamped, body)

    # -- reads -------------------------------------------------------------------

    def read(
        self, location: ObjectLocation, now: datetime, *, touch: bool = True
    ) -> StoredObject | None:
        """The live object, or ``None`` when absent or expired. Close what you get.

        With ``touch`` a live TTI object is renewed (see :meth:`touch`); the returned
        metadata still shows the deadline from before this access.
        """
        found = self.backend.get(location)
        if found is None:
            return None
        if is_expired(found.metadata, now):
            found.close()
            return None
        if touch:
            self.touch(location, found.metadata, now)
        return found

    def read_head(self, location: ObjectLocation, now: datetime) -> ObjectHead | None:
        """The live object's metadata and size, without its payload, and no renewal:
        ``None`` when absent or expired. Renew with :meth:`touch` or :meth:`touch_many`."""
        found = self.backend.head(location)
        if found is None or is_expired(found.metadata, now):
            return None
        return found

    def touch(self, location: ObjectLocation, metadata: ObjectMetadata, now: datetime) -> None:
        """Renew a TTI deadline read at ``now`` (protocol.md §5.3).

        Renews when ``now + tti`` beats the current deadline by more than
        ``min(tti / 4, 24h)``; never shortens a deadline, never touches TTL objects.
        The update is marked :class:`DeadlineRenewal`: best effort, like the real
        service's renewals, so a backend may store it without rewriting the object.
        """
        renewal = self.renewal(metadata, now)
        if renewal is not None:
            self.backend.update_metadata(location, renewal)

    def touch_many(
        self, reads: Iterable[tuple[ObjectLocation, ObjectMetadata]], now: datetime
    ) -> None:
        """:meth:`touch` for several objects read at ``now``, stored in one go.

        For batch requests and keepalive: read with ``touch=False``, then pass every
        ``(location, metadata)`` read here. The backend stores the renewals that are
        due in one transaction (:meth:`Backend.renew_many`).
        """
        renewals = []
        for location, metadata in reads:
            renewal = self.renewal(metadata, now)
            if renewal is not None:
                renewals.append((location, renewal))
        if renewals:
            self.backend.renew_many(renewals)

    @staticmethod
    def renewal(metadata: ObjectMetadata, now: datetime) -> DeadlineRenewal | None:
        """The renewal a read at ``now`` calls for (see :meth:`touch`), or ``None``."""
        policy = metadata.expiration
        if not isinstance(policy, TimeToIdle) or metadata.time_expires is None:
            return None
        due = _renewal_due(now, policy.delta)
        if due is None:
            return None
        renewed, debounce = due
        if renewed - metadata.time_expires <= debounce:
            return None

        def update(current: ObjectMetadata) -> ObjectMetadata | None:
            still_tti = isinstance(current.expiration, TimeToIdle)
            deadline = current.time_expires
            if not still_tti or deadline is None or deadline < now or deadline >= renewed:
                return None
            return dataclasses.replace(current, time_expires=renewed)

        return DeadlineRenewal(update, deadline=renewed, not_before=now)

    def delete(self, location: ObjectLocation) -> None:
        """Remove the object; missing or expired objects are fine."""
        self.backend.delete(location)

    # -- expiry extension ----------------------------------------------------------

    def extend_expiry(self, location: ObjectLocation, target: ExtendTarget, now: datetime) -> None:
        """Apply the target of a PATCH ``{"extend_expiry": ...}`` document (protocol.md §3.5).

        Raises ``ProtocolError``: 404 (empty) when absent or expired, 409 for objects
        without a deadline or a creation-relative target without ``time_created``, 400
        past the usecase ``max`` or year 9999. Returns normally for 204 (extended or
        already enough).
        """
        fixed_deadline: datetime | None = None
        if isinstance(target, ExtendAt):
            fixed_deadline = target.at
        elif target.origin == "now":
            fixed_deadline = add_deadline(now, target.after)
            if fixed_deadline is None:
                raise ProtocolError(400, "client error: extended deadline is after 9999-12-31")
        failure: list[ProtocolError] = []

        def update(current: ObjectMetadata) -> ObjectMetadata | None:
            failure.clear()  # a backend may call this again after a conflict
            try:
                deadline = fixed_deadline
                if deadline is None:
                    deadline = self._from_creation(target, current)
                cap = self._cap(location.usecase, current.expiration, now)
                return self._extended(current, deadline, now, cap)
            except ProtocolError as error:
                failure.append(error)
                return None

        with disk_full_as_507():
            stored = self.backend.update_metadata(location, update)
        if failure:
            raise failure[0]
        if stored is None:
            raise ProtocolError(404, body="empty")

    def _cap(self, usecase: str, policy: ExpirationPolicy | None, now: datetime) -> datetime | None:
        """The latest deadline a PATCH may set: ``now`` plus the ``max`` of the object's
        own policy kind (``ttl.max`` or ``tti.max``); ``None`` when uncapped."""
        settings = self.config.usecases.get(usecase)
        if settings is None or policy is None:
            return None
        rule = (
            settings.expiration.ttl if isinstance(policy, TimeToLive) else settings.expiration.tti
        )
        if rule.max is None:
            return None
        return add_deadline(now, rule.max) or MAX_TIMESTAMP

    @staticmethod
    def _from_creation(target: ExtendAt | ExtendAfter, current: ObjectMetadata) -> datetime:
        assert isinstance(target, ExtendAfter)
        if current.time_created is None:
            raise ProtocolError(
                409, "the object has no creation time to extend its expiration from"
            )
        return add_deadline(current.time_created, target.after) or MAX_TIMESTAMP

    @staticmethod
    def _extended(
        current: ObjectMetadata, deadline: datetime, now: datetime, cap: datetime | None
    ) -> ObjectMetadata | None:
        if is_expired(current, now):
            raise ProtocolError(404, body="empty")
        if current.time_expires is None or current.expiration is None:
            raise ProtocolError(
                409, "expiry extension could not be satisfied: the object does not expire"
            )
        if cap is not None and deadline > cap:
            raise ProtocolError(
                400, "client error: extended deadline exceeds the usecase's maximum expiration"
            )
        if current.time_expires >= deadline:
            return None
        policy = rewritten_policy(current, deadline)
        return dataclasses.replace(current, time_expires=deadline, expiration=policy)

    # -- maintenance ---------------------------------------------------------------

    def sweep(self) -> int:
        """Remove expired objects from the backend; returns how many."""
        return self.backend.sweep(self.clock.now())

    # -- multipart uploads -----------------------------------------------------------

    @property
    def uploads(self) -> UploadStore:
        """Where the backend stages multipart uploads until they complete."""
        return self.backend.uploads

    def sweep_stale_uploads(self, now: datetime | None = None) -> int:
        """Remove multipart uploads idle for more than seven days; returns how many.

        ``now`` defaults to the clock. Meant for the server's periodic sweep.
        """
        return self.uploads.sweep_stale_uploads(now or self.clock.now())
