"""The storage's faster name handling keeps every rule: cached parses never let a forged
name or another scope through, and ``save`` refuses exactly what Django's checks refuse."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, SuspiciousFileOperation
from django.core.files.base import ContentFile
from django.core.files.utils import validate_file_name

from django_objectstore.scope import objectstore_scope
from django_objectstore.storage import ObjectstoreStorage
from django_objectstore.storage.names import (
    check_file_name,
    check_relative_name,
    join_name,
    looks_scoped,
    scoped_parts,
    split_name,
)

NAMES = [
    "report.pdf",
    "org=1/report.pdf",
    "org=1/a/b/c.txt",
    "org=1/a//b.txt",
    "a\\b.txt",
    "",
    ".",
    "..",
    "org=1/.",
    "org=1/..",
    "org=1/",
    "/etc/passwd",
    "//etc/passwd",
    "org=1/../org=2/x",
    "org=1/a/../b",
    "..\\x",
    "a/...",
    "...",
    "a/.hidden",
]


@pytest.mark.parametrize("name", NAMES)
def test_check_relative_name_agrees_with_djangos_validate_file_name(name: str) -> None:
    try:
        validate_file_name(name, allow_relative_path=True)
    except SuspiciousFileOperation as expected:
        with pytest.raises(SuspiciousFileOperation) as raised:
            check_relative_name(name)
        assert str(raised.value) == str(expected)
    else:
        assert check_relative_name(name) == name


def test_a_forged_name_is_refused_every_time_even_after_valid_names() -> None:
    assert split_name("org=1/a") == ((("org", "1"),), "a")
    for _ in range(3):
        with pytest.raises(ValueError, match="invalid file name"):
            split_name("org=1/../org=2/a")
        with pytest.raises(ValueError, match="invalid object key"):
            join_name((("org", "1"),), "../a")


def test_cached_names_still_meet_the_scope_check(
    make_storage: Any, scopes: Any, prefix: str
) -> None:
    storage: ObjectstoreStorage = make_storage()
    name = storage.save(f"{prefix}/cached.txt", ContentFile(b"mine"))
    with storage.open(name) as handle:
        assert handle.read() == b"mine"
    with objectstore_scope(org="someone-else"):
        for _ in range(2):
            with pytest.raises(PermissionDenied):
                storage.open(name)
            with pytest.raises(PermissionDenied):
                storage.exists(name)
            with pytest.raises(PermissionDenied):
                storage.save(name, ContentFile(b"theirs"))
    with storage.open(name) as handle:
        assert handle.read() == b"mine"


@pytest.mark.parametrize("name", ["../x.txt", "/abs/x.txt", "org=1/..", "", "org=1/a/../b"])
@pytest.mark.parametrize("key_mode", ["server", "name"])
def test_save_refuses_what_django_refuses(make_storage: Any, key_mode: str, name: str) -> None:
    storage: ObjectstoreStorage = make_storage(key_mode=key_mode, allow_overwrite=True)
    with pytest.raises(SuspiciousFileOperation):
        storage.save(name, ContentFile(b"x"))


def test_overwritable_named_keys_keep_their_name_and_shorten_past_max_length(
    make_storage: Any, prefix: str
) -> None:
    storage: ObjectstoreStorage = make_storage(key_mode="name", allow_overwrite=True)
    name = f"{prefix}/same-name.txt"
    assert storage.get_available_name(name) == name
    assert storage.save(name, ContentFile(b"one")) == name
    assert storage.save(name, ContentFile(b"two")) == name
    with storage.open(name) as handle:
        assert handle.read() == b"two"
    short = storage.get_available_name(name, max_length=len(name) - 3)
    assert len(short) <= len(name) - 3
    assert short == f"{prefix}/same-n.txt"


@pytest.mark.parametrize("name", NAMES)
def test_check_file_name_agrees_with_djangos_last_part_check(name: str) -> None:
    normalized = name.replace("\\", "/")
    for _ in range(2):  # the second answer comes from the cache (or is refused again)
        try:
            validate_file_name(normalized.rpartition("/")[2])
        except SuspiciousFileOperation as expected:
            with pytest.raises(SuspiciousFileOperation) as raised:
                check_file_name(name)
            assert str(raised.value) == str(expected)
        else:
            assert check_file_name(name) == normalized


@pytest.mark.parametrize("name", NAMES)
def test_scoped_parts_agree_with_split_name(name: str) -> None:
    for _ in range(2):
        if not looks_scoped(name):
            assert scoped_parts(name) is None
            continue
        try:
            expected = split_name(name)
        except ValueError as error:
            with pytest.raises(ValueError) as raised:
                scoped_parts(name)
            assert str(raised.value) == str(error)
        else:
            assert scoped_parts(name) == expected
