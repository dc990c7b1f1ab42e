"""Pre-signed URL verification (``?os_kid=&os_timestamp=&os_duration=&os_sig=``).

The signature covers :func:`django_objectstore.wire.presign.canonical_string` of the
method (HEAD signs as GET), the raw path and the raw query. Checks run in the real
server's order, each with its status: method 403, parameters 400, key id 401, duration
over 7 days 400, time window 401, signature 401, key lacking ``object.read`` 403.

Parameters are read strictly: ``os_timestamp`` an RFC 3339 time with a zone that is a
valid UTC time (years 1..9999; the window check never overflows), ``os_duration`` ASCII
digits within ``u64`` (bounded before ``int()``), ``os_sig`` unpadded canonical
base64url as the real server decodes it (:func:`decode_signature`).
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from datetime import datetime, timedelta

from cryptography.exceptions import InvalidSignature

from django_objectstore.server.auth.tokens import Key
from django_objectstore.server.errors import ProtocolError
from django_objectstore.wire.numbers import U64_MAX, parse_decimal
from django_objectstore.wire.presign import MAX_DURATION_SECONDS, canonical_string
from django_objectstore.wire.timestamps import parse_timestamp

READ = "object.read"
CLOCK_SKEW = timedelta(seconds=60)
PARAMS = ("os_kid", "os_timestamp", "os_duration", "os_sig")
_BASE64URL = re.compile(r"[A-Za-z0-9_-]*")


def _bad_request(message: str) -> ProtocolError:
    return ProtocolError(400, f"auth error: {message}")


def _unauthorized(message: str) -> ProtocolError:
    return ProtocolError(401, f"auth error: {message}")


def _shown(text: str) -> str:
    return repr(text if len(text) <= 80 else f"{text[:60]}...")


def _parse_timestamp(text: str) -> datetime:
    """RFC 3339 with a zone whose UTC time is within the years 1..9999; else 400.

    A valid time far in the past or future is parsed (the window check then answers
    401); only what cannot be a UTC time at all is unparsable.
    """
    try:
        return parse_timestamp(text)
    except ValueError:
        raise _bad_request(f"os_timestamp is not an RFC 3339 time: {_shown(text)}") from None


def _parse_duration(text: str) -> int:
    """Whole seconds; a number past ``u64`` (the real server's type) cannot be parsed: 400."""
    try:
        return parse_decimal(text, U64_MAX)
    except ValueError:
        raise _bad_request(
            f"os_duration is not a whole number of seconds: {_shown(text)}"
        ) from None


def decode_signature(text: str) -> bytes | None:
    """The bytes of unpadded, canonical base64url ``text``; ``None`` when it is not that.

    Strict like the real server's decoder: only ``A-Z a-z 0-9 - _``, no ``=`` padding,
    no length that leaves a lone character, and no set bits left over in the last
    character (so exactly one text encodes each signature: ``...A`` and ``...B`` can
    not both verify).
    """
    if not _BASE64URL.fullmatch(text) or len(text) % 4 == 1:
        return None
    try:
        decoded = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None
    if base64.urlsafe_b64encode(decoded).rstrip(b"=") != text.encode("ascii"):
        return None  # leftover bits set: a non-canonical encoding
    return decoded


def _decode_signature(text: str) -> bytes | None:
    signature = decode_signature(text)
    return signature if signature is not None and len(signature) == 64 else None


def verify_presigned(
    method: str,
    raw_path: str,
    raw_query: str,
    params: Mapping[str, str],
    keys: Mapping[str, Key],
    now: datetime,
) -> None:
    """Raise the ``ProtocolError`` the first failing check calls for; ``None`` if valid.

    ``params`` holds the decoded query parameters; ``now`` is the real wall-clock time.
    """
    if method not in ("GET", "HEAD"):
        raise ProtocolError(403, "auth error: pre-signed URLs only allow GET and HEAD")
    missing = [name for name in PARAMS if name not in params]
    if missing:
        raise _bad_request(f"pre-signed URL lacks {', '.join(missing)}")
    timestamp = _parse_timestamp(params["os_timestamp"])
    duration = _parse_duration(params["os_duration"])
    key = keys.get(params["os_kid"])
    if key is None:
        raise _unauthorized(f"unknown key id {params['os_kid']!r}")
    if duration > MAX_DURATION_SECONDS:
        raise _bad_request(f"os_duration exceeds {MAX_DURATION_SECONDS} seconds (7 days)")
    # Differences, not sums: ``timestamp + duration`` can pass year 9999 (OverflowError).
    if timestamp - now > CLOCK_SKEW or now - timestamp > timedelta(seconds=duration):
        raise _unauthorized("pre-signed URL is not valid at this time")
    signature = _decode_signature(params["os_sig"])
    message = canonical_string(method, raw_path, raw_query)
    if signature is None or not _matches(key, signature, message):
        raise _unauthorized("pre-signed URL signature does not match")
    if READ not in key.max_permissions:
        raise ProtocolError(403, "auth error: the signing key may not read objects")


def _matches(key: Key, signature: bytes, message: bytes) -> bool:
    for public in key.versions:
        try:
            public.verify(signature, message)
        except InvalidSignature:
            continue
        return True
    return False
