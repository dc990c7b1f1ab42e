"""Preparing an upload: the body to send, its size, and (for content keys) its digest.

Nothing here reads a large file into memory. A seekable binary file is streamed as it
is (a content digest is computed in a first pass, then the file is rewound); anything
else (pipes, text streams, files of unknown size) is spooled to a temporary file that
stays in memory only up to :data:`SPOOL_MEMORY_LIMIT` bytes, counting and hashing on
the way. Uploads up to :data:`READ_WHOLE_UPLOAD` bytes are read into ``bytes``.
"""

from __future__ import annotations

import hashlib
import io
import mimetypes
import tempfile
from collections.abc import Iterator
from typing import IO, Any, BinaryIO, cast

from django.core.files.base import ContentFile, File
from django.core.files.uploadedfile import InMemoryUploadedFile, SimpleUploadedFile

__all__ = [
    "CHUNK_SIZE",
    "COMPRESSED_CONTENT_TYPES",
    "READ_WHOLE_UPLOAD",
    "SPOOL_MEMORY_LIMIT",
    "PreparedUpload",
    "content_type_for",
    "declare_text_charset",
    "original_filename",
    "prepare_upload",
]

CHUNK_SIZE = 256 * 1024
SPOOL_MEMORY_LIMIT = 1024 * 1024
"""Spooled uploads move from memory to a temporary file beyond this many bytes."""
READ_WHOLE_UPLOAD = 64 * 1024
"""Uploads up to this size are handed to the client as ``bytes``: it would read them into
memory anyway (to compress in one shot or send in one write), and ``bytes`` spare it
the file probing (seekable, tell, seek) that costs a small save more than its bytes."""

COMPRESSED_CONTENT_TYPES = frozenset(
    {
        "application/gzip",
        "application/x-7z-compressed",
        "application/x-bzip2",
        "application/x-rar-compressed",
        "application/x-xz",
        "application/zip",
        "application/zstd",
        "image/avif",
        "image/gif",
        "image/jpeg",
        "image/png",
        "image/webp",
    }
)
"""Content types whose bytes are already compressed: stored without zstd.

``audio/*`` and ``video/*`` are treated the same way.
"""


class PreparedUpload:
    """What :func:`prepare_upload` returns: the body to send, its size and its SHA-256
    (``None`` unless asked for). ``body`` is ``bytes`` up to :data:`READ_WHOLE_UPLOAD`,
    else a binary stream at its start. Closing it removes a spool file (a plain
    ``close()`` rather than a generator context manager, as every save makes one)."""

    __slots__ = ("_spool", "body", "sha256", "size")

    def __init__(
        self,
        body: bytes | BinaryIO,
        size: int,
        sha256: str | None,
        spool: IO[bytes] | None = None,
    ) -> None:
        self.body = body
        self.size = size
        self.sha256 = sha256
        self._spool = spool

    def close(self) -> None:
        if self._spool is not None:
            self._spool.close()


def original_filename(content: Any, fallback: str) -> str:
    """The upload's own file name, else the stored name's last part.

    An opened objectstore file contributes the filename in its metadata, so copies keep
    the name the user uploaded; other files their ``name``.
    """
    stored = getattr(getattr(content, "metadata", None), "filename", None)
    if isinstance(stored, str) and stored:
        return stored
    # rpartition: os.path.basename on POSIX (the package's platform) without its calls.
    name = getattr(content, "name", None)
    if isinstance(name, str) and name:
        return name.replace("\\", "/").rpartition("/")[2] or fallback.rpartition("/")[2]
    return fallback.rpartition("/")[2]


def content_type_for(content: Any, filename: str) -> str | None:
    """``content.content_type`` of an ``UploadedFile``, else guessed from ``filename``."""
    declared = getattr(content, "content_type", None)
    if isinstance(declared, str) and declared:
        return declared
    return mimetypes.guess_type(filename)[0]


CHARSET_PROBE_BYTES = 64 * 1024
"""How much of a ``text/*`` upload without a charset is read to recognise UTF-8."""


