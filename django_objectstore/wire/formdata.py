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
_FORBIDDEN_IN_HEADERS = ("\r", "\n", "\0")


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
    lines = [f"--{boundary}\r\n".encode("ascii")]
    for name, value in headers:
        if ":" in name or any(c in name or c in value for c in _FORBIDDEN_IN_HEADERS):
            raise ValueError(f"invalid part header {name!r}: {value!r}")
        lines.append(f"{name}: {value}\r\n".encode("latin-1"))
    lines.append(b"\r\n")
    return b"".join(lines)


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
    for line in block.split(b"\r\n"):
        if not line:
            continue
        name, sep, value = line.partition(b":")
        if not sep or not name.strip() or name != name.strip():
            raise FormDataError(f"malformed part header line {line[:80]!r}")
        items.append((name.decode("latin-1"), value.strip(_WHITESPACE).decode("latin-1")))
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
        # A leading CRLF lets the first delimiter match like every other one.
        self._buffer = bytearray(b"\r\n")
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
        self._buffer += chunk
        return True

    def read_body(self, n: int) -> bytes:
        """Bytes of the current part up to the next delimiter (which stays buffered)."""
        keep = len(self._delimiter) - 1
        while True:
            end = self._buffer.find(self._delimiter)
            available = end if end >= 0 else len(self._buffer) - keep
            if available > 0:
                size = min(n, available)
                chunk = bytes(self._buffer[:size])
                del self._buffer[:size]
                return chunk
            if end == 0:
                return b""
            if not self._fill():
                raise FormDataError("truncated body: it ended inside a part")

    def _skip_preamble(self) -> None:
        keep = len(self._delimiter) - 1
        while (found := self._buffer.find(self._delimiter)) < 0:
            if len(self._buffer) > keep:
                del self._buffer[: len(self._buffer) - keep]
            if not self._fill():
                raise FormDataError("no multipart delimiter found in the body")
        del self._buffer[:found]

    def _need(self, n: int) -> None:
        while len(self._buffer) < n:
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
        # The buffer now starts with the delimiter.
        self._need(len(self._delimiter) + 2)
        del self._buffer[: len(self._delimiter)]
        if self._buffer[:2] == b"--":
            self._done = True
            return None
        while True:  # transport padding, then the CRLF ending the delimiter line
            self._need(2)
            if self._buffer[0] in _WHITESPACE:
                del self._buffer[:1]
                continue
            if self._buffer[:2] != b"\r\n":
                raise FormDataError("malformed multipart delimiter line")
            del self._buffer[:2]
            break
        headers = self._read_header_block()
        self._current = FormPart(self, headers)
        return self._current

    def _read_header_block(self) -> Headers:
        self._need(2)
        if self._buffer[:2] == b"\r\n":  # a part without headers
            del self._buffer[:2]
            return Headers()
        while (end := self._buffer.find(b"\r\n\r\n")) < 0:
            if len(self._buffer) > MAX_HEADER_BYTES:
                raise FormDataError(f"part headers exceed {MAX_HEADER_BYTES} bytes")
            if not self._fill():
                raise FormDataError("truncated body: it ended inside part headers")
        if end > MAX_HEADER_BYTES:
            raise FormDataError(f"part headers exceed {MAX_HEADER_BYTES} bytes")
        block = bytes(self._buffer[:end])
        del self._buffer[: end + 4]
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
