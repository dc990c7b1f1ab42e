"""Scopes, object paths and usecase names, round-tripped through the server's router."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from django_objectstore.server.protocol.routing import parse_route
from django_objectstore.wire.paths import object_path, quote_path, validate_usecase
from django_objectstore.wire.scopes import format_scopes, make_scopes, parse_scopes

SCOPE_CHARS = "ABCXYZabcxyz0189_-()$!+'"
parts = st.text(st.sampled_from(SCOPE_CHARS), min_size=1, max_size=8)
scopes = st.lists(st.tuples(parts, parts), max_size=4).map(tuple)
keys = st.text(st.characters(codec="utf-8"), min_size=1, max_size=40)
usecases = st.text(st.sampled_from("abcXYZ019_-"), min_size=3, max_size=64)


def test_no_scopes_is_underscore() -> None:
    assert format_scopes(()) == "_"
    assert parse_scopes("_") == ()


def test_order_and_duplicates_are_kept() -> None:
    assert parse_scopes("project=2;org=1;org=3") == (("project", "2"), ("org", "1"), ("org", "3"))


@pytest.mark.parametrize(
    "segment", ["org=1;", "org", "org=", "=1", "org=1=2", "org=a.b", "org=a b", "org=é", ";", ""]
)
def test_malformed_segments_raise(segment: str) -> None:
    with pytest.raises(ValueError):
        parse_scopes(segment)


def test_make_scopes_stringifies_values_like_the_official_client() -> None:
    assert make_scopes({"org": 42, "flag": True}) == (("org", "42"), ("flag", "True"))
    with pytest.raises(ValueError, match="org"):
        make_scopes({"org": "a.b"})


@given(scopes)
def test_scopes_round_trip(value: tuple[tuple[str, str], ...]) -> None:
    assert parse_scopes(format_scopes(value)) == value


@pytest.mark.parametrize("name", ["ab", "a" * 65, "has space", "dot.name", "ünï"])
def test_invalid_usecase_names(name: str) -> None:
    with pytest.raises(ValueError):
        validate_usecase(name)


def test_quote_path_matches_the_official_client() -> None:
    from objectstore_client.utils import encode_path

    for key in ("with space", "100%literal", "sub!$'()*+,=delims", "emoji-😀", "a?b#c"):
        assert quote_path(key) == encode_path(key)


@given(usecases, scopes, keys)
def test_object_paths_route_back_to_the_same_location(
    usecase: str, value: tuple[tuple[str, str], ...], key: str
) -> None:
    route = parse_route(object_path(usecase, value, key))
    assert route is not None
    assert (route.endpoint, route.usecase, route.scopes, route.key) == (
        "objects",
        usecase,
        value,
        key,
    )


@given(usecases, scopes)
def test_collection_paths_route_without_a_key(
    usecase: str, value: tuple[tuple[str, str], ...]
) -> None:
    route = parse_route(object_path(usecase, value, None))
    assert route is not None
    assert route.key is None
    assert route.trailing_slash
