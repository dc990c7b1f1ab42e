"""Part files of the filesystem multipart store: a fixed-size JSON header, then the bytes.

A part is received into ``.<hex>.tmp`` in its upload's directory with space for the
header first; once the body is complete and checked the header is written, the file
``fsync``-ed and renamed to ``<n>.part`` (see :mod:`.uploads`).
"""

from __future__ import annotations

import json
import os
import uuid
from contextlib import suppress
from datetime import datetime
from typing import IO

from django_objectstore.server.backends.filesystem.fileops import FileLayer, Output
from django_objectstore.server.backends.uploads import ClosingReader, PartInfo, UploadNotFound

HEADER_SIZE = 512
"""Bytes reserved at the start of each part file for its JSON header (space padded)."""
FILE_MODE = 0o600
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)


def fsync_dir(path: str) -> None:
    """Make a directory's entries (renames, new files) durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | _CLOEXEC)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def create_temp(directory: str) -> tuple[str, int]:
    """A new ``.<hex>.tmp`` file in ``directory``: its path and a descriptor to write."""
    temp = os.path.join(directory, f".{uuid.uuid4().hex}.tmp")
    return temp, os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _CLOEXEC, FILE_MODE)


def read_header(path: str, part_number: int) -> PartInfo:
    """The record in a part file's header."""
    with open(path, "rb") as file:
        header = json.loads(file.read(HEADER_SIZE))
    return PartInfo(
        part_number,
        header["etag"],
        header["size"],
        datetime.fromisoformat(header["last_modified"]),
    )


class _PartFile:
    """A staged part's bytes, after the header."""

    def __init__(self, path: str) -> None:
        self._file: IO[bytes] = open(path, "rb")  # noqa: SIM115 - closed by close()
        self._file.seek(HEADER_SIZE)

    def read(self, n: int = -1, /) -> bytes:
        return self._file.read(n)

    def close(self) -> None:
        self._file.close()


class StagedPartFile:
    """A part file as listed: its header is read only when asked for."""

    def __init__(self, path: str, part_number: int) -> None:
        self.path = path
        self.part_number = part_number

    def info(self) -> PartInfo:
        return read_header(self.path, self.part_number)

    def open(self) -> ClosingReader:
        return _PartFile(self.path)


class IncomingPartFile:
    """A part being written to a temporary file in its upload's directory.

    Space for the header comes first; :meth:`seal` fills it in and ``fsync``-s, and
    :meth:`publish` renames the file to ``<n>.part``. :meth:`discard` removes the file
    without writing anything more (see :class:`.fileops.Output`), so a part that fills
    the disk gives its space back at once.
    """

    def __init__(self, directory: str, upload_id: str, files: FileLayer | None = None) -> None:
        self._directory = directory
        try:
            self._temp, fd = create_temp(directory)
        except FileNotFoundError:
            raise UploadNotFound(upload_id) from None
        self._file = Output(fd, files or FileLayer())
        self._number: int | None = None
        try:
            self._file.write(b" " * HEADER_SIZE)
        except BaseException:
            self.discard()
            raise

    def write(self, data: bytes, /) -> object:
        self._file.write(data)
        return len(data)

    def seal(self, info: PartInfo) -> None:
        header = json.dumps(
            {"etag": info.etag, "size": info.size, "last_modified": info.last_modified.isoformat()}
        ).encode()
        self._file.pwrite(header.ljust(HEADER_SIZE), 0)
        self._file.sync()
        self._file.close()
        self._number = info.part_number

    def publish(self) -> None:
        os.replace(self._temp, os.path.join(self._directory, f"{self._number}.part"))
        fsync_dir(self._directory)

    def discard(self) -> None:
        with suppress(OSError):
            os.unlink(self._temp)
        self._file.discard()
