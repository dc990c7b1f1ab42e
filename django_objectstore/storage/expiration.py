"""Expiration policies as settings: ``"tti:30 days"``, ``"ttl:1h"``, ``"manual"``.

``STORAGES[...]["OPTIONS"]["expiration_policy"]`` takes either a policy object
(:class:`~django_objectstore.wire.expiration.TimeToIdle`,
:class:`~django_objectstore.wire.expiration.TimeToLive`, the same classes the client
exports) or a string ``<kind>:<duration>`` where ``kind`` is ``tti`` (time to idle:
expires that long after the last read or write) or ``ttl`` (time to live: expires that
long after the write), and the duration is written as the server accepts it:
``30 days``, ``30d``, ``1h 30m``, ``2 weeks``. ``"manual"`` (or ``None``) keeps
objects until they are deleted.
"""

from __future__ import annotations

from datetime import timedelta

from django_objectstore.wire.durations import parse_duration
from django_objectstore.wire.expiration import ExpirationPolicy, TimeToIdle, TimeToLive

__all__ = ["parse_duration_option", "parse_expiration_policy"]


def parse_expiration_policy(
    value: object, *, option: str = "expiration_policy"
) -> ExpirationPolicy | None:
    """A policy object, ``None`` (manual) or a string as above; ``ValueError`` otherwise."""
    if value is None or isinstance(value, TimeToIdle | TimeToLive):
        return value
    if not isinstance(value, str):
        raise ValueError(
            f"{option} must be a TimeToIdle/TimeToLive policy, None or a string such as "
            f"'tti:30 days', 'ttl:1h' or 'manual', got {value!r}"
        )
    text = value.strip()
    if text.lower() == "manual":
        return None
    kind, sep, duration = text.partition(":")
    kind = kind.strip().lower()
    if not sep or kind not in ("tti", "ttl"):
        raise ValueError(
            f"invalid {option} {value!r}: expected 'manual', 'tti:<duration>' or "
            f"'ttl:<duration>', e.g. 'tti:30 days'"
        )
    try:
        delta = parse_duration(duration.strip())
    except ValueError as exc:
        raise ValueError(f"invalid {option} {value!r}: {exc}") from None
    if delta <= timedelta(0):
        raise ValueError(f"invalid {option} {value!r}: the duration must be positive")
    return TimeToIdle(delta) if kind == "tti" else TimeToLive(delta)


def parse_duration_option(value: object, *, option: str) -> timedelta:
    """A positive duration from a ``timedelta``, a number of seconds or a string (``1h``)."""
    if isinstance(value, timedelta):
        delta = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        delta = timedelta(seconds=value)
    elif isinstance(value, str):
        try:
            delta = parse_duration(value)
        except ValueError as exc:
            raise ValueError(f"invalid {option} {value!r}: {exc}") from None
    else:
        raise ValueError(
            f"{option} must be a timedelta, a number of seconds or a duration string "
            f"such as '1h', got {value!r}"
        )
    if delta <= timedelta(0):
        raise ValueError(f"invalid {option} {value!r}: the duration must be positive")
    return delta
