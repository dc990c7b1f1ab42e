"""Streaming ``multipart/form-data`` reading and writing for the batch endpoint.

Reading: :class:`FormDataReader` pulls parts one at a time from a request body and
hands out each part's body as a stream, so a 1 GiB batch request never sits in memory;
only a window of about one read chunk plus the delimiter is buffered.

Writing: :func:`encode_part` and :func:`closing_delimiter` produce the exact framing the
real server emits (``--B\\r\\n`` + headers + ``\\r\\n`` + body + ``\\r\\n`` per part, then
``--B--`` with no trailing CRLF).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from django_objectstore.server.errors import ProtocolError
from django_objectstore.server.messages import BodyReader, Headers

READ_CHUNK = 64 * 1024
MAX_HEADER_BYTES = 64 * 1024
"""Upper bound for one part's header block; larger is a framing error."""
_WHITESPACE = b" \t"


class FormDataError(ValueError):
    """The body is not well-framed ``multipart/form-data``."""


def parse_boundary(content_type: str | None) -> str:
    """The boundary of a ``multipart/form-data`` content type (quoted or not).

    Anything else is a whole-request ``400`` with a plain-text body, as the real
    server's form-data extractor answers.
    """
    if content_type is None:
        raise ProtocolError(
            400, "Invalid `boundary` for `multipart/form-data` request", body="text"
        )
    media_type, _, params = content_type.partition(";")
    if media_type.strip().lower() != "multipart/form-data":
        raise ProtocolError(
            400, "Invalid `boundary` for `multipart/form-data` request", body="text"
        )
    for param in params.split(";"):
        name, sep, value = param.partition("=")
        if sep and name.strip().lower() == "boundary":
            value = value.strip()
            if len(value) >= 2 and value[0] == value[-1] == '"':
                value = value[1:-1]
            if (
                0 < len(value) <= 200
                and value.isascii()
                and "\r" not in value
                and "\n" not in value
            ):
                return value
    raise ProtocolError(400, "Invalid `boundary` for `multipart/form-data` request", body="text")


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
        chunk = self._reader._read_body(READ_CHUNK if n < 0 else n)
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

    def skip(self) -> None:
        while self.read(READ_CHUNK):
            pass


class FormDataReader:
    """Parts of a ``multipart/form-data`` body, read lazily from ``body``.

    The first delimiter may be preceded by a preamble, the closing delimiter followed by
    an epilogue; both are ignored. A body that ends before the closing delimiter is a
    :class:`FormDataError`.
    """

    def __init__(self, body: BodyReader, boundary: str, *, chunk_size: int = READ_CHUNK) -> None:
        self._body = body
        self._chunk_size = chunk_size
        # A leading CRLF lets the first delimiter match like every other one.
        self._buffer = bytearray(b"\r\n")
        self._delimiter = b"\r\n--" + boundary.encode("ascii")
        self._eof = False
        self._done = False
        self._started = False
        self._current: FormPart | None = None

    def _fill(self) -> bool:
        if self._eof:
            return False
        chunk = self._body.read(self._chunk_size)
        if not chunk:
            self._eof = True
            return False
        self._buffer += chunk
        return True

    def _read_body(self, n: int) -> bytes:
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
                raise FormDataError("the body ended inside a part (no closing delimiter)")

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
                raise FormDataError("the body ended inside a delimiter or part headers")

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
                raise FormDataError("the body ended inside part headers")
        if end > MAX_HEADER_BYTES:
            raise FormDataError(f"part headers exceed {MAX_HEADER_BYTES} bytes")
        block = bytes(self._buffer[:end])
        del self._buffer[: end + 4]
        return _parse_headers(block)


def new_boundary() -> str:
    """``os-boundary-`` and 32 random lowercase hex digits, as the real server uses."""
    return f"os-boundary-{secrets.token_hex(16)}"


def content_type(boundary: str) -> str:
    """The response content type, with the boundary quoted like the real server's."""
    return f'multipart/form-data; boundary="{boundary}"'


def encode_part_head(boundary: str, headers: Iterable[tuple[str, str]]) -> bytes:
    """What precedes a part's body: its delimiter line, headers and the blank line.

    The body follows, then :data:`PART_END`; :func:`encode_part` does all three.
    """
    lines = [f"--{boundary}\r\n".encode("ascii")]
    lines.extend(f"{name}: {value}\r\n".encode("latin-1") for name, value in headers)
    lines.append(b"\r\n")
    return b"".join(lines)


PART_END = b"\r\n"
"""What follows a part's body."""


def encode_part(boundary: str, headers: Iterable[tuple[str, str]], body: bytes = b"") -> bytes:
    """One part with its delimiter line, headers, blank line, body and trailing CRLF."""
    return b"".join((encode_part_head(boundary, headers), body, PART_END))


def closing_delimiter(boundary: str) -> bytes:
    """``--B--`` without a trailing CRLF."""
    return f"--{boundary}--".encode("ascii")
