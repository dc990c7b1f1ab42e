"""Durations as used by ``x-sn-expiration`` and the PATCH ``after`` field.

The canonical form is ``400d 1h 18m 31s``: units ``d``, ``h``, ``m``, ``s`` from largest
to smallest, zero components omitted, ``0s`` for zero, sub-seconds truncated.
The server parses leniently (``1day``, ``30 days``, ``2weeks``, ``1h 30min``, ``500ms``)
like the real server's parser; the client accepts only the canonical units.
"""

from __future__ import annotations

import re
from datetime import timedelta

from django_objectstore.wire.numbers import DecimalTooLarge, parse_decimal

# Unit sizes in nanoseconds, so sums stay exact (no float rounding).
_UNITS: dict[str, int] = {}
for _names, _nanos in (
    (("nsec", "ns"), 1),
    (("usec", "us"), 1_000),
    (("msec", "ms"), 1_000_000),
    (("seconds", "second", "sec", "s"), 10**9),
    (("minutes", "minute", "min", "m"), 60 * 10**9),
    (("hours", "hour", "hr", "hrs", "h"), 3600 * 10**9),
    (("days", "day", "d"), 86400 * 10**9),
    (("weeks", "week", "w"), 7 * 86400 * 10**9),
    (("months", "month", "M"), 2_630_016 * 10**9),  # 30.44 days
    (("years", "year", "y"), 31_557_600 * 10**9),  # 365.25 days
):
    for _name in _names:
        _UNITS[_name] = _nanos

_CANONICAL_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
_CANONICAL_NANOS = {unit: size * 10**9 for unit, size in _CANONICAL_UNITS.items()}
_COMPONENT = re.compile(r"\s*(\d+)\s*([A-Za-z]+)", re.ASCII)  # ASCII digits only
MAX_DURATION = timedelta.max
"""The longest duration :func:`parse_duration` returns (about 2.7 million years);
longer ones are a ``ValueError`` like any other malformed duration."""
_MAX_NANOS = (MAX_DURATION // timedelta(microseconds=1)) * 1000 + 999


def format_duration(delta: timedelta) -> str:
    """Format ``delta`` canonically, e.g. ``timedelta(days=2, seconds=4)`` -> ``2d 4s``."""
    total = delta.days * 86400 + delta.seconds  # exact; total_seconds() is a float
    if total < 0:
        raise ValueError(f"duration must not be negative: {delta!r}")
    parts = []
    for unit, size in _CANONICAL_UNITS.items():
        count, total = divmod(total, size)
        if count:
            parts.append(f"{count}{unit}")
    return " ".join(parts) or "0s"


def _parse(text: str, units: dict[str, int]) -> timedelta:
    if not text.strip():
        raise ValueError("empty duration")
    pos = 0
    nanos = 0
    for match in _COMPONENT.finditer(text):
        if match.start() != pos:
            break
        number, unit = match.groups()
        if unit not in units:
            raise ValueError(f"unknown time unit {unit!r} in duration {_shorten(text)!r}")
        try:
            # Bounded before int(): 5,000 digits must be "too long", not int()'s own error.
            nanos += parse_decimal(number, _MAX_NANOS // units[unit]) * units[unit]
        except DecimalTooLarge:
            raise ValueError(f"duration {_shorten(text)!r} is too long") from None
        pos = match.end()
    if text[pos:].strip():
        raise ValueError(f"invalid duration {_shorten(text)!r}")
    if nanos > _MAX_NANOS:
        raise ValueError(f"duration {_shorten(text)!r} is too long")
    return timedelta(microseconds=nanos // 1000)


def _shorten(text: str) -> str:
    """``text`` for an error message, cut so a hostile 5,000-character value stays short."""
    return text if len(text) <= 80 else f"{text[:60]}...({len(text)} characters)"


def parse_duration(text: str) -> timedelta:
    """Parse leniently, accepting the human-friendly units the real server accepts."""
    return _parse(text, _UNITS)


def parse_canonical_duration(text: str) -> timedelta:
    """Parse only the canonical ``d``/``h``/``m``/``s`` form that servers emit."""
    return _parse(text, _CANONICAL_NANOS)
