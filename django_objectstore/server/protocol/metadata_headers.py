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
_QUOTED = r'"(?:[\t\x20\x21\x23-\x5b\x5d-\x7e]|\\[\t\x20-\x7e])*"'  # visible ASCII only
_MEDIA_TYPE = re.compile(
    rf"{_TOKEN}/{_TOKEN}(?:[ \t]*;[ \t]*{_TOKEN}=(?:{_TOKEN}|{_QUOTED}))*[ \t]*"
)
_HEADER_NAME = re.compile(_TOKEN)
"""RFC 7230 ``token``: what the HTTP parser accepts as a header name."""
_FORBIDDEN_IN_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
"""Control characters (all but HTAB): what the HTTP parser refuses in a header value."""


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


def check_header(name: str, value: str) -> None:
    """``ProtocolError(400)`` unless ``name: value`` is a header HTTP/1.1 can carry.

    The rule the HTTP parser applies to every single-object request before the
    protocol sees it (names are RFC 7230 tokens; values hold no NUL, CR, LF or other
    control but HTAB), applied where no HTTP parser ran: batch parts and in-process
    requests. A name or value that fails it would poison every later response.
    """
    if not _HEADER_NAME.fullmatch(name):
        raise _bad(f"invalid header name {name[:80]!r}: header names are RFC 7230 tokens")
    if _FORBIDDEN_IN_VALUE.search(value):
        raise _bad(f"invalid value of header {name!r}: control characters are not allowed")


def parse_metadata(headers: Iterable[tuple[str, str]]) -> ObjectMetadata:
    """Metadata from request headers; ``ProtocolError(400)`` (JSON) when one is invalid.

    Repeated headers: the last one wins. ``x-sn-time-*``, ``x-sn-size`` and other
    ``x-sn-*`` headers are ignored without being validated. Custom names are lowercased.
    """
    metadata = ObjectMetadata()
    for raw_name, value in headers:
        check_header(raw_name, value)
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

    Names and values are always legal HTTP: a custom name that is not a token, or a
    content type that is not a valid media type, which an object stored before input
    was checked this strictly may hold, is left out (the default content type is sent).
    """
    content_type = metadata.content_type
    if content_type is None or not _MEDIA_TYPE.fullmatch(content_type):
        content_type = h.DEFAULT_CONTENT_TYPE
    headers = [(h.CONTENT_TYPE, content_type)]
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
        if _HEADER_NAME.fullmatch(h.META_PREFIX + name):
            headers.append((h.META_PREFIX + name, encode_value(value)))
    headers.append((h.SIZE, str(size)))
    if metadata.filename is not None:
        headers.append((h.CONTENT_DISPOSITION, content_disposition(metadata.filename)))
    headers.append((h.ACCEPT_RANGES, "bytes"))
    return headers
