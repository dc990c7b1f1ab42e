"""``multipart/form-data``, the batch endpoint's framing, for both sides of the wire.

Writing: :func:`encode_part_head`, :data:`PART_END` and :func:`closing_delimiter` are
the exact framing the real server emits (``--B\\r\\n`` + headers + ``\\r\\n`` + body +
``\\r\\n`` per part, then ``--B--`` with no trailing CRLF); :func:`encode_form_data`
frames a lazy iterable of request parts the same way.

Reading: :class:`FormDataReader` pulls parts one at a time from a stream and hands out
each part's body as a stream, so a 1 GiB batch never sits in memory; only a window of
about one read chunk plus the delimiter is buffered. :func:`parse_form_data` reads each
part's body whole, for callers that want bytes.

Nothing here knows the batch protocol's headers; the server maps :class:`FormDataError`
to its 400 answers, the client to its request errors.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from django_objectstore.wire.headers import Headers

__all__ = [
    "MAX_HEADER_BYTES",
    "PART_END",
    "READ_CHUNK",
    "BufferedPart",
    "FormDataError",
    "FormDataReader",
    "FormPart",
    "closing_delimiter",
    "content_type_for",
    "encode_form_data",
    "encode_part",
    "encode_part_head",
    "new_boundary",
    "parse_boundary",
    "parse_form_data",
]

READ_CHUNK = 64 * 1024
MAX_HEADER_BYTES = 64 * 1024
"""Upper bound for one part's header block; larger is a framing error."""
PART_END = b"\r\n"
"""What follows a part's body."""
_WHITESPACE = b" \t"
_ASCII_SPACE = " \t\n\r\x0b\x0c"
"""What ``bytes.strip()`` strips; ``str.strip()`` would strip more (``\\x85``, ``\\xa0``)."""
_INVALID_NAMES = re.compile("[:\r\n\0]")
_INVALID_VALUES = re.compile("[\r\n\0]")


class FormDataError(ValueError):
    """A body or content type that is not well-framed ``multipart/form-data``."""


