"""Percent-encoded free-form header values (origin, filename, custom metadata)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from objectstore_client.utils import decode_header_value, encode_header_value

from django_objectstore.wire.values import decode_value, encode_value

# Strings that can be UTF-8 encoded (no lone surrogates).
texts = st.text(st.characters(codec="utf-8"))


@pytest.mark.parametrize(
    "value, encoded",
    [
        ("réport-📄.pdf", "r%C3%A9port-%F0%9F%93%84.pdf"),
        ("100% done", "100%25 done"),
        ("a\r\nb", "a%0D%0Ab"),
        ("tab\there", "tab%09here"),
        ("del\x7f", "del%7F"),
        ("plain ascii ~!@#$^&*()", "plain ascii ~!@#$^&*()"),
        ("", ""),
    ],
)
def test_encode_examples(value: str, encoded: str) -> None:
    assert encode_value(value) == encoded
    assert decode_value(encoded) == value


@pytest.mark.parametrize(
    "raw, value", [("%6B%65%79", "key"), ("100%", "100%"), ("%zz", "%zz"), ("%c3%a9", "é")]
)
def test_decode_is_lenient_about_escaping(raw: str, value: str) -> None:
    assert decode_value(raw) == value


@pytest.mark.parametrize("raw", ["é", "a\x00b", "a\nb", "%FF", "%C3", "%C3%28", "\x7f"])
def test_decode_rejects_non_visible_ascii_and_invalid_utf8(raw: str) -> None:
    with pytest.raises(ValueError):
        decode_value(raw)


@given(texts)
def test_round_trip(value: str) -> None:
    encoded = encode_value(value)
    assert decode_value(encoded) == value


@given(texts)
def test_encoded_values_are_visible_ascii_with_only_escape_percents(value: str) -> None:
    encoded = encode_value(value)
    assert all(0x20 <= ord(char) < 0x7F for char in encoded)
    for index, char in enumerate(encoded):
        if char == "%":
            assert all(c in "0123456789ABCDEF" for c in encoded[index + 1 : index + 3])


@given(texts)
def test_official_client_agrees_on_the_encoding(value: str) -> None:
    encoded = encode_value(value)
    assert encoded == encode_header_value(value)
    assert decode_header_value(encoded) == value
