"""``Range: bytes=...`` on GET, as the real server handles it.

Only one range per request: ``bytes=a-b``, ``bytes=a-`` and ``bytes=-n`` (unit matched
case-insensitively, no whitespace inside). A header with several ranges (any comma) is
ignored and the whole object is sent. Anything else malformed is a 400. Ranges address
the stored bytes, which are the compressed bytes for a zstd object.
"""

from __future__ import annotations

from dataclasses import dataclass

from django_objectstore.server.errors import ProtocolError
from django_objectstore.wire.numbers import U64_MAX, DecimalTooLarge, NotADecimal, parse_decimal


@dataclass(frozen=True)
class RangeSpec:
    """One requested range: ``first-last``, ``first-`` (``last`` is ``None``) or ``-suffix``."""

    first: int | None
    last: int | None
    suffix: int | None = None


def _invalid(value: str, why: str) -> ProtocolError:
    shown = value if len(value) <= 80 else f"{value[:60]}...({len(value)} characters)"
    return ProtocolError(400, f"client error: invalid Range header: {why}: {shown!r}")


def _number(text: str, value: str) -> int:
    try:
        return parse_decimal(text, U64_MAX)
    except NotADecimal:
        raise _invalid(value, "expected decimal byte positions") from None
    except DecimalTooLarge:
        raise _invalid(value, "byte position too large") from None


def parse_range(value: str) -> RangeSpec | None:
    """Parse a ``Range`` header; ``None`` when it must be ignored (several ranges).

    Raises ``ProtocolError(400)`` (JSON) when the header is malformed.
    """
    if not value.isascii() or not value.isprintable():
        raise _invalid(value, "not visible ASCII")
    unit, sep, spec = value.partition("=")
    if not sep or unit.lower() != "bytes":
        raise _invalid(value, "only the unit 'bytes' is supported")
    if "," in spec:
        return None
    first_text, dash, last_text = spec.partition("-")
    if not dash:
        raise _invalid(value, "missing '-'")
    if not first_text:
        suffix = _number(last_text, value)
        if suffix == 0:
            raise _invalid(value, "empty suffix range")
        return RangeSpec(None, None, suffix)
    first = _number(first_text, value)
    if not last_text:
        return RangeSpec(first, None)
    last = _number(last_text, value)
    if first > last:
        raise _invalid(value, "range start after range end")
    return RangeSpec(first, last)


def resolve_range(spec: RangeSpec, size: int) -> tuple[int, int] | None:
    """Inclusive ``(start, end)`` within an object of ``size`` bytes; ``None``: 416."""
    if size == 0:
        return None
    if spec.suffix is not None:
        return (max(0, size - spec.suffix), size - 1)
    assert spec.first is not None
    if spec.first >= size:
        return None
    last = size - 1 if spec.last is None else min(spec.last, size - 1)
    return (spec.first, last)


def content_range(start: int, end: int, size: int) -> str:
    """``bytes a-b/T`` for a 206."""
    return f"bytes {start}-{end}/{size}"


def unsatisfied_range(size: int) -> str:
    """``bytes */T`` for a 416."""
    return f"bytes */{size}"
