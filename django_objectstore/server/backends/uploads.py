"""Staging for multipart uploads: upload records and their parts until completion.

Every backend owns one store (``Backend.uploads``). The stores share one base class,
:class:`UploadStore`, which holds the steps all of them take:
:class:`~.memory.MemoryUploadStore` for the memory backend and
:class:`~.tiered.uploads.TieredUploadStore` for the tiered backend (rows in its
database, part bytes in files under ``<root>/parts/``).

Upload ids are server-generated UUIDs; anything else is reported as an unknown upload.
"""

from __future__ import annotations

import base64
import hashlib
import re
import threading
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from django_objectstore.server.backends.records import ObjectLocation, ObjectMetadata
from django_objectstore.server.messages import BodyReader

MAX_PART_NUMBER = 10_000
"""Highest part number accepted (the S3/GCS limit)."""
STALE_AFTER = timedelta(days=7)
"""Uploads without activity for longer than this are removed by the sweep."""
CHUNK = 1 << 20
_UPLOAD_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


class UploadNotFound(Exception):
    """No upload with this id exists for this object (never created, completed, aborted)."""


class PartRejected(Exception):
    """The part body does not match its ``Content-Length`` or ``Content-MD5``."""


class InvalidPart(Exception):
    """A part listed on completion was never uploaded, or its ETag does not match."""


@dataclass(frozen=True)
class PartInfo:
    part_number: int
    etag: str
    size: int
    last_modified: datetime


@dataclass(frozen=True)
class Upload:
    """An upload in progress: where it goes and the metadata stamped at initiation."""

    upload_id: str
    location: ObjectLocation
    metadata: ObjectMetadata
    initiated: datetime


@dataclass(frozen=True)
class CompletedPart:
    part_number: int
    etag: str


def new_upload_id() -> str:
    return str(uuid.uuid4())


def is_upload_id(text: str) -> bool:
    """Whether ``text`` can be an id this server generated (a canonical UUID)."""
    return _UPLOAD_ID.fullmatch(text) is not None


def make_etag(part_number: int, size: int, md5: bytes) -> str:
    """Opaque, quoted like S3 ETags: ``"etag-<part>-<size>-<md5 hex>"``."""
    return f'"etag-{part_number}-{size}-{md5.hex()}"'


def decode_md5(header: str | None) -> bytes | None:
    """The raw digest of a ``Content-MD5`` header (base64 of 16 bytes); ``ValueError``."""
    if header is None:
        return None
    try:
        digest = base64.b64decode(header.strip(), validate=True)
    except ValueError:
        raise ValueError("Content-MD5 must be base64") from None
    if len(digest) != 16:
        raise ValueError("Content-MD5 must be the base64 of a 16-byte MD5 digest")
    return digest


def copy_part(
    body: BodyReader, write: Callable[[bytes], object], content_length: int, md5: bytes | None
) -> bytes:
    """Stream ``body`` into ``write``; returns the MD5. ``PartRejected`` on a mismatch."""
    digest = hashlib.md5(usedforsecurity=False)
    size = 0
    while chunk := body.read(CHUNK):
        size += len(chunk)
        if size > content_length:
            raise PartRejected(f"the part body is longer than its Content-Length {content_length}")
        digest.update(chunk)
        write(chunk)
    if size != content_length:
        raise PartRejected(
            f"the part body has {size} bytes but its Content-Length is {content_length}"
        )
    if md5 is not None and digest.digest() != md5:
        raise PartRejected("Content-MD5 does not match the part body")
    return digest.digest()


class PartSink(Protocol):
    """A part being received through ``write``, then sealed and published.

    Once the body is complete and checked, ``seal`` makes the bytes durable and
    ``publish`` (under the upload's lock) replaces any part with the same number.
    """

    def write(self, data: bytes, /) -> object: ...

    def seal(self, info: PartInfo) -> None: ...

    def publish(self) -> None: ...


class StagedPart(Protocol):
    """A part as staged: its record, and its bytes opened for reading."""

    def info(self) -> PartInfo: ...

    def open(self) -> ClosingReader: ...


