"""Timestamps: RFC 3339 UTC with whole seconds and a ``Z`` suffix."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
MAX_TIMESTAMP = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


def require_aware(value: datetime, argument: str) -> datetime:
    """Reject naive datetimes, whose meaning depends on the machine's time zone."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{argument} must be a timezone-aware datetime, got naive {value!r}")
    return value


def ceil_second(value: datetime) -> datetime:
    """Round up to the next whole second (a whole second stays as it is)."""
    if value.microsecond:
        return value.replace(microsecond=0) + timedelta(seconds=1)
    return value


def from_epoch(seconds: float) -> datetime:
    """The UTC datetime ``seconds`` after the epoch, rounded up to a whole second.

    ``ValueError`` when that is outside the years 1..9999 (or ``seconds`` is not finite).
    """
    try:
        return EPOCH + timedelta(seconds=math.ceil(seconds))
    except (OverflowError, ValueError):
        raise ValueError(f"{seconds!r} seconds after the epoch is not a date") from None


def format_timestamp(value: datetime) -> str:
    """``2023-11-14T22:13:21Z`` (fractions of a second are dropped)."""
    v = value.astimezone(UTC)
    # Not strftime: its %Y does not zero-pad years before 1000 on every platform.
    return f"{v.year:04d}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:{v.second:02d}Z"


def parse_timestamp(text: str) -> datetime:
    """Parse an RFC 3339 timestamp (``Z`` or an offset); the result is aware, in UTC.

    Only ``ValueError`` for bad input: a time whose UTC equivalent falls outside the
    years 1..9999 (``0001-01-01T00:00:00+01:00``) is one too, not an ``OverflowError``.
    """
    shown = text if len(text) <= 80 else f"{text[:60]}..."
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"timestamp without a time zone: {shown!r}")
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"timestamp {shown!r} is out of range in UTC") from None
