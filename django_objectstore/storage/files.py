"""``ObjectstoreFile``: a stored object opened for reading, streamed on demand.

Opening sends one GET and keeps its response: ``read(n)``, ``chunks()`` and iteration
pull the body from the network as they go, so a 10 GiB object never sits in memory.
``seek``/``tell`` work without downloading the whole object first: a forward seek reads
and discards up to the target, a backward seek closes the response and sends a new GET.
``size`` comes from the object's metadata (:func:`uncompressed_size`). The file is
read-only: only mode ``"rb"``.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.core.files.base import File

from django_objectstore.client import GetResponse, Metadata, RequestError, Session

__all__ = ["SIZE_METADATA", "ObjectStream", "ObjectstoreFile", "check_mode", "uncompressed_size"]

SIZE_METADATA = "size"
"""Custom metadata (``x-snme-size``) holding the uncompressed size, written on save."""

_SKIP_CHUNK = 256 * 1024
_COUNT_CHUNK = 256 * 1024

if TYPE_CHECKING:
    _BinaryFile = File[bytes]
else:
    _BinaryFile = File  # not subscriptable at runtime


def check_mode(mode: str | None) -> None:
    """Only binary reading is supported; anything else is a ``ValueError``."""
    if mode not in (None, "rb"):
        raise ValueError(
            f"objectstore files are read-only and binary: open them with mode 'rb', not {mode!r}"
        )


def uncompressed_size(session: Session, key: str, meta: Metadata) -> int | None:
    """The object's size as read back (decompressed); ``None`` if it vanished.

    1. ``x-snme-size``, written by the storage on every save;
    2. the stored size, when the object is not compressed;
    3. otherwise the object is streamed and counted (objects written by other clients).
    """
    recorded = meta.custom.get(SIZE_METADATA)
    if recorded is not None and recorded.isascii() and recorded.isdigit() and len(recorded) < 20:
        return int(recorded)
    if not meta.compression and meta.size is not None:
        return meta.size
    response = session.get(key)
    if response is None:
        return None
    total = 0
    with response:
        while chunk := response.payload.read(_COUNT_CHUNK):
            total += len(chunk)
    return total


class ObjectStream(io.RawIOBase):
    """A seekable read-only stream over GET responses.

    ``fetch()`` returns a fresh :class:`GetResponse` (or raises ``FileNotFoundError``);
    it is called once now and again for every backward seek. ``size_of(metadata)``
    gives the uncompressed size (only asked for when needed: ``size`` or ``SEEK_END``).
    ``translate(exc)`` gives the exception to raise for a client error while reading the
    body (the storage passes its error translation, so a connection lost or a timeout
    mid-body raises the storage's errors); without it, client errors pass through.
    """

    # Class-level defaults: one attribute less to set per open (io.RawIOBase has no
    # __init__ of its own to call either).
    mode = "rb"
    reopen_count = 0
    """How many extra GETs backward seeks caused (for tests and diagnostics)."""
    _size: int | None = None

    def __init__(
        self,
        fetch: Callable[[], GetResponse],
        size_of: Callable[[Metadata], int],
        name: str,
        translate: Callable[[RequestError], Exception] | None = None,
    ) -> None:
        self._fetch = fetch
        self._size_of = size_of
        self._translate = translate
        self.name = name
        # Set before fetching: when fetch() raises (a missing object), the half-made
        # stream is still finalized, and its close() must find the attribute.
        self._response: GetResponse | None = None
        response = self._response = fetch()
        self.metadata: Metadata = response.metadata
        self._position = 0

    # -- io.RawIOBase ---------------------------------------------------------------

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def writable(self) -> bool:
        return False

    def write(self, data: Any, /) -> int:
        raise io.UnsupportedOperation(f"{self.name!r} is opened read-only (objectstore files)")

    def truncate(self, size: int | None = None, /) -> int:
        raise io.UnsupportedOperation(f"{self.name!r} is opened read-only (objectstore files)")

    def fileno(self) -> int:
        raise io.UnsupportedOperation("objectstore files have no file descriptor")

    def readinto(self, buffer: Any, /) -> int:
        """Fill ``buffer`` as far as the object allows (short only at the end)."""
        response = self._current()
        view = memoryview(buffer).cast("B")
        filled = 0
        while filled < len(view):
            try:
                data = response.payload.read(len(view) - filled)
            except RequestError as exc:
                if self._translate is None:
                    raise
                raise self._translate(exc) from exc
            if not data:
                break
            view[filled : filled + len(data)] = data
            filled += len(data)
        self._position += filled
        return filled

    def read(self, size: int | None = -1, /) -> bytes:
        """Up to ``size`` bytes (all that is left for ``-1``), straight from the response.

        Reading the payload directly avoids ``RawIOBase``'s copy into a buffer and, for
        ``read()``, its 8 KiB steps (which halved the speed of whole-file reads).
        """
        response = self._current()
        try:
            if size is None or size < 0:
                data: bytes = response.payload.read()
            else:
                data = response.payload.read(size)
                if 0 < len(data) < size:  # short read (a decompressor's frame): fill up
                    parts = [data]
                    missing = size - len(data)
                    while missing and (more := response.payload.read(missing)):
                        parts.append(more)
                        missing -= len(more)
                    data = b"".join(parts)
        except RequestError as exc:
            if self._translate is None:
                raise
            raise self._translate(exc) from exc
        self._position += len(data)
        return data

    def readall(self) -> bytes:
        """The rest of the object in one piece (the caller asked for all of it)."""
        return self.read()

    def tell(self) -> int:
        self._check_open()
        return self._position

    def seek(self, offset: int, whence: int = os.SEEK_SET, /) -> int:
        self._check_open()
        if whence == os.SEEK_SET:
            target = offset
        elif whence == os.SEEK_CUR:
            target = self._position + offset
        elif whence == os.SEEK_END:
            target = self.size + offset
        else:
            raise ValueError(f"invalid whence {whence!r}")
        if target < 0:
            raise ValueError(f"negative seek position {target}")
        if target < self._position:
            self._restart()
        self._skip(target - self._position)
        self._position = target
        return target

    def close(self) -> None:
        if self._response is not None:
            response, self._response = self._response, None
            response.payload.close()
        super().close()

    # -- extras ---------------------------------------------------------------------

    @property
    def size(self) -> int:
        """The object's (uncompressed) size in bytes."""
        if self._size is None:
            self._size = self._size_of(self.metadata)
        return self._size

    def reopen(self) -> None:
        """Start again from the beginning with a new GET (used by ``File.open``)."""
        self._restart()

    # -- internals ------------------------------------------------------------------

    def _check_open(self) -> None:
        if self.closed:
            raise ValueError("I/O operation on a closed objectstore file")

    def _current(self) -> GetResponse:
        """The response to read from (a new GET after ``reopen``); every read asks."""
        if self.closed:
            raise ValueError("I/O operation on a closed objectstore file")
        response = self._response
        if response is None:
            self._restart()
            response = self._response
            assert response is not None
        return response

    def _restart(self) -> None:
        if self._response is not None:
            self._response.payload.close()
            self._response = None
        self._response = self._fetch()
        self.metadata = self._response.metadata
        self._position = 0
        self.reopen_count += 1

    def _skip(self, count: int) -> None:
        response = self._current()
        while count > 0:
            try:
                data = response.payload.read(min(count, _SKIP_CHUNK))
            except RequestError as exc:
                if self._translate is None:
                    raise
                raise self._translate(exc) from exc
            if not data:
                return
            count -= len(data)


class ObjectstoreFile(_BinaryFile):
    """What ``storage.open(name)`` returns: a lazy, streaming, read-only Django ``File``.

    ``metadata`` holds the object's :class:`~django_objectstore.client.Metadata`
    (content type, filename, expiration, times, custom metadata).
    """

    file: ObjectStream | None  # type: ignore[assignment]

    def __init__(self, stream: ObjectStream, name: str) -> None:
        # What File.__init__ sets for a named stream of mode "rb", without its probing
        # (every open makes one).
        self.file = stream
        self.name = name
        self.mode = "rb"

    @property
    def stream(self) -> ObjectStream:
        if self.file is None:
            raise ValueError("the objectstore file has been detached")
        return self.file

    @property
    def metadata(self) -> Metadata:
        return self.stream.metadata

    @property
    def content_type(self) -> str | None:
        return self.metadata.content_type

    def open(self, mode: str | None = None, *args: Any, **kwargs: Any) -> ObjectstoreFile:
        """Rewind (or, once closed, reopen with a new GET); only mode ``"rb"``."""
        check_mode(mode)
        if self.file is None:
            raise ValueError("The file cannot be reopened.")
        if self.file.closed:
            old = self.file
            self.file = ObjectStream(old._fetch, old._size_of, old.name, old._translate)
        else:
            self.file.seek(0)
        return self

    def writable(self) -> bool:
        return False