def declare_text_charset(
    content_type: str | None, content: Any, body: bytes | BinaryIO
) -> str | None:
    """``content_type`` with the charset a browser needs to show text as text.

    1. A charset in ``content_type`` is kept as it is.
    2. Else the charset the upload declared (Django's ``UploadedFile.charset``, from
       the form part's ``Content-Type``) is added.
    3. Else, for ``text/*``, the first :data:`CHARSET_PROBE_BYTES` of ``body`` are read
       (a stream is rewound afterwards): valid UTF-8 (ASCII included) adds
       ``charset=utf-8``; anything else stays without a charset, for the browser to guess.
    """
    if not content_type or "charset=" in content_type.lower():
        return content_type
    declared = getattr(content, "charset", None)
    if isinstance(declared, str) and declared and _is_token(declared):
        return f"{content_type}; charset={declared}"
    if not content_type.lower().startswith("text/"):
        return content_type
    if isinstance(body, bytes):
        probe = body if len(body) <= CHARSET_PROBE_BYTES else body[:CHARSET_PROBE_BYTES]
    else:
        start = body.tell()
        probe = body.read(CHARSET_PROBE_BYTES)
        body.seek(start)
    return f"{content_type}; charset=utf-8" if _is_utf8_prefix(probe) else content_type


def _is_token(value: str) -> bool:
    return value.isascii() and all(c.isalnum() or c in "-_.:+" for c in value)


def _is_utf8_prefix(data: bytes) -> bool:
    """Valid UTF-8, allowing a character cut off at the end of the probe."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as error:
        # A full probe may end inside a character: that sequence is forgiven.
        return (
            len(data) == CHARSET_PROBE_BYTES
            and error.reason == "unexpected end of data"
            and error.start >= len(data) - 3
        )
    return True


def is_precompressed(content_type: str | None) -> bool:
    """Whether ``content_type`` names an already-compressed format."""
    if not content_type:
        return False
    base = content_type.split(";", 1)[0].strip().lower()
    return base in COMPRESSED_CONTENT_TYPES or base.startswith(("audio/", "video/"))


def _known_size(content: File[Any]) -> int | None:
    try:
        size = content.size
    except (AttributeError, OSError, ValueError):
        return None
    return size if isinstance(size, int) and size >= 0 else None


_IN_MEMORY_FILES = frozenset({File, ContentFile, InMemoryUploadedFile, SimpleUploadedFile})
"""Django's own file classes, which read, seek and probe through to their ``file``."""


def _is_binary_seekable(content: File[Any]) -> bool:
    try:
        if not content.seekable():
            return False
        content.seek(0)
        probe = content.read(0)
        content.seek(0)
    except (AttributeError, OSError, ValueError):
        return False
    return isinstance(probe, bytes)


def _encoded_chunks(content: File[Any]) -> Iterator[bytes]:
    for chunk in content.chunks(CHUNK_SIZE):
        yield chunk.encode("utf-8") if isinstance(chunk, str) else bytes(chunk)


def prepare_upload(content: File[Any], *, need_digest: bool) -> PreparedUpload:
    """What to send for ``content``; close it when sent (spool files are removed).

    One of Django's own files over an open ``BytesIO`` (``ContentFile``, small form
    uploads) is rewound and read directly: what :func:`_is_binary_seekable` and a read
    through the file's proxies would give, without their five calls.
    """
    if type(content) in _IN_MEMORY_FILES:
        stream = content.file
        if type(stream) is io.BytesIO and not stream.closed:
            stream.seek(0)
            size = _known_size(content)
            if size is not None and size <= READ_WHOLE_UPLOAD:
                body: bytes = stream.read()
                return PreparedUpload(body, size, _sha256(body) if need_digest else None)
    size = _known_size(content) if _is_binary_seekable(content) else None
    if size is not None:
        if size <= READ_WHOLE_UPLOAD:
            body = content.read()
            return PreparedUpload(body, size, _sha256(body) if need_digest else None)
        digest = None
        if need_digest:
            hasher = hashlib.sha256()
            for chunk in content.chunks(CHUNK_SIZE):
                hasher.update(chunk)
            digest = hasher.hexdigest()
            content.seek(0)
        return PreparedUpload(cast(BinaryIO, content), size, digest)
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY_LIMIT)  # noqa: SIM115
    try:
        hasher = hashlib.sha256()
        size = 0
        for chunk in _encoded_chunks(content):
            spool.write(chunk)
            hasher.update(chunk)
            size += len(chunk)
        spool.seek(0)
        digest = hasher.hexdigest() if need_digest else None
        if size <= READ_WHOLE_UPLOAD:
            body = spool.read()
            spool.close()
            return PreparedUpload(body, size, digest)
        stream = cast(IO[bytes], spool)
        return PreparedUpload(cast(BinaryIO, stream), size, digest, stream)
    except BaseException:
        spool.close()
        raise


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
