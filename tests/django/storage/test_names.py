from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from django_objectstore.storage.names import join_name, split_name, validate_key
from django_objectstore.wire.paths import object_path
from django_objectstore.wire.scopes import make_scopes


def test_split_name_returns_scopes_in_order_and_the_key() -> None:
    assert split_name("org=42;project=1337/abc/def.txt") == (
        (("org", "42"), ("project", "1337")),
        "abc/def.txt",
    )


def test_underscore_scope_means_no_scope() -> None:
    assert split_name("_/k") == ((), "k")
    assert join_name((), "k") == "_/k"


def test_join_name_formats_the_scope_matrix() -> None:
    assert join_name((("org", "1"), ("project", "2")), "x/y") == "org=1;project=2/x/y"


def test_scopes_from_mapping_keeps_order_and_stringifies() -> None:
    assert make_scopes({"project": 7, "org": 1}) == (("project", "7"), ("org", "1"))


@pytest.mark.parametrize(
    "name",
    [
        "",
        "no-scope-segment",
        "/org=1/k",  # empty scope segment
        "org=1",  # no key
        "org=1/",  # empty key
        "org=1//k",  # extra slash
        "org=1/k/",  # trailing slash
        "org=1/../org=2/k",  # dot-dot segment
        "org=1/./k",
        "org=1/a/../../org=2/k",
        "org=1%2Forg=2/k",  # encoded slash in the scope
        "org%3D1/k",  # encoded equals in the scope
        "org=1;/k",  # trailing semicolon
        "org=1.5/k",  # dot in a scope value
        "org=1/a\\b",  # backslash
        "org=1/a\x00b",  # control character
        "org=/k",
        "=1/k",
    ],
)
def test_split_name_rejects_malformed_and_forged_names(name: str) -> None:
    with pytest.raises(ValueError):
        split_name(name)


def test_split_name_rejects_non_strings() -> None:
    with pytest.raises(ValueError, match="string"):
        split_name(42)  # type: ignore[arg-type]


def test_percent_in_a_key_stays_inside_the_scope_on_the_wire() -> None:
    scopes, key = split_name("org=1/%2E%2E%2Forg=2%2Fk")
    assert scopes == (("org", "1"),)
    path = object_path("uc1", scopes, key)
    assert path.startswith("/v1/objects/uc1/org=1/")
    assert "%252F" in path and "/org=2/" not in path


def test_validate_key_accepts_nested_keys() -> None:
    assert validate_key("a/b/c.txt") == "a/b/c.txt"


_scope_text = st.text(alphabet="ABCXYZabcxyz0189_-()$!+'", min_size=1, max_size=8)
_key_segment = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/\\"),
    min_size=1,
    max_size=10,
).filter(lambda s: s not in (".", ".."))


@given(
    st.lists(st.tuples(_scope_text, _scope_text), max_size=3),
    st.lists(_key_segment, min_size=1, max_size=3),
)
def test_join_then_split_round_trips(pairs: list[tuple[str, str]], segments: list[str]) -> None:
    scopes = tuple(pairs)
    key = "/".join(segments)
    assert split_name(join_name(scopes, key)) == (scopes, key)
