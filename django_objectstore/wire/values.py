"""Percent-encoding of free-form header values (origin, filename, custom metadata).

Encode: UTF-8, then ``%XX`` (uppercase) for C0 controls, DEL, ``%`` and bytes >= 0x80;
everything else in 0x20-0x7E stays literal. Decode: the raw value must be visible ASCII,
every ``%XX`` is decoded, the result must be UTF-8; a stray ``%`` stays literal.
"""

from __future__ import annotations

import re

_ESCAPE = re.compile(rb"[\x00-\x1f\x25\x7f-\xff]")
_PERCENT = re.compile(rb"%([0-9A-Fa-f]{2})")
_VISIBLE = re.compile(r"[\t\x20-\x7e]*")


def encode_value(value: str) -> str:
    """``réport 100%`` -> ``r%C3%A9port 100%25``."""
    raw = value.encode("utf-8")
    return _ESCAPE.sub(lambda m: b"%%%02X" % m.group()[0], raw).decode("ascii")


def decode_value(value: str) -> str:
    """Inverse of :func:`encode_value`; ``ValueError`` for non-ASCII or non-UTF-8 input."""
    if not _VISIBLE.fullmatch(value):
        raise ValueError("header value must be visible ASCII (percent-encode the rest)")
    raw = _PERCENT.sub(lambda m: bytes([int(m.group(1), 16)]), value.encode("ascii"))
    return raw.decode("utf-8")
