"""The object file format: one JSON header line, then the raw payload bytes.

The header holds the metadata and the object's full location (usecase, scopes, key),
so a file can be identified without decoding its path (hashed names cannot be) and a
read can check it found the object it asked for. JSON is written with ``ensure_ascii``,
so the header never contains a raw newline whatever the metadata holds.

Each header also carries a ``revision``: a random id written with every new file. A
deadline renewal kept beside the file (:mod:`.fs_sidecar`) names the revision it
renews, so it can never apply to a later file at the same path. Files written before
revisions existed have none; they get one at their next full rewrite.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django_objectstore.server.backends.base import ObjectLocation, ObjectMetadata
from django_objectstore.wire.expiration import ExpirationPolicy, TimeToIdle, TimeToLive

FORMAT = 1
MAX_HEADER = 16 * 1024 * 1024
"""Headers are bounded by what HTTP request headers can carry; this is far above."""
_FIRST_READ = 16 * 1024

_MICROSECOND = timedelta(microseconds=1)


class CorruptObjectError(OSError):
    """An object file whose header cannot be read; the file is left untouched."""


@dataclass
class Header:
    """A decoded header line."""

    location: ObjectLocation
    metadata: ObjectMetadata
    length: int
    """Bytes of the header line, newline included: the payload starts there."""
    revision: str | None
    """Random id of this file's contents; ``None`` in files written before revisions."""


def new_revision() -> str:
    return uuid.uuid4().hex


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


def encode_header(location: ObjectLocation, metadata: ObjectMetadata, revision: str) -> bytes:
    """The header line, newline included."""
    document = {
        "format": FORMAT,
        "revision": revision,
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


def decode_header(line: bytes) -> Header:
    """Parse a header line; :class:`CorruptObjectError` when it is not one of ours."""
    try:
        document = json.loads(line)
        if document.get("format") != FORMAT:
            raise ValueError(f"unknown format {document.get('format')!r}")
        revision = document.get("revision")
        if revision is not None and not isinstance(revision, str):
            raise ValueError(f"revision {revision!r} is not a string")
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
    return Header(location, metadata, len(line), revision)


def read_header(fd: int, name: str) -> Header:
    """Read the header from the start of the open file ``fd`` (named ``name`` in errors).

    Uses ``pread``: usually one system call, and the file position is left alone.
    """
    data = b""
    want = _FIRST_READ
    while True:
        chunk = os.pread(fd, want - len(data), len(data))
        data += chunk
        end = data.find(b"\n")
        if end >= 0:
            return decode_header(data[: end + 1])
        if not chunk or len(data) >= MAX_HEADER:
            raise CorruptObjectError(
                f"object header missing or longer than {MAX_HEADER} bytes in {name!r}"
            )
        want = min(MAX_HEADER, want * 4)
