"""What a save sends: Django's in-memory files take a shorter way to the same body, size
and digest as any other seekable file, from the start whatever their position."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import pytest
from django.core.files.base import ContentFile, File
from django.core.files.uploadedfile import InMemoryUploadedFile, SimpleUploadedFile

from django_objectstore.storage.uploads import READ_WHOLE_UPLOAD, prepare_upload

if TYPE_CHECKING:
    _ContentFile = ContentFile[bytes]
else:
    _ContentFile = ContentFile  # not subscriptable at runtime


class _OwnContentFile(_ContentFile):
    """A subclass: not one of Django's own classes, so it takes the general way."""


def _in_memory_upload(data: bytes) -> InMemoryUploadedFile:
    return InMemoryUploadedFile(io.BytesIO(data), "f", "u.bin", None, len(data), None)


MAKERS: dict[str, Callable[[bytes], File[Any]]] = {
    "ContentFile": ContentFile,
    "File over BytesIO": lambda data: File(io.BytesIO(data)),
    "SimpleUploadedFile": lambda data: SimpleUploadedFile("u.bin", data),
    "InMemoryUploadedFile": _in_memory_upload,
    "ContentFile subclass": _OwnContentFile,
}


@pytest.mark.parametrize("make", MAKERS.values(), ids=MAKERS.keys())
@pytest.mark.parametrize("size", [0, 1024, READ_WHOLE_UPLOAD, READ_WHOLE_UPLOAD + 1])
def test_every_seekable_file_is_sent_from_its_start(
    make: Callable[[bytes], File[Any]], size: int
) -> None:
    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    content = make(data)
    content.read(min(size, 7))  # a file already read from is still sent whole
    upload = prepare_upload(content, need_digest=True)
    try:
        assert upload.size == size
        assert upload.sha256 == hashlib.sha256(data).hexdigest()
        if size <= READ_WHOLE_UPLOAD:
            assert upload.body == data
        else:
            assert upload.body is cast(Any, content)
            assert content.tell() == 0
    finally:
        upload.close()


@pytest.mark.parametrize("make", MAKERS.values(), ids=MAKERS.keys())
def test_a_closed_file_fails_as_its_read_would(
    make: Callable[[bytes], File[Any]],
) -> None:
    content = make(b"gone")
    assert content.file is not None
    content.file.close()  # ContentFile.close() leaves its BytesIO open
    with pytest.raises(ValueError, match="closed file"):
        prepare_upload(content, need_digest=False)
