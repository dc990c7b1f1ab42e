"""Expiration policies and their ``x-sn-expiration`` header form."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import timedelta
from typing import TypeAlias

from django_objectstore.wire.durations import (
    format_duration,
    parse_canonical_duration,
    parse_duration,
)


@dataclass(frozen=True)
class TimeToLive:
    """The object expires ``delta`` after it was written."""

    delta: timedelta


@dataclass(frozen=True)
class TimeToIdle:
    """The object expires ``delta`` after it was last read or written."""

    delta: timedelta


ExpirationPolicy: TypeAlias = TimeToLive | TimeToIdle


@functools.lru_cache(maxsize=256)  # a handful of policies, formatted for every response
def format_expiration(policy: ExpirationPolicy | None) -> str:
    """``ttl:30d``, ``tti:1h``, or ``manual`` for no policy."""
    if policy is None:
        return "manual"
    prefix = "ttl" if isinstance(policy, TimeToLive) else "tti"
    return f"{prefix}:{format_duration(policy.delta)}"


def parse_expiration(text: str, *, lenient: bool = True) -> ExpirationPolicy | None:
    """Parse a header value; ``None`` means manual. Raises ``ValueError`` when malformed."""
    if text == "manual":
        return None
    kind, sep, duration = text.partition(":")
    if not sep or kind not in ("ttl", "tti"):
        raise ValueError(
            f"invalid expiration policy {text!r}: expected manual, ttl:<duration> or tti:<duration>"
        )
    delta = parse_duration(duration) if lenient else parse_canonical_duration(duration)
    return TimeToLive(delta) if kind == "ttl" else TimeToIdle(delta)
