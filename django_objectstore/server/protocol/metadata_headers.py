"""Object metadata to and from HTTP headers (protocol.md §4).

Used by the single-object endpoints and by batch and multipart, so every write path
accepts the same headers and every read path emits the same ones.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from django_objectstore.server.backends.records import ObjectMetadata
from django_objectstore.server.errors import ProtocolError
from django_objectstore.server.protocol.content_disposition import content_disposition
from django_objectstore.wire import headers as h
from django_objectstore.wire.expiration import format_expiration, parse_expiration
from django_objectstore.wire.timestamps import format_timestamp
from django_objectstore.wire.values import decode_value, encode_value

_TOKEN = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_QUOTED = r'"(?:[^"\\]|\\.)*"'
_MEDIA_TYPE = re.compile(
    rf"{_TOKEN}/{_TOKEN}(?:[ \t]*;[ \t]*{_TOKEN}=(?:{_TOKEN}|{_QUOTED}))*[ \t]*",
    re.DOTALL,
)


def _bad(detail: str) -> ProtocolError:
    return ProtocolError(400, f"client error: {detail}")


def _media_type(value: str) -> str:
    if not _MEDIA_TYPE.fullmatch(value):
        raise _bad(f"invalid content-type {value!r}: expected type/subtype[; name=value]")
    return value


def _free_form(value: str, name: str) -> str:
    try:
        return decode_value(value)
    except ValueError as error:
        raise _bad(f"invalid {name} header: {error}") from None


def parse_metadata(headers: Iterable[tuple[str, str]]) -> ObjectMetadata:
    """Metadata from request headers; ``ProtocolError(400)`` (JSON) when one is invalid.

    Repeated headers: the last one wins. ``x-sn-time-*``, ``x-sn-size`` and other
    ``x-sn-*`` headers are ignored without being validated. Custom names are lowercased.
    """
    metadata = ObjectMetadata()
    for raw_name, value in headers:
        name = raw_name.lower()
        if name == h.CONTENT_TYPE:
            metadata.content_type = _media_type(value)
        elif name == h.CONTENT_ENCODING:
            if value != h.ZSTD:
                raise _bad(f"unsupported content-encoding {value!r}: only 'zstd' is accepted")
            metadata.compression = h.ZSTD
        elif name == h.EXPIRATION:
            try:
                metadata.expiration = parse_expiration(value, lenient=True)
            except ValueError as error:
                raise _bad(f"invalid {h.EXPIRATION} header: {error}") from None
        elif name == h.ORIGIN:
            metadata.origin = _free_form(value, h.ORIGIN)
        elif name == h.FILENAME:
            metadata.filename = _free_form(value, h.FILENAME)
        elif name.startswith(h.META_PREFIX):
            metadata.custom[name[len(h.META_PREFIX) :]] = _free_form(value, name)
    return metadata


def metadata_headers(metadata: ObjectMetadata, size: int) -> list[tuple[str, str]]:
    """Response headers (lowercase names) describing a stored object of ``size`` bytes.

    Includes ``x-sn-size``, ``content-disposition`` (when a filename is set) and
    ``accept-ranges: bytes``; ``content-length`` is left to the caller because a range
    response sends the length of the range.
    """
    headers = [(h.CONTENT_TYPE, metadata.content_type or h.DEFAULT_CONTENT_TYPE)]
    if metadata.compression:
        headers.append((h.CONTENT_ENCODING, metadata.compression))
    if metadata.expiration is not None:
        headers.append((h.EXPIRATION, format_expiration(metadata.expiration)))
    if metadata.time_created is not None:
        headers.append((h.TIME_CREATED, format_timestamp(metadata.time_created)))
    if metadata.time_expires is not None:
        headers.append((h.TIME_EXPIRES, format_timestamp(metadata.time_expires)))
    if metadata.origin is not None:
        headers.append((h.ORIGIN, encode_value(metadata.origin)))
    if metadata.filename is not None:
        headers.append((h.FILENAME, encode_value(metadata.filename)))
    for name, value in metadata.custom.items():
        headers.append((h.META_PREFIX + name, encode_value(value)))
    headers.append((h.SIZE, str(size)))
    if metadata.filename is not None:
        headers.append((h.CONTENT_DISPOSITION, content_disposition(metadata.filename)))
    headers.append((h.ACCEPT_RANGES, "bytes"))
    return headers
