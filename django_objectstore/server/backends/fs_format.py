"""The object file format: one JSON header line, then the raw payload bytes.

The header holds the metadata and the object's full location (usecase, scopes, key),
so a file can be identified without decoding its path (hashed names cannot be) and a
read can check it found the object it asked for. JSON is written with ``ensure_ascii``,
so the header never contains a raw newline whatever the metadata holds.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import IO, Any

from django_objectstore.server.backends.base import ObjectLocation, ObjectMetadata
from django_objectstore.wire.expiration import ExpirationPolicy, TimeToIdle, TimeToLive

FORMAT = 1
MAX_HEADER = 16 * 1024 * 1024
"""Headers are bounded by what HTTP request headers can carry; this is far above."""

_MICROSECOND = timedelta(microseconds=1)


class CorruptObjectError(OSError):
    """An object file whose header cannot be read; the file is left untouched."""


def _policy_to_json(policy: ExpirationPolicy | None) -> dict[str, int] | None:
    if policy is None:
        return None
    kind = "ttl" if isinstance(policy, TimeToLive) else "tti"
    return {kind: policy.delta // _MICROSECOND}


def _policy_from_json(value: Any) -> ExpirationPolicy | None:
    if value is None:
        return None
    if "ttl" in value:
        return TimeToLive(timedelta(microseconds=value["ttl"]))
    return TimeToIdle(timedelta(microseconds=value["tti"]))


def _time_to_json(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _time_from_json(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def encode_header(location: ObjectLocation, metadata: ObjectMetadata) -> bytes:
    """The header line, newline included."""
    document = {
        "format": FORMAT,
        "usecase": location.usecase,
        "scopes": [list(pair) for pair in location.scopes],
        "key": location.key,
        "content_type": metadata.content_type,
        "compression": metadata.compression,
        "expiration": _policy_to_json(metadata.expiration),
        "time_created": _time_to_json(metadata.time_created),
        "time_expires": _time_to_json(metadata.time_expires),
        "origin": metadata.origin,
        "filename": metadata.filename,
        "custom": dict(metadata.custom),
    }
    return json.dumps(document, separators=(",", ":")).encode("ascii") + b"\n"


def decode_header(line: bytes) -> tuple[ObjectLocation, ObjectMetadata]:
    """Parse a header line; :class:`CorruptObjectError` when it is not one of ours."""
    try:
        document = json.loads(line)
        if document.get("format") != FORMAT:
            raise ValueError(f"unknown format {document.get('format')!r}")
        location = ObjectLocation(
            usecase=document["usecase"],
            scopes=tuple((str(name), str(value)) for name, value in document["scopes"]),
            key=document["key"],
        )
        metadata = ObjectMetadata(
            content_type=document["content_type"],
            compression=document["compression"],
            expiration=_policy_from_json(document["expiration"]),
            time_created=_time_from_json(document["time_created"]),
            time_expires=_time_from_json(document["time_expires"]),
            origin=document["origin"],
            filename=document["filename"],
            custom=dict(document["custom"]),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as error:
        raise CorruptObjectError(f"unreadable object header: {error}") from error
    return location, metadata


def read_header(file: IO[bytes]) -> tuple[ObjectLocation, ObjectMetadata, int]:
    """Read the header from the start of ``file``; returns it and its length in bytes."""
    line = file.readline(MAX_HEADER)
    if not line.endswith(b"\n"):
        raise CorruptObjectError(
            f"object header missing or longer than {MAX_HEADER} bytes in {file.name!r}"
        )
    location, metadata = decode_header(line)
    return location, metadata, len(line)
