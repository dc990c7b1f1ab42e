"""Object metadata and its request/response headers."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import TracebackType
from typing import NamedTuple

from django_objectstore.client.compression import Payload
from django_objectstore.wire import headers as h
from django_objectstore.wire.durations import parse_canonical_duration, parse_duration
from django_objectstore.wire.expiration import (
    ExpirationPolicy,
    TimeToIdle,
    TimeToLive,
    format_expiration,
)
from django_objectstore.wire.timestamps import parse_timestamp
from django_objectstore.wire.values import decode_value, encode_value

__all__ = [
    "GetResponse",
    "Metadata",
    "build_metadata_headers",
    "validate_content_type",
    "validate_metadata_name",
]

# A legal HTTP header-name token (RFC 9110): custom metadata names travel in one.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]*")


@dataclass
class Metadata:
    """What the server knows about an object (the headers of a GET or HEAD)."""

    content_type: str | None = h.DEFAULT_CONTENT_TYPE
    compression: str | None = None
    """The stored encoding (``"zstd"``); ``None`` once the client decompressed the payload."""
    expiration_policy: ExpirationPolicy | None = None
    time_created: datetime | None = None
    time_expires: datetime | None = None
    """The deadline; for TTI objects the value before this access renewed it."""
    origin: str | None = None
    filename: str | None = None
    size: int | None = None
    """Stored (compressed) size in bytes; ``None`` from servers that do not report it."""
    custom: dict[str, str] = field(default_factory=dict)
    """Custom metadata; names come back lowercased (HTTP header names)."""

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> Metadata:
        """Parse response headers (names compared case-insensitively)."""
        meta = cls()
        for raw_name, value in headers.items():
            name = raw_name.lower()
            if name == h.CONTENT_TYPE:
                meta.content_type = value
            elif name == h.CONTENT_ENCODING:
                meta.compression = value
            elif name == h.EXPIRATION:
                meta.expiration_policy = _parse_policy(value)
            elif name == h.TIME_CREATED:
                meta.time_created = parse_timestamp(value)
            elif name == h.TIME_EXPIRES:
                meta.time_expires = parse_timestamp(value)
            elif name == h.ORIGIN:
                meta.origin = decode_value(value)
            elif name == h.FILENAME:
                meta.filename = decode_value(value)
            elif name == h.SIZE:
                meta.size = int(value)
            elif name.startswith(h.META_PREFIX):
                meta.custom[name[len(h.META_PREFIX) :]] = decode_value(value)
        return meta


@functools.lru_cache(maxsize=256)  # a handful of distinct policies, one per response
def _parse_policy(value: str) -> ExpirationPolicy | None:
    kind, sep, text = value.partition(":")
    if not sep or kind not in ("ttl", "tti"):
        return None  # manual, or a policy this client does not know
    try:
        delta = parse_canonical_duration(text)
    except ValueError:
        delta = parse_duration(text)  # forms older servers emitted, e.g. ``1day``
    return TimeToLive(delta) if kind == "ttl" else TimeToIdle(delta)


class GetResponse(NamedTuple):
    """A found object: ``metadata`` and ``payload``, a stream to read and close.

    Use it as a context manager to close the payload (and release the connection)::

        with session.get(key) as result:
            data = result.payload.read()
    """

    metadata: Metadata
    payload: Payload

    def __enter__(self) -> GetResponse:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.payload.close()


def validate_metadata_name(name: str) -> str:
    if not isinstance(name, str) or not _TOKEN.fullmatch(name):
        raise ValueError(
            f"invalid metadata name {name!r}: names travel as HTTP header names; "
            "use letters, digits and !#$%&'*+-.^_`|~"
        )
    return name


def validate_content_type(value: str) -> str:
    if "\r" in value or "\n" in value or not value.isascii():
        raise ValueError(f"invalid content_type {value!r}: must be ASCII on one line")
    return value


def build_metadata_headers(
    *,
    compression: str,
    content_type: str | None,
    metadata: Mapping[str, str] | None,
    expiration_policy: ExpirationPolicy | None,
    origin: str | None,
    filename: str | None,
) -> dict[str, str]:
    """The write headers for an object; raises ``ValueError`` for bad values."""
    out: dict[str, str] = {}
    if compression == "zstd":
        out[h.CONTENT_ENCODING] = "zstd"
    if content_type:
        out[h.CONTENT_TYPE] = validate_content_type(content_type)
    if expiration_policy is not None:
        _check_policy(expiration_policy)
        out[h.EXPIRATION] = format_expiration(expiration_policy)
    if origin:
        out[h.ORIGIN] = encode_value(origin)
    if filename is not None:
        out[h.FILENAME] = encode_value(filename)
    if metadata:
        for name, value in metadata.items():
            if not isinstance(value, str):
                raise ValueError(f"metadata value for {name!r} must be a str, got {value!r}")
            out[h.META_PREFIX + validate_metadata_name(name)] = encode_value(value)
    return out


def _check_policy(policy: object) -> None:
    if not isinstance(policy, TimeToLive | TimeToIdle):
        raise ValueError(
            f"invalid expiration_policy {policy!r}: use TimeToLive(timedelta), "
            "TimeToIdle(timedelta) or None"
        )
    if not isinstance(policy.delta, timedelta) or policy.delta < timedelta(0):
        raise ValueError(f"expiration_policy duration must be a non-negative timedelta: {policy!r}")
