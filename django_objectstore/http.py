"""HTTP semantics of the download view: Range and conditional requests.

Plain functions over header values, so each rule is tested on its own and the view
stays glue. The rules follow RFC 9110: a single ``bytes`` range (anything else is
ignored and the whole representation is sent, which the RFC allows), preconditions in
the order of §13.2.2 and ``If-Range`` by strong ETag or exact date. ``Accept-Encoding``
is read by :mod:`django_objectstore.wire.accept_encoding`, shared with the client.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from django.utils.http import parse_etags, parse_http_date_safe

__all__ = [
    "ByteRange",
    "Precondition",
    "RangeNotSatisfiable",
    "evaluate_preconditions",
    "if_range_allows",
    "make_etag",
    "parse_range",
]

# ASCII digits only: ``\d`` would also match the digits of other scripts (Arabic-Indic,
# Devanagari...), which ``int()`` accepts.
_RANGE = re.compile(r"bytes=([0-9]*)-([0-9]*)", re.IGNORECASE | re.ASCII)

_BEYOND_ANY_SIZE = 10**20
"""Positions with more than 20 digits are larger than any representation; they are not
converted (``int()`` refuses more than 4,300 digits, and the exact value is moot)."""


class RangeNotSatisfiable(Exception):
    """The single range lies entirely beyond the representation: answer 416."""


@dataclass(frozen=True)
class ByteRange:
    """Inclusive byte positions, as in ``Content-Range: bytes start-end/total``."""

    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start + 1

    def content_range(self, total: int) -> str:
        return f"bytes {self.start}-{self.end}/{total}"


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The single byte range ``header`` asks of a ``size``-byte representation.

    ``None`` means "send everything": no header, another unit, several ranges, or a
    malformed value (RFC 9110 §14.2 lets a server ignore those). A range that starts
    beyond the end raises :class:`RangeNotSatisfiable`; an end beyond it is clipped.
    """
    if not header:
        return None
    match = _RANGE.fullmatch(header.strip())
    if match is None:
        return None
    first, last = match.group(1), match.group(2)
    if not first and not last:
        return None
    if not first:  # suffix: the last N bytes
        suffix = _position(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable(header)
        return ByteRange(max(size - suffix, 0), size - 1)
    start = _position(first)
    end = _position(last) if last else size - 1
    if last and end < start:
        return None  # invalid: ignored
    if start >= size:
        raise RangeNotSatisfiable(header)
    return ByteRange(start, min(end, size - 1))


def _position(digits: str) -> int:
    """An ASCII decimal position; any number of leading zeros, any length."""
    significant = digits.lstrip("0")
    if len(significant) > 20:
        return _BEYOND_ANY_SIZE
    return int(significant or "0")


def make_etag(*parts: object) -> str:
    """A strong ETag from values that change whenever the bytes sent change."""
    digest = hashlib.sha256("\x1f".join(str(part) for part in parts).encode()).hexdigest()
    return f'"{digest[:32]}"'


class Precondition(Enum):
    PROCEED = 200
    NOT_MODIFIED = 304
    FAILED = 412


def evaluate_preconditions(
    *,
    method: str,
    etag: str,
    last_modified: datetime | None,
    if_match: str | None,
    if_unmodified_since: str | None,
    if_none_match: str | None,
    if_modified_since: str | None,
) -> Precondition:
    """RFC 9110 §13.2.2 steps 1-4 for a resource that exists."""
    modified = int(last_modified.timestamp()) if last_modified else None
    if if_match:
        tags = parse_etags(if_match)
        if tags != ["*"] and etag not in tags:  # strong comparison
            return Precondition.FAILED
    elif if_unmodified_since:
        since = parse_http_date_safe(if_unmodified_since)
        if since is not None and (modified is None or modified > since):
            return Precondition.FAILED
    safe = method in ("GET", "HEAD")
    if if_none_match:
        tags = [tag.removeprefix("W/") for tag in parse_etags(if_none_match)]
        if tags == ["*"] or etag.removeprefix("W/") in tags:  # weak comparison
            return Precondition.NOT_MODIFIED if safe else Precondition.FAILED
    elif if_modified_since and safe and modified is not None:
        since = parse_http_date_safe(if_modified_since)
        if since is not None and modified <= since:
            return Precondition.NOT_MODIFIED
    return Precondition.PROCEED


def if_range_allows(if_range: str | None, *, etag: str, last_modified: datetime | None) -> bool:
    """Whether a Range may be honoured: no ``If-Range``, or it still validates."""
    if not if_range:
        return True
    value = if_range.strip()
    if value.startswith('"'):
        return value == etag
    if value.startswith("W/"):
        return False  # weak validators never satisfy If-Range
    since = parse_http_date_safe(value)
    return (
        since is not None and last_modified is not None and int(last_modified.timestamp()) == since
    )
