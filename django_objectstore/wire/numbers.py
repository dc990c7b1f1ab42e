"""Decimal numbers from client input (query parameters, headers), bounded before ``int()``.

``int()`` on client text is a trap twice over: it accepts non-ASCII digits (``"٣"`` is
3), signs, underscores and surrounding whitespace, and it raises its own ``ValueError``
past 4,300 digits (and spends quadratic time getting there). Every decimal the protocol
reads goes through :func:`parse_decimal`, which looks at the text first: ASCII digits
only, and no more of them than the largest accepted value has.
"""

from __future__ import annotations

U32_MAX = 2**32 - 1
U64_MAX = 2**64 - 1
_JSON_INT_DIGITS = 4000
"""Longer integers in JSON documents are not converted (``int()`` stops at 4,300)."""


class NotADecimal(ValueError):
    """The text is not a non-empty run of ASCII digits."""


class DecimalTooLarge(ValueError):
    """The number is larger than the largest value accepted."""


def is_decimal(text: str) -> bool:
    """Whether ``text`` is one or more ASCII digits ``0``-``9``, nothing else."""
    return bool(text) and text.isascii() and text.isdigit()


def parse_decimal(text: str, maximum: int) -> int:
    """The value of ``text`` if it is ASCII digits and at most ``maximum``.

    Raises :class:`NotADecimal` or :class:`DecimalTooLarge` (both ``ValueError``);
    never converts more digits than ``maximum`` has.
    """
    if not is_decimal(text):
        raise NotADecimal(f"not a decimal number: {text[:40]!r}")
    significant = text.lstrip("0")
    if len(significant) > len(str(maximum)):
        raise DecimalTooLarge(f"number of {len(significant)} digits exceeds {maximum}")
    value = int(significant or "0")
    if value > maximum:
        raise DecimalTooLarge(f"{value} exceeds {maximum}")
    return value


def json_int(text: str) -> int | float:
    """``parse_int`` for :func:`json.loads`: the integer, or ``±inf`` when ``int()`` refuses it.

    A 5,000-digit number is well-formed JSON; without this hook ``json.loads`` raises
    ``int()``'s digit-limit ``ValueError`` and the document reads as malformed (400)
    instead of not fitting its schema (422). Infinity is a float, so a field that wants
    an integer rejects it like any other wrong type.
    """
    digits = text.lstrip("-").lstrip("0")
    if len(digits) > _JSON_INT_DIGITS:
        return float("-inf") if text.startswith("-") else float("inf")
    return int(text)
