"""Text is stored with a charset, so browsers show it as text (docs/storage.md)."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile

from django_objectstore.storage import ObjectstoreStorage
from django_objectstore.storage.uploads import CHARSET_PROBE_BYTES


def _type(storage: ObjectstoreStorage, name: str) -> str | None:
    return storage.metadata(name).content_type


def test_utf8_text_without_a_charset_is_stored_as_utf8(
    storage: ObjectstoreStorage, prefix: str
) -> None:
    upload = SimpleUploadedFile("notes.txt", "naïve café ✓".encode(), content_type="text/plain")
    name = storage.save(f"{prefix}/notes.txt", upload)
    assert _type(storage, name) == "text/plain; charset=utf-8"


def test_ascii_text_is_utf8_too(storage: ObjectstoreStorage, prefix: str) -> None:
    name = storage.save(f"{prefix}/a.csv", ContentFile(b"a,b\n1,2\n"))
    assert _type(storage, name) == "text/csv; charset=utf-8"


def test_the_charset_the_upload_declares_is_kept(storage: ObjectstoreStorage, prefix: str) -> None:
    upload = SimpleUploadedFile("l.txt", "café".encode("latin-1"), content_type="text/plain")
    upload.charset = "iso-8859-1"
    name = storage.save(f"{prefix}/l.txt", upload)
    assert _type(storage, name) == "text/plain; charset=iso-8859-1"


def test_a_charset_in_the_content_type_is_kept(storage: ObjectstoreStorage, prefix: str) -> None:
    upload = SimpleUploadedFile(
        "w.txt", "café".encode("cp1252"), content_type="text/plain; charset=windows-1252"
    )
    name = storage.save(f"{prefix}/w.txt", upload)
    assert _type(storage, name) == "text/plain; charset=windows-1252"


def test_text_that_is_not_utf8_gets_no_charset(storage: ObjectstoreStorage, prefix: str) -> None:
    upload = SimpleUploadedFile("l.txt", "café".encode("latin-1"), content_type="text/plain")
    name = storage.save(f"{prefix}/l.txt", upload)
    assert _type(storage, name) == "text/plain"


@pytest.mark.parametrize("filename", ["a.json", "a.bin", "a.png"])
def test_other_types_are_left_alone(
    storage: ObjectstoreStorage, prefix: str, filename: str
) -> None:
    name = storage.save(f"{prefix}/{filename}", ContentFile(b"{}", filename))
    assert "charset" not in (_type(storage, name) or "")


def test_a_character_cut_by_the_probe_still_counts_as_utf8(
    storage: ObjectstoreStorage, prefix: str
) -> None:
    data = b"a" * (CHARSET_PROBE_BYTES - 1) + "é".encode() + b"tail"
    name = storage.save(f"{prefix}/long.txt", ContentFile(data))
    assert _type(storage, name) == "text/plain; charset=utf-8"
    assert storage.open(name).read() == data


def test_detection_does_not_disturb_the_upload(storage: ObjectstoreStorage, prefix: str) -> None:
    data = ("ligne é\n" * 50_000).encode()
    name = storage.save(f"{prefix}/big.txt", ContentFile(data))
    assert storage.open(name).read() == data