class Readable(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...


def new_boundary() -> str:
    """``os-boundary-`` and 32 random lowercase hex digits, as the real server uses."""
    return f"os-boundary-{secrets.token_hex(16)}"


def content_type_for(boundary: str) -> str:
    """The content type of a body framed with ``boundary`` (quoted, like the server's)."""
    return f'multipart/form-data; boundary="{boundary}"'


def parse_boundary(content_type: str | None) -> str:
    """The boundary of a ``multipart/form-data`` content type (quoted or not)."""
    media_type, _, params = (content_type or "").partition(";")
    if media_type.strip().lower() != "multipart/form-data":
        raise FormDataError(f"expected multipart/form-data, got {content_type!r}")
    for param in params.split(";"):
        name, sep, value = param.partition("=")
        if sep and name.strip().lower() == "boundary":
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            if 0 < len(value) <= 200 and value.isascii() and value.isprintable():
                return value
            raise FormDataError(f"invalid multipart boundary {value!r}")
    raise FormDataError(f"multipart/form-data without a boundary: {content_type!r}")


def encode_part_head(boundary: str, headers: Iterable[tuple[str, str]]) -> bytes:
    """What precedes a part's body: its delimiter line, headers and the blank line.

    ``ValueError`` for a header that would break the framing (CR, LF, NUL, or ``:`` in
    a name), before anything is sent.
    """
    pairs = headers if isinstance(headers, list | tuple) else list(headers)
    # One check of all names and one of all values (joined by a space, which both
    # allow) instead of one per header; the offending header is found only on failure.
    names = " ".join([name for name, _ in pairs])
    values = " ".join([value for _, value in pairs])
    if _INVALID_NAMES.search(names) or _INVALID_VALUES.search(values):
        for name, value in pairs:
            if _INVALID_NAMES.search(name) or _INVALID_VALUES.search(value):
                raise ValueError(f"invalid part header {name!r}: {value!r}")
    boundary.encode("ascii")  # a non-ASCII boundary is an error, as before
    lines = [f"{name}: {value}\r\n" for name, value in pairs]
    return "".join([f"--{boundary}\r\n", *lines, "\r\n"]).encode("latin-1")


def encode_part(boundary: str, headers: Iterable[tuple[str, str]], body: bytes = b"") -> bytes:
    """One part with its delimiter line, headers, blank line, body and trailing CRLF."""
    return b"".join((encode_part_head(boundary, headers), body, PART_END))


def closing_delimiter(boundary: str) -> bytes:
    """``--B--`` without a trailing CRLF."""
    return f"--{boundary}--".encode("ascii")


def encode_form_data(
    parts: Iterable[tuple[Sequence[tuple[str, str]], bytes]], boundary: str
) -> Iterator[bytes]:
    """Yield the body chunks of a request, one part at a time.

    ``parts`` may be a lazy iterable; each part's body is only produced when the
    encoder reaches it. Every part gets ``content-disposition: form-data; name=part``.
    """
    for headers, body in parts:
        yield encode_part_head(
            boundary, [("content-disposition", 'form-data; name="part"'), *headers]
        )
        if body:
            yield body
        yield PART_END
    yield closing_delimiter(boundary)


def _parse_headers(block: bytes) -> Headers:
    items = []
    # Latin-1 maps each byte to one character: decoding the block once is decoding
    # every name and value.
    for line in block.decode("latin-1").split("\r\n"):
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip(_ASCII_SPACE):
            raise FormDataError(f"malformed part header line {line[:80].encode('latin-1')!r}")
        items.append((name, value.strip(" \t")))
    return Headers(items)


class FormPart:
    """One part: its headers and a body stream valid until the next part is requested."""

    def __init__(self, reader: FormDataReader, headers: Headers) -> None:
        self._reader = reader
        self.headers = headers
        self.finished = False

    def read(self, n: int = READ_CHUNK, /) -> bytes:
        """Up to ``n`` bytes of the body (``n < 0``: a chunk); ``b""`` at its end."""
        if self.finished:
            return b""
        chunk = self._reader.read_body(READ_CHUNK if n < 0 else n)
        if not chunk:
            self.finished = True
        return chunk

    def read_limited(self, limit: int) -> bytes | None:
        """The whole body if it has at most ``limit`` bytes, else ``None``.

        On ``None`` the rest of the body is skipped without being kept in memory.
        """
        chunks: list[bytes] = []
        total = 0
        while chunk := self.read(READ_CHUNK):
            total += len(chunk)
            if total > limit:
                self.skip()
                return None
            chunks.append(chunk)
        return b"".join(chunks)

    def read_all(self) -> bytes:
        """The rest of the body."""
        return b"".join(iter(self.read, b""))

    def skip(self) -> None:
        while self.read(READ_CHUNK):
            pass


class FormDataReader:
    """Parts of a ``multipart/form-data`` body, read lazily from ``body``.

    The first delimiter may be preceded by a preamble, the closing delimiter followed by
    an epilogue; both are ignored. A body that ends before the closing delimiter is a
    :class:`FormDataError`.
    """

    def __init__(self, body: Readable, boundary: str, *, chunk_size: int = READ_CHUNK) -> None:
        self._body = body
        self._chunk_size = chunk_size
        # Unread bytes are ``_buffer[_pos:]``: consuming moves ``_pos`` instead of
        # copying the rest of the buffer; a read from the body drops what was consumed.
        # A leading CRLF lets the first delimiter match like every other one.
        self._buffer = b"\r\n"
        self._pos = 0
        self._delimiter = b"\r\n--" + boundary.encode("ascii")
        self._eof = False
        self._done = False
        self._started = False
        self._current: FormPart | None = None

    def __iter__(self) -> Iterator[FormPart]:
        while (part := self.next_part()) is not None:
            yield part

    def _fill(self) -> bool:
        if self._eof:
            return False
        chunk = self._body.read(self._chunk_size)
        if not chunk:
            self._eof = True
            return False
        self._buffer = self._buffer[self._pos :] + chunk
        self._pos = 0
        return True

    def read_body(self, n: int) -> bytes:
        """Bytes of the current part up to the next delimiter (which stays buffered)."""
        keep = len(self._delimiter) - 1
        while True:
            pos = self._pos
            end = self._buffer.find(self._delimiter, pos)
            available = (end if end >= 0 else len(self._buffer) - keep) - pos
            if available > 0:
                size = min(n, available)
                self._pos = pos + size
                return self._buffer[pos : pos + size]
            if end == pos:
                return b""
            if not self._fill():
                raise FormDataError("truncated body: it ended inside a part")

    def _skip_preamble(self) -> None:
        keep = len(self._delimiter) - 1
        while (found := self._buffer.find(self._delimiter, self._pos)) < 0:
            self._pos = max(self._pos, len(self._buffer) - keep)
            if not self._fill():
                raise FormDataError("no multipart delimiter found in the body")
        self._pos = found

    def _need(self, n: int) -> None:
        while len(self._buffer) - self._pos < n:
            if not self._fill():
                raise FormDataError("truncated body: it ended inside a delimiter or headers")

    def next_part(self) -> FormPart | None:
        """The next part (the previous one's unread body is skipped), ``None`` at the end."""
        if self._done:
            return None
        if self._current is not None:
            self._current.skip()
            self._current = None
        if not self._started:
            self._started = True
            self._skip_preamble()
        # The unread bytes now start with the delimiter.
        self._need(len(self._delimiter) + 2)
        self._pos += len(self._delimiter)
        if self._buffer.startswith(b"--", self._pos):
            self._done = True
            return None
        while True:  # transport padding, then the CRLF ending the delimiter line
            self._need(2)
            if self._buffer[self._pos] in _WHITESPACE:
                self._pos += 1
                continue
            if not self._buffer.startswith(b"\r\n", self._pos):
                raise FormDataError("malformed multipart delimiter line")
            self._pos += 2
            break
        headers = self._read_header_block()
        self._current = FormPart(self, headers)
        return self._current

    def _read_header_block(self) -> Headers:
        self._need(2)
        if self._buffer.startswith(b"\r\n", self._pos):  # a part without headers
            self._pos += 2
            return Headers()
        while (end := self._buffer.find(b"\r\n\r\n", self._pos)) < 0:
            if len(self._buffer) - self._pos > MAX_HEADER_BYTES:
                raise FormDataError(f"part headers exceed {MAX_HEADER_BYTES} bytes")
            if not self._fill():
                raise FormDataError("truncated body: it ended inside part headers")
        if end - self._pos > MAX_HEADER_BYTES:
            raise FormDataError(f"part headers exceed {MAX_HEADER_BYTES} bytes")
        block = self._buffer[self._pos : end]
        self._pos = end + 4
        return _parse_headers(block)


@dataclass
class BufferedPart:
    """A part read whole: header names lowercased (the last of repeated names wins)."""

    headers: dict[str, str]
    body: bytes


def parse_form_data(stream: Readable, boundary: str) -> Iterator[BufferedPart]:
    """Yield the parts of a form-data stream as they arrive, each body read whole."""
    for part in FormDataReader(stream, boundary):
        headers = {name.lower(): value for name, value in part.headers}
        yield BufferedPart(headers, part.read_all())
