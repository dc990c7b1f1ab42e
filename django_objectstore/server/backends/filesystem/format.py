"""The object file format: one JSON header line, then the raw payload bytes.

The header holds the metadata and the object's full location (usecase, scopes, key),
so a file can be identified without decoding its path (hashed names cannot be) and a
read can check it found the object it asked for. JSON is written with ``ensure_ascii``,
so the header never contains a raw newline whatever the metadata holds.

The header's last field is the *renewal slot*, ``"renewal":"<SLOT_WIDTH chars>"``, a
fixed-width text at a fixed distance from the end of the line. A TTI renewal
overwrites it in place with one ``pwrite`` (:func:`encode_slot`), so renewing never
creates, copies or renames a file. The slot is either blank (spaces: no renewal) or
``<crc32 of the digits, 8 hex><deadline, microseconds since the epoch, 20 digits>``.
The effective deadline is the later of the header's ``time_expires`` and the slot's.
A slot whose checksum does not match was caught half-written: :func:`read_header`
reads it again a few times and then ignores it (see :func:`read_header`). Files
written before slots existed have none; their first renewal rewrites them with one.
"""

from __future__ import annotations

import json
import os
import zlib
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from django_objectstore.server.backends.records import ObjectLocation, ObjectMetadata
from django_objectstore.wire.expiration import ExpirationPolicy, TimeToIdle, TimeToLive

FORMAT = 1
MAX_HEADER = 16 * 1024 * 1024
"""Headers are bounded by what HTTP request headers can carry; this is far above."""
_FIRST_READ = 16 * 1024

SLOT_WIDTH = 28
"""Characters of the renewal slot: 8 hex digits of CRC-32, then 20 decimal digits."""
EMPTY_SLOT = b" " * SLOT_WIDTH
_BLANK = EMPTY_SLOT.decode("ascii")
_SLOT_FIELD = b'"renewal":"'
_SLOT_END = b'"}\n'
_SLOT_READS = 5
"""Reads of a slot whose checksum does not match before it is ignored."""
_MAX_MICROS = 10**20 - 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_PARSE_ERRORS = (ValueError, KeyError, TypeError, AttributeError)


class CorruptObjectError(OSError):
    """An object file whose header cannot be read; the file is left untouched."""


class TornSlotError(ValueError):
    """A renewal slot whose checksum does not match its digits."""


@dataclass
class Header:
    """A decoded header line; ``metadata.time_expires`` is the effective deadline."""

    location: ObjectLocation
    metadata: ObjectMetadata
    length: int
    """Bytes of the header line, newline included: the payload starts there."""
    slot_offset: int | None
    """File offset of the renewal slot; ``None`` in files written before slots."""
    slot: bytes = EMPTY_SLOT
    """The slot's bytes as read (with ``slot_offset``)."""


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


def encode_slot(deadline: datetime) -> bytes:
    """The slot text for ``deadline``; ``ValueError`` if it is before 1970 or naive."""
    micros = (deadline - _EPOCH) // _MICROSECOND
    if not 0 <= micros <= _MAX_MICROS:
        raise ValueError(f"deadline {deadline} does not fit a renewal slot")
    digits = b"%020d" % micros
    return b"%08x%s" % (zlib.crc32(digits), digits)


def decode_slot(slot: bytes) -> datetime | None:
    """The deadline in a slot, ``None`` when blank; :class:`TornSlotError` when torn."""
    if slot == EMPTY_SLOT:
        return None
    deadline = None
    try:
        if len(slot) == SLOT_WIDTH and int(slot[:8], 16) == zlib.crc32(slot[8:]):
            deadline = _EPOCH + timedelta(microseconds=int(slot[8:]))
    except (ValueError, OverflowError):
        pass
    if deadline is None:
        raise TornSlotError(f"renewal slot {slot!r} does not match its checksum")
    return deadline


def encode_header(location: ObjectLocation, metadata: ObjectMetadata) -> bytes:
    """The header line, newline included, with a blank renewal slot as its last field."""
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
        "renewal": _BLANK,
    }
    return json.dumps(document, separators=(",", ":")).encode("ascii") + b"\n"


def _split_slot(line: bytes) -> tuple[bytes, int | None]:
    """``line`` with its slot blanked and the slot's offset, if it ends with a slot.

    The slot's bytes are left out of the JSON parse, so that whatever a torn write left
    in them never makes the header unreadable.
    """
    offset = len(line) - len(_SLOT_END) - SLOT_WIDTH
    if line.endswith(_SLOT_END) and line[offset - len(_SLOT_FIELD) : offset] == _SLOT_FIELD:
        return line[:offset] + EMPTY_SLOT + line[offset + SLOT_WIDTH :], offset
    return line, None


def _parse(line: bytes) -> tuple[ObjectLocation, ObjectMetadata, Any]:
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
    return location, metadata, document.get("renewal")


def decode_header(line: bytes) -> Header:
    """Parse a header line; :class:`CorruptObjectError` when it is not one of ours.

    ``metadata.time_expires`` is the header's own deadline; :func:`read_header` applies
    the slot.
    """
    blanked, offset = _split_slot(line)
    try:
        parsed = None
        if offset is not None:
            with suppress(*_PARSE_ERRORS):
                parsed = _parse(blanked)
        if parsed is None or parsed[2] != _BLANK:
            offset = None  # no slot, or something that merely looks like one
            parsed = _parse(line)
    except _PARSE_ERRORS as error:
        raise CorruptObjectError(f"unreadable object header: {error}") from error
    location, metadata, _renewal = parsed
    if offset is None:
        return Header(location, metadata, len(line), None)
    return Header(location, metadata, len(line), offset, line[offset : offset + SLOT_WIDTH])


def read_header(fd: int, name: str) -> Header:
    """Read the header from the start of the open file ``fd`` (named ``name`` in errors).

    Uses ``pread``: usually one system call, and the file position is left alone. The
    returned ``metadata.time_expires`` is the effective deadline: the later of the
    header's and a renewal in the slot. A slot caught half-way through a renewal's
    ``pwrite`` (its writer holds the object's lock and finishes within microseconds) is
    read again; one that still does not match its checksum can only be left by a
    power loss during a renewal, and is ignored: the deadline falls back to the one
    the header was written with.
    """
    header = decode_header(_read_line(fd, name))
    if header.slot_offset is None:
        return header
    for _attempt in range(_SLOT_READS):
        try:
            renewed = decode_slot(header.slot)
        except TornSlotError:
            os.sched_yield()
            header.slot = os.pread(fd, SLOT_WIDTH, header.slot_offset)
            continue
        stored = header.metadata.time_expires
        if renewed is not None and stored is not None and renewed > stored:
            header.metadata.time_expires = renewed
        return header
    header.slot = EMPTY_SLOT
    return header


def _read_line(fd: int, name: str) -> bytes:
    data = b""
    want = _FIRST_READ
    while True:
        chunk = os.pread(fd, want - len(data), len(data))
        data += chunk
        end = data.find(b"\n")
        if end >= 0:
            return data[: end + 1]
        if not chunk or len(data) >= MAX_HEADER:
            raise CorruptObjectError(
                f"object header missing or longer than {MAX_HEADER} bytes in {name!r}"
            )
        want = min(MAX_HEADER, want * 4)
