"""The PATCH ``{"extend_expiry": ...}`` document, decoded into an engine extension target.

Schema (protocol.md §3.5), every violation a 422 with a plain-text body:
``{"extend_expiry": {"at": "<RFC 3339 UTC>"}}`` or
``{"extend_expiry": {"after": "<duration>", "from": "creation" | "now"}}``.

``at`` accepts ``Z`` and a zero offset (``+00:00``, what the official Python client
sends), with or without fractional seconds, which round up to the next whole second.
Non-zero offsets are rejected (422) like the real server, whose parser only knows ``Z``.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from django_objectstore.server.engine import ExtendAfter, ExtendAt, ExtendTarget
from django_objectstore.server.errors import ProtocolError
from django_objectstore.wire.durations import parse_duration
from django_objectstore.wire.timestamps import EPOCH, MAX_TIMESTAMP

_RFC3339_UTC = re.compile(
    r"(?P<base>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(?P<fraction>\d+))?(?:Z|\+00:00)",
    re.ASCII,  # \d would otherwise match any Unicode digit
)


def _reject(detail: str) -> ProtocolError:
    return ProtocolError(422, f"Failed to deserialize the JSON body: {detail}", body="text")


def parse_deadline(text: str) -> datetime:
    """An RFC 3339 UTC timestamp rounded up to a whole second; ``ValueError`` otherwise."""
    match = _RFC3339_UTC.fullmatch(text)
    if match is None:
        raise ValueError(f"invalid timestamp {text!r}: expected YYYY-MM-DDTHH:MM:SS[.fff]Z")
    value = datetime.strptime(match["base"], "%Y-%m-%dT%H:%M:%S").replace(tzinfo=UTC)
    if (match["fraction"] or "0").strip("0"):
        if value >= MAX_TIMESTAMP:
            raise ValueError(f"timestamp {text!r} is after 9999-12-31T23:59:59Z")
        value += timedelta(seconds=1)
    if value < EPOCH:
        raise ValueError(f"timestamp {text!r} is before 1970")
    return value


def _expect_object(value: object, what: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise _reject(f"{what}: expected an object")
    return value


def parse_extend_expiry(document: object) -> ExtendTarget:
    """Validate a decoded PATCH body; ``ProtocolError(422)`` when it does not fit."""
    top = _expect_object(document, "body")
    if set(top) != {"extend_expiry"}:
        raise _reject("expected exactly the field `extend_expiry`")
    spec = _expect_object(top["extend_expiry"], "extend_expiry")
    if set(spec) == {"at"}:
        at = spec["at"]
        if not isinstance(at, str):
            raise _reject("extend_expiry.at: expected a string")
        try:
            return ExtendAt(parse_deadline(at))
        except ValueError as error:
            raise _reject(f"extend_expiry.at: {error}") from None
    if set(spec) == {"after", "from"}:
        after, origin = spec["after"], spec["from"]
        if not isinstance(after, str):
            raise _reject("extend_expiry.after: expected a duration string")
        if origin not in ("creation", "now"):
            raise _reject("extend_expiry.from: expected `creation` or `now`")
        try:
            delta = parse_duration(after)
        except ValueError as error:
            raise _reject(f"extend_expiry.after: {error}") from None
        return ExtendAfter(delta, "creation" if origin == "creation" else "now")
    raise _reject("extend_expiry: expected either `at`, or both `after` and `from`")
