"""Key modes, overwriting and scope isolation of ObjectstoreStorage."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, SuspiciousFileOperation
from django.core.files.base import ContentFile

from django_objectstore.scope import objectstore_scope as scope_block
from django_objectstore.storage import ObjectstoreStorage


def test_server_keys_never_collide_and_need_no_exists_check(
    storage: ObjectstoreStorage, prefix: str
) -> None:
    first = storage.save(f"{prefix}/same.txt", ContentFile(b"1"))
    second = storage.save(f"{prefix}/same.txt", ContentFile(b"2"))
    assert first != second
    assert storage.get_available_name(f"{prefix}/same.txt") == f"{prefix}/same.txt"


def test_name_mode_keeps_the_derived_name_as_key(make_storage: Any, prefix: str) -> None:
    storage = make_storage(key_mode="name")
    name = storage.save(f"{prefix}/docs/2026/report.txt", ContentFile(b"r"))
    assert name == f"{prefix}/docs/2026/report.txt"
    assert storage.open(name).read() == b"r"


def test_name_mode_without_overwrite_picks_an_alternative_name(
    make_storage: Any, prefix: str
) -> None:
    storage = make_storage(key_mode="name")
    first = storage.save(f"{prefix}/docs/a.txt", ContentFile(b"1"))
    second = storage.save(f"{prefix}/docs/a.txt", ContentFile(b"2"))
    assert first == f"{prefix}/docs/a.txt"
    assert second != first and second.startswith(f"{prefix}/docs/a_") and second.endswith(".txt")
    assert storage.open(first).read() == b"1"
    assert storage.open(second).read() == b"2"


def test_name_mode_with_allow_overwrite_replaces_the_object(make_storage: Any, prefix: str) -> None:
    storage = make_storage(key_mode="name", allow_overwrite=True)
    first = storage.save(f"{prefix}/a.txt", ContentFile(b"old"))
    second = storage.save(f"{prefix}/a.txt", ContentFile(b"new"))
    assert first == second == f"{prefix}/a.txt"
    assert storage.open(first).read() == b"new"


def test_exists_keeps_its_meaning_with_allow_overwrite(make_storage: Any, prefix: str) -> None:
    storage = make_storage(key_mode="name", allow_overwrite=True)
    name = storage.save(f"{prefix}/a.txt", ContentFile(b"x"))
    assert storage.exists(name) is True


def test_name_mode_respects_max_length(make_storage: Any, prefix: str) -> None:
    storage = make_storage(key_mode="name")
    storage.save(f"{prefix}/abcdefgh.txt", ContentFile(b"1"))
    limit = len(f"{prefix}/abcdefgh.txt") + 2
    name = storage.get_available_name(f"{prefix}/abcdefgh.txt", max_length=limit)
    assert len(name) <= limit and name != f"{prefix}/abcdefgh.txt"


def test_server_mode_rejects_a_max_length_too_short_for_a_key(
    storage: ObjectstoreStorage, prefix: str
) -> None:
    with pytest.raises(SuspiciousFileOperation):
        storage.get_available_name(f"{prefix}/a.txt", max_length=len(prefix) + 10)


def test_content_mode_stores_equal_bytes_once_per_scope(make_storage: Any, prefix: str) -> None:
    storage = make_storage(key_mode="content")
    data = b"same bytes" * 1000
    first = storage.save(f"{prefix}/one.txt", ContentFile(data))
    second = storage.save(f"{prefix}/two.txt", ContentFile(data))
    assert first == second == f"{prefix}/{hashlib.sha256(data).hexdigest()}"
    other = storage.save(f"{prefix}/three.txt", ContentFile(b"different"))
    assert other != first


def test_content_mode_hashes_unseekable_streams_by_spooling(make_storage: Any, prefix: str) -> None:
    storage = make_storage(key_mode="content")
    name = storage.save(f"{prefix}/t.txt", ContentFile("text content"))
    assert name.endswith(hashlib.sha256(b"text content").hexdigest())
    assert storage.open(name).read() == b"text content"


def test_content_keys_of_different_scopes_are_separate(make_storage: Any) -> None:
    storage = make_storage(key_mode="content")
    a = storage.save("org=1001/x", ContentFile(b"shared"))
    b = storage.save("org=1002/x", ContentFile(b"shared"))
    assert a.split("/", 1)[1] == b.split("/", 1)[1]
    assert a != b
    storage.delete(a)
    assert storage.exists(b)


# -- isolation -----------------------------------------------------------------------


@pytest.fixture
def foreign_name(storage: ObjectstoreStorage) -> str:
    return storage.save("org=2;project=9/secret.txt", ContentFile(b"org 2 data"))


@pytest.mark.parametrize(
    "call",
    [
        lambda s, n: s.open(n),
        lambda s, n: s.exists(n),
        lambda s, n: s.size(n),
        lambda s, n: s.delete(n),
        lambda s, n: s.url(n),
        lambda s, n: s.get_created_time(n),
        lambda s, n: s.get_modified_time(n),
        lambda s, n: s.metadata(n),
        lambda s, n: s.save(n, ContentFile(b"overwrite attempt")),
    ],
    ids=["open", "exists", "size", "delete", "url", "created", "modified", "metadata", "save"],
)
def test_names_of_another_scope_are_refused_while_a_scope_is_active(
    storage: ObjectstoreStorage, foreign_name: str, call: Any
) -> None:
    with scope_block(org=1, project=9), pytest.raises(PermissionDenied, match="org=2;project=9"):
        call(storage, foreign_name)
    assert storage.open(foreign_name).read() == b"org 2 data"  # untouched


def test_names_of_the_active_scope_are_allowed(storage: ObjectstoreStorage) -> None:
    with scope_block(org=5, project=6):
        name = storage.save("org=5;project=6/mine.txt", ContentFile(b"mine"))
        assert storage.open(name).read() == b"mine"


def test_unscoped_save_name_goes_to_the_active_scope(storage: ObjectstoreStorage) -> None:
    with scope_block(org=7):
        name = storage.save("plain/report.txt", ContentFile(b"x"))
    assert name.startswith("org=7/")


def test_empty_active_scope_differs_from_a_real_scope(
    storage: ObjectstoreStorage, foreign_name: str
) -> None:
    with scope_block(), pytest.raises(PermissionDenied):
        storage.open(foreign_name)


def test_without_an_active_scope_every_name_is_reachable(
    storage: ObjectstoreStorage, foreign_name: str
) -> None:
    assert storage.exists(foreign_name)


@pytest.mark.parametrize(
    "forged",
    [
        "org=1/../org=2;project=9/secret.txt",
        "org=1/./../org=2;project=9/secret.txt",
        "org=1;/org=2;project=9/secret.txt",
        "org=1%2Forg=2;project=9/secret.txt",
        "org=1//org=2;project=9/secret.txt",
        "/org=2;project=9/secret.txt",
    ],
)
def test_forged_names_are_rejected(
    storage: ObjectstoreStorage, foreign_name: str, forged: str
) -> None:
    with scope_block(org=1), pytest.raises((SuspiciousFileOperation, PermissionDenied)):
        storage.open(forged)
    with pytest.raises(SuspiciousFileOperation):
        storage.open(forged)


@pytest.mark.parametrize(
    "forged",
    ["org=1/..%2Forg=2;project=9%2Fsecret.txt", "org=1/%2E%2E/org=2;project=9/secret.txt"],
)
def test_encoded_traversal_stays_inside_the_names_scope(
    storage: ObjectstoreStorage, foreign_name: str, forged: str
) -> None:
    with scope_block(org=1), pytest.raises(FileNotFoundError):
        storage.open(forged)
