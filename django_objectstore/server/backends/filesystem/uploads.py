"""Multipart staging on disk, beside the filesystem backend's objects (its ``uploads``).

Layout under ``<root>/.multipart/`` (names starting with ``.`` are reserved for the
backend, so no usecase directory can collide with it)::

    <upload id>/upload.json     target location, metadata, initiation time
    <upload id>/<n>.part        a fixed-size JSON header, then the part's bytes
    <upload id>/.<hex>.tmp      a part being received

Every file is written to a temporary name, ``fsync``-ed, renamed into place and the
directory ``fsync``-ed, like object writes: a crash leaves either the old part or the new
one, never a torn one. The upload id directory name is always a canonical UUID.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from datetime import datetime
from typing import Any

from django_objectstore.server.backends.filesystem.fileops import FileLayer, Output
from django_objectstore.server.backends.filesystem.part_files import (
    IncomingPartFile,
    StagedPartFile,
    create_temp,
    fsync_dir,
    read_header,
)
from django_objectstore.server.backends.records import ObjectLocation, ObjectMetadata
from django_objectstore.server.backends.uploads import (
    STALE_AFTER,
    PartInfo,
    StagedPart,
    Upload,
    UploadNotFound,
    UploadStore,
    is_upload_id,
    new_upload_id,
)
from django_objectstore.wire.expiration import format_expiration, parse_expiration

STAGING_DIR = ".multipart"
DIR_MODE = 0o700
_UPLOAD_FILE = "upload.json"


def _metadata_to_json(metadata: ObjectMetadata) -> dict[str, Any]:
    return {
        "content_type": metadata.content_type,
        "compression": metadata.compression,
        "expiration": format_expiration(metadata.expiration),
        "origin": metadata.origin,
        "filename": metadata.filename,
        "custom": metadata.custom,
    }


def _metadata_from_json(data: dict[str, Any], created: datetime) -> ObjectMetadata:
    return ObjectMetadata(
        content_type=data["content_type"],
        compression=data["compression"],
        expiration=parse_expiration(data["expiration"]),
        time_created=created,
        origin=data["origin"],
        filename=data["filename"],
        custom=dict(data["custom"]),
    )


class FilesystemUploadStore(UploadStore):
    """Durable staging in ``<root>/.multipart``."""

    def __init__(self, root: str, files: FileLayer | None = None) -> None:
        super().__init__()
        self.root = root
        self.directory = os.path.join(root, STAGING_DIR)
        self._files = files or FileLayer()

    # -- files -------------------------------------------------------------------

    def _upload_dir(self, upload_id: str) -> str:
        if not is_upload_id(upload_id):
            raise UploadNotFound(upload_id)
        return os.path.join(self.directory, upload_id)

    def _write_file(self, directory: str, name: str, data: bytes) -> None:
        temp, fd = create_temp(directory)
        output = Output(fd, self._files)
        try:
            output.write(data)
            output.sync()
        except BaseException:
            with suppress(OSError):
                os.unlink(temp)
            raise
        finally:
            output.discard()
        os.replace(temp, os.path.join(directory, name))
        fsync_dir(directory)

    def find(self, location: ObjectLocation, upload_id: str) -> Upload:
        path = os.path.join(self._upload_dir(upload_id), _UPLOAD_FILE)
        try:
            with open(path, "rb") as file:
                data = json.load(file)
        except (FileNotFoundError, NotADirectoryError):
            raise UploadNotFound(upload_id) from None
        stored = ObjectLocation(
            data["usecase"], tuple((n, v) for n, v in data["scopes"]), data["key"]
        )
        if stored != location:
            raise UploadNotFound(upload_id)
        initiated = datetime.fromisoformat(data["initiated"])
        return Upload(
            upload_id, stored, _metadata_from_json(data["metadata"], initiated), initiated
        )

    def _part_files(self, upload_id: str) -> dict[int, str]:
        directory = self._upload_dir(upload_id)
        found = {}
        for name in os.listdir(directory):
            number, _, suffix = name.partition(".")
            if suffix == "part" and number.isdigit():
                found[int(number)] = os.path.join(directory, name)
        return found

    # -- the store interface -------------------------------------------------------

    @contextmanager
    def receive(self, location: ObjectLocation, upload_id: str) -> Iterator[IncomingPartFile]:
        part = IncomingPartFile(self._upload_dir(upload_id), upload_id, self._files)
        try:
            yield part
        except BaseException:
            part.discard()
            raise

    def staged(
        self, location: ObjectLocation, upload_id: str
    ) -> tuple[Upload, Mapping[int, StagedPart]]:
        upload = self.find(location, upload_id)
        files = self._part_files(upload_id)
        return upload, {number: StagedPartFile(path, number) for number, path in files.items()}

    def create(self, location: ObjectLocation, metadata: ObjectMetadata, now: datetime) -> str:
        upload_id = new_upload_id()
        os.makedirs(self.directory, DIR_MODE, exist_ok=True)
        # Built under a temporary name and renamed, so an upload directory always has
        # its record.
        building = os.path.join(self.directory, f".{upload_id}.tmp")
        os.mkdir(building, DIR_MODE)
        record = {
            "usecase": location.usecase,
            "scopes": [list(pair) for pair in location.scopes],
            "key": location.key,
            "metadata": _metadata_to_json(metadata),
            "initiated": now.isoformat(),
        }
        try:
            self._write_file(building, _UPLOAD_FILE, json.dumps(record).encode())
            os.rename(building, self._upload_dir(upload_id))
        except BaseException:
            shutil.rmtree(building, ignore_errors=True)
            raise
        fsync_dir(self.directory)
        return upload_id

    def list_parts(self, location: ObjectLocation, upload_id: str) -> list[PartInfo]:
        self.find(location, upload_id)
        parts = []
        try:
            files = self._part_files(upload_id)
            for number in sorted(files):
                try:
                    parts.append(read_header(files[number], number))
                except FileNotFoundError:
                    continue  # aborted or replaced while listing
        except FileNotFoundError:
            raise UploadNotFound(upload_id) from None
        return parts

    def remove(self, location: ObjectLocation, upload_id: str) -> None:
        try:
            self.find(location, upload_id)
        except UploadNotFound:
            return
        self._remove_dir(upload_id)

    def _remove_dir(self, upload_id: str) -> None:
        directory = self._upload_dir(upload_id)
        # Drop the record first so a crash mid-removal leaves an id nobody can use.
        with suppress(FileNotFoundError):
            os.unlink(os.path.join(directory, _UPLOAD_FILE))
        shutil.rmtree(directory, ignore_errors=True)

    def sweep_stale_uploads(self, now: datetime) -> int:
        try:
            names = os.listdir(self.directory)
        except FileNotFoundError:
            return 0
        removed = 0
        for upload_id in names:
            if not is_upload_id(upload_id):
                removed += self._sweep_leftover(upload_id)
                continue
            with self.lock(upload_id):
                touched = self._last_activity(upload_id)
                if touched is None or now - touched > STALE_AFTER:
                    self._remove_dir(upload_id)
                    removed += 1
        return removed

    def _sweep_leftover(self, name: str) -> int:
        """Remove a directory left by a crash during initiation, once it is old."""
        path = os.path.join(self.directory, name)
        try:
            age = time.time() - os.stat(path).st_mtime
        except FileNotFoundError:
            return 0
        if not name.endswith(".tmp") or age <= STALE_AFTER.total_seconds():
            return 0
        shutil.rmtree(path, ignore_errors=True)
        return 1

    def _last_activity(self, upload_id: str) -> datetime | None:
        """When the upload was initiated or last received a part; ``None`` if broken."""
        directory = self._upload_dir(upload_id)
        try:
            with open(os.path.join(directory, _UPLOAD_FILE), "rb") as file:
                touched = datetime.fromisoformat(json.load(file)["initiated"])
            for number, path in self._part_files(upload_id).items():
                touched = max(touched, read_header(path, number).last_modified)
        except (OSError, ValueError, KeyError):
            return None
        return touched
