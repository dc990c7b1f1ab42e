"""No key, usecase or scope can leave its directory or collide with another one."""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from django_objectstore.server.backends.filesystem import FilesystemBackend
from django_objectstore.server.backends.filesystem.paths import (
    MAX_NAME,
    bound,
    decode_text,
    encode_text,
    object_path,
    scope_dir_name,
)
from django_objectstore.server.backends.records import ObjectLocation, ObjectMetadata
from django_objectstore.server.messages import BytesBody

ADVERSARIAL_KEYS = [
    "",
    ".",
    "..",
    "../..",
    "../../../etc/passwd",
    "a/../../b",
    "/absolute/path",
    "//",
    "a//b",
    "a/./b",
    "a/",
    "a",
    "a/b",
    "A",
    "a%2Fb",
    "%2e%2e",
    "%",
    "a\x00b",
    "\x00",
    "a\\b",
    "..\\..\\windows",
    "C:\\temp",
    "~",
    "~" + "0" * 64,
    "objects",
    ".locks",
    ".x.draft",
    "x.draft",
    "x" * 255,
    "y" * 5000,
    "d/" * 2000,
    "é/📄/\u202e/\ufeff",
    "\ud800lone surrogate",
    "new\nline",
    "a=b;c=d",
]
# Plain encoded names: the safe alphabet, no leading dot; or "%" alone; or a hash.
NAME_PATTERN = re.compile(
    r"(?:[a-z0-9_-]|%[0-9A-F]{2})(?:[a-z0-9._-]|%[0-9A-F]{2})*|%|~[0-9a-f]{64}"
)

texts = st.text(st.characters(codec="utf-8"), max_size=300) | st.sampled_from(ADVERSARIAL_KEYS)
scope_lists = st.lists(st.tuples(texts, texts), max_size=3).map(tuple)


def stored_files(root: Path) -> list[Path]:
    return [
        Path(directory, name)
        for directory, _dirs, names in os.walk(root)
        for name in names
        if Path(directory).relative_to(root).parts[:1] != (".locks",)
    ]


def expected_directory(root: Path, location: ObjectLocation) -> Path:
    """The usecase/scope directory the object must stay in."""
    parts = [bound(encode_text(location.usecase))]
    parts += [scope_dir_name(name, value) for name, value in location.scopes]
    return root.joinpath(*parts, "objects")


def assert_inside(path: Path, directory: Path) -> None:
    resolved = Path(os.path.realpath(path))
    assert resolved.is_relative_to(os.path.realpath(directory)), (path, directory)


@given(texts)
def test_encoding_round_trips_and_yields_one_safe_component(text: str) -> None:
    name = encode_text(text)
    assert decode_text(name) == text
    assert NAME_PATTERN.fullmatch(bound(name))
    assert "/" not in name and name not in (".", "..")


@given(texts, texts)
def test_distinct_texts_never_share_a_name(first: str, second: str) -> None:
    if first != second:
        assert bound(encode_text(first)) != bound(encode_text(second))
        assert bound(encode_text(first)).lower() != bound(encode_text(second)).lower()


def test_long_names_are_hashed_and_bounded() -> None:
    assert len(bound(encode_text("x" * MAX_NAME))) == MAX_NAME
    hashed = bound(encode_text("x" * (MAX_NAME + 1)))
    assert hashed.startswith("~") and len(hashed) == 65
    assert all(
        len(part) <= MAX_NAME for part in object_path(ObjectLocation("u", (), "é" * 900)).parts
    )


@settings(max_examples=60, deadline=None)
@given(usecase=texts.filter(bool), scopes=scope_lists, key=texts, payload=st.binary(max_size=300))
def test_any_location_round_trips_inside_its_directory(
    usecase: str, scopes: tuple[tuple[str, str], ...], key: str, payload: bytes
) -> None:
    location = ObjectLocation(usecase, scopes, key)
    metadata = ObjectMetadata(custom={"k": key}, filename=usecase)
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp)
        backend = FilesystemBackend(root)
        assert backend.put(location, metadata, BytesBody(payload)) == len(payload)
        stored = backend.get(location)
        assert stored is not None
        assert (stored.metadata, b"".join(stored.iter_bytes())) == (metadata, payload)
        files = stored_files(root)
        assert len(files) == 1
        assert_inside(files[0], expected_directory(root, location))
        backend.delete(location)
        assert backend.get(location) is None


def test_adversarial_keys_are_all_stored_separately_inside_the_scope(tmp_path: Path) -> None:
    backend = FilesystemBackend(tmp_path / "store")
    scopes = (("org", "1"),)
    for index, key in enumerate(ADVERSARIAL_KEYS):
        backend.put(ObjectLocation("u", scopes, key), ObjectMetadata(), BytesBody(b"%d" % index))
    for index, key in enumerate(ADVERSARIAL_KEYS):
        stored = backend.get(ObjectLocation("u", scopes, key))
        assert stored is not None, key
        assert b"".join(stored.iter_bytes()) == b"%d" % index
    files = stored_files(tmp_path / "store")
    assert len(files) == len(ADVERSARIAL_KEYS)
    for path in files:
        assert_inside(path, tmp_path / "store" / "u" / "org=1" / "objects")
    assert sorted(os.listdir(tmp_path)) == ["store"]


@pytest.mark.parametrize(
    "usecase", ["..", ".", "../outside", "/abs", "a/b", "\x00", ".locks", "objects", "x" * 400]
)
def test_adversarial_usecases_stay_under_the_root(tmp_path: Path, usecase: str) -> None:
    root = tmp_path / "store"
    location = ObjectLocation(usecase, (("..", "../x"), ("a=b", "c")), "../k")
    FilesystemBackend(root).put(location, ObjectMetadata(), BytesBody(b"x"))
    (path,) = stored_files(root)
    assert_inside(path, expected_directory(root, location))
    assert path.relative_to(root).parts[0] not in (".locks", "..", ".")
    assert sorted(os.listdir(tmp_path)) == ["store"]


def test_scope_pairs_that_concatenate_alike_are_distinct(tmp_path: Path) -> None:
    backend = FilesystemBackend(tmp_path)
    first = ObjectLocation("u", (("a.b", "c"),), "k")
    second = ObjectLocation("u", (("a", "b.c"),), "k")
    third = ObjectLocation("u", (("a=b", "c"),), "k")
    fourth = ObjectLocation("u", (("a", "b=c"),), "k")
    for index, location in enumerate((first, second, third, fourth)):
        backend.put(location, ObjectMetadata(), BytesBody(b"%d" % index))
    for index, location in enumerate((first, second, third, fourth)):
        stored = backend.get(location)
        assert stored is not None
        assert b"".join(stored.iter_bytes()) == b"%d" % index
