"""``multipart/form-data``, the batch endpoint's framing: a streaming encoder and parser.

The encoder turns parts into body chunks lazily, so a body is produced while it is
sent. The parser reads a stream incrementally and yields one :class:`FormPart` at a
time; only the part being parsed is held in memory (batch parts are buffered whole).
Nothing here knows the batch protocol's headers: either side of it can frame and
unframe its messages with these functions.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

CRLF = b"\r\n"
_READ_SIZE = 64 * 1024
_BOUNDARY_PARAM = re.compile(r';\s*boundary\s*=\s*(?:"([^"]*)"|([^;\s]+))', re.IGNORECASE)
_BOUNDARY_OK = re.compile(r"[0-9A-Za-z'()+_,\-./:=? ]{1,70}")


class FormDataError(ValueError):
    """A ``multipart/form-data`` body or content type that cannot be parsed."""


@dataclass
class FormPart:
    """One part: header names are lowercase, the body is held in memory."""

    headers: dict[str, str]
    body: bytes


class Readable(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...


def new_boundary() -> str:
    """A random boundary that cannot occur in percent-encoded headers by accident."""
    return f"django-objectstore-{secrets.token_hex(16)}"


def content_type_for(boundary: str) -> str:
    return f'multipart/form-data; boundary="{boundary}"'


def boundary_from_content_type(content_type: str | None) -> str:
    """The boundary of a ``multipart/form-data`` content type (quoted or not)."""
    if not content_type or not content_type.lower().startswith("multipart/form-data"):
        raise FormDataError(f"expected a multipart/form-data response, got {content_type!r}")
    match = _BOUNDARY_PARAM.search(content_type)
    if match is None:
        raise FormDataError(f"multipart/form-data without a boundary: {content_type!r}")
    boundary = match.group(1) if match.group(1) is not None else match.group(2)
    if not _BOUNDARY_OK.fullmatch(boundary):
        raise FormDataError(f"invalid multipart boundary {boundary!r}")
    return boundary


def _header_bytes(headers: Sequence[tuple[str, str]]) -> bytes:
    lines = []
    for name, value in headers:
        if any(c in name or c in value for c in "\r\n\0") or ":" in name:
            raise ValueError(f"invalid part header {name!r}: {value!r}")
        lines.append(f"{name}: {value}\r\n")
    return "".join(lines).encode("latin-1")


def encode_form_data(
    parts: Iterable[tuple[Sequence[tuple[str, str]], bytes]], boundary: str
) -> Iterator[bytes]:
    """Yield the body chunks of a form-data message, one part at a time.

    ``parts`` may be a lazy iterable; each part's body is only produced when the
    encoder reaches it. Every part gets ``content-disposition: form-data; name=part``.
    """
    delimiter = b"--" + boundary.encode("ascii")
    for headers, body in parts:
        head = _header_bytes([("content-disposition", 'form-data; name="part"'), *headers])
        yield delimiter + CRLF + head + CRLF
        if body:
            yield body
        yield CRLF
    yield delimiter + b"--" + CRLF


def _parse_headers(block: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in block.split(CRLF):
        if not line:
            continue
        name, sep, value = line.partition(b":")
        if not sep:
            raise FormDataError(f"malformed part header line {line[:80]!r}")
        headers[name.strip().decode("latin-1").lower()] = value.strip().decode("latin-1")
    return headers


class FormDataParser:
    """Incremental parser over a readable stream (``read(n)``)."""

    def __init__(self, stream: Readable, boundary: str, read_size: int = _READ_SIZE) -> None:
        self._stream = stream
        self._read_size = read_size
        self._buf = bytearray()
        self._eof = False
        self._first = b"--" + boundary.encode("ascii")
        self._delimiter = CRLF + self._first

    def _fill(self) -> bool:
        if self._eof:
            return False
        chunk = self._stream.read(self._read_size)
        if not chunk:
            self._eof = True
            return False
        self._buf += chunk
        return True

    def _find(self, needle: bytes, start: int = 0) -> int:
        """Index of ``needle`` in the buffer, reading more as needed; -1 at EOF."""
        while True:
            index = self._buf.find(needle, start)
            if index >= 0:
                return index
            start = max(start, len(self._buf) - len(needle) + 1)
            if not self._fill():
                return -1

    def _need(self, n: int) -> None:
        while len(self._buf) < n and self._fill():
            pass

    def _after_delimiter(self) -> bool:
        """Consume what follows a delimiter; ``False`` for the closing ``--``."""
        self._need(2)
        if self._buf[:2] == b"--":
            return False
        # Transport padding (spaces, tabs) may precede the CRLF.
        while True:
            end = self._find(CRLF)
            if end < 0:
                raise FormDataError("truncated multipart body after a delimiter")
            if self._buf[:end].strip(b" \t"):
                raise FormDataError("garbage after a multipart delimiter")
            del self._buf[: end + 2]
            return True

    def __iter__(self) -> Iterator[FormPart]:
        start = self._find(self._first)
        if start < 0:
            raise FormDataError("multipart body without any delimiter")
        del self._buf[: start + len(self._first)]
        while self._after_delimiter():
            if self._find(CRLF) == 0:
                header_block = b""
                del self._buf[:2]
            else:
                end = self._find(CRLF + CRLF)
                if end < 0:
                    raise FormDataError("truncated multipart part headers")
                header_block = bytes(self._buf[:end])
                del self._buf[: end + 4]
            headers = _parse_headers(header_block)
            end = self._find(self._delimiter)
            if end < 0:
                raise FormDataError("truncated multipart part body")
            body = bytes(self._buf[:end])
            del self._buf[: end + len(self._delimiter)]
            yield FormPart(headers, body)


def parse_form_data(stream: Readable, boundary: str) -> Iterator[FormPart]:
    """Yield the parts of a form-data stream as they arrive."""
    return iter(FormDataParser(stream, boundary))