class UploadStore(ABC):
    """Staging for multipart uploads: one implementation per kind of backend.

    The steps every store takes live here: a part is received outside any lock (the
    upload is checked before and again before publishing), and completion checks every
    listed part before it opens any. Subclasses say where records and parts are kept.
    """

    def __init__(self) -> None:
        self._locks = Locks()

    def lock(self, upload_id: str) -> AbstractContextManager[None]:
        """Serialise completion, abort and part publication of one upload."""
        return self._locks.hold(upload_id)

    @abstractmethod
    def create(self, location: ObjectLocation, metadata: ObjectMetadata, now: datetime) -> str:
        """Record a new upload; ``metadata.time_created`` is ``now``. Returns its id."""

    def put_part(
        self,
        location: ObjectLocation,
        upload_id: str,
        part_number: int,
        body: BodyReader,
        content_length: int,
        md5: bytes | None,
        now: datetime,
    ) -> PartInfo:
        """Stage a part durably, replacing one with the same number."""
        self.find(location, upload_id)
        with self.receive(location, upload_id) as part:
            digest = copy_part(body, part.write, content_length, md5)
            info = PartInfo(
                part_number, make_etag(part_number, content_length, digest), content_length, now
            )
            part.seal(info)
            with self._locks.hold(upload_id):
                self.find(location, upload_id)
                part.publish()
        return info

    @abstractmethod
    def list_parts(self, location: ObjectLocation, upload_id: str) -> list[PartInfo]:
        """All parts, ascending by part number."""

    def open_parts(
        self, location: ObjectLocation, upload_id: str, parts: Sequence[CompletedPart]
    ) -> tuple[Upload, ClosingReader]:
        """Check ``parts`` (``InvalidPart``) and open them as one stream, in listed order."""
        upload, staged = self.staged(location, upload_id)
        for part in parts:
            found = staged.get(part.part_number)
            check_part(part, None if found is None else found.info())
        readers: list[ClosingReader] = []
        try:
            for part in parts:
                readers.append(staged[part.part_number].open())
        except BaseException:
            for reader in readers:
                reader.close()
            raise
        return upload, ChainReader(readers)

    @abstractmethod
    def remove(self, location: ObjectLocation, upload_id: str) -> None:
        """Drop the upload and its parts; unknown ids are fine."""

    @abstractmethod
    def sweep_stale_uploads(self, now: datetime) -> int:
        """Remove uploads idle for more than :data:`STALE_AFTER`; returns how many."""

    @abstractmethod
    def find(self, location: ObjectLocation, upload_id: str) -> Upload:
        """The upload; ``UploadNotFound`` if it is gone or belongs to another object."""

    @abstractmethod
    def receive(self, location: ObjectLocation, upload_id: str) -> AbstractContextManager[PartSink]:
        """A sink for one part's body; what was not published is discarded on exit."""

    @abstractmethod
    def staged(
        self, location: ObjectLocation, upload_id: str
    ) -> tuple[Upload, Mapping[int, StagedPart]]:
        """The upload and its staged parts by number."""


class ClosingReader(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...

    def close(self) -> None: ...


class ChainReader:
    """Several readers read back to back as one body."""

    def __init__(self, readers: Sequence[ClosingReader]) -> None:
        self._readers = list(readers)
        self._index = 0

    def read(self, n: int = -1, /) -> bytes:
        size = CHUNK if n < 0 else n
        while self._index < len(self._readers):
            chunk = self._readers[self._index].read(size)
            if chunk:
                return chunk
            self._index += 1
        return b""

    def close(self) -> None:
        for reader in self._readers:
            reader.close()


class Locks:
    """Striped in-process locks keyed by upload id."""

    def __init__(self) -> None:
        self._stripes = [threading.Lock() for _ in range(64)]

    @contextmanager
    def hold(self, upload_id: str) -> Iterator[None]:
        with self._stripes[hash(upload_id) % len(self._stripes)]:
            yield


def check_part(wanted: CompletedPart, staged: PartInfo | None) -> None:
    """``InvalidPart`` unless ``staged`` exists and carries the ETag the client sent."""
    if staged is None:
        raise InvalidPart(f"part number {wanted.part_number} was not uploaded")
    if staged.etag != wanted.etag:
        raise InvalidPart(
            f"etag mismatch for part {wanted.part_number}: expected {staged.etag}, "
            f"got {wanted.etag}"
        )
