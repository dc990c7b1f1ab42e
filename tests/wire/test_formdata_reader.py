"""The streaming multipart/form-data reader and the server-style part writer."""

from __future__ import annotations

import io
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from django_objectstore.wire.formdata import (
    FormDataError,
    FormDataReader,
    closing_delimiter,
    content_type_for,
    encode_part,
    new_boundary,
    parse_boundary,
)


class Trickle:
    """A body returning at most ``step`` bytes per read, counting what was read."""

    def __init__(self, data: bytes, step: int = 1) -> None:
        self._data = io.BytesIO(data)
        self._step = step
        self.consumed = 0

    def read(self, n: int = -1, /) -> bytes:
        chunk = self._data.read(self._step if n < 0 else min(n, self._step))
        self.consumed += len(chunk)
        return chunk


def _body(boundary: str, parts: list[tuple[list[tuple[str, str]], bytes]]) -> bytes:
    return b"".join(encode_part(boundary, headers, body) for headers, body in parts) + (
        closing_delimiter(boundary)
    )


def _read_all(reader: FormDataReader) -> list[tuple[list[tuple[str, str]], bytes]]:
    parts = []
    while (part := reader.next_part()) is not None:
        chunks = []
        while chunk := part.read(7):
            chunks.append(chunk)
        parts.append((part.headers.items, b"".join(chunks)))
    return parts


@pytest.mark.parametrize(
    ("header", "boundary"),
    [
        ("multipart/form-data; boundary=abc", "abc"),
        ('multipart/form-data; boundary="a b:c"', "a b:c"),
        ("Multipart/Form-Data;charset=utf-8; BOUNDARY=xyz", "xyz"),
    ],
)
def test_parse_boundary_accepts_quoted_and_unquoted_boundaries(header: str, boundary: str) -> None:
    assert parse_boundary(header) == boundary


@pytest.mark.parametrize(
    "header",
    [
        None,
        "multipart/mixed; boundary=abc",
        "multipart/form-data",
        "multipart/form-data; boundary=",
        'multipart/form-data; boundary=""',
        "application/json",
    ],
)
def test_parse_boundary_rejects_other_content_types(header: str | None) -> None:
    with pytest.raises(FormDataError):
        parse_boundary(header)


def test_reader_parses_parts_from_one_byte_reads() -> None:
    parts = [
        ([("x-sn-batch-operation-kind", "insert"), ("Content-Type", "text/plain")], b"hello"),
        ([("x-sn-batch-operation-kind", "get")], b""),
        ([], b"no headers\r\n--almost-a-boundary\r\n"),
    ]
    body = Trickle(_body("B0undary", parts), step=1)
    assert _read_all(FormDataReader(body, "B0undary", chunk_size=3)) == parts


def test_reader_ignores_preamble_and_epilogue() -> None:
    data = b"preamble text\r\n" + _body("b", [([("a", "1")], b"x")]) + b"\r\nepilogue"
    assert _read_all(FormDataReader(io.BytesIO(data), "b")) == [([("a", "1")], b"x")]


def test_reader_header_lookup_is_case_insensitive() -> None:
    data = _body("b", [([("X-SN-Batch-Operation-Kind", "GET")], b"")])
    part = FormDataReader(io.BytesIO(data), "b").next_part()
    assert part is not None
    assert part.headers.get("x-sn-batch-operation-kind") == "GET"


def test_next_part_skips_an_unread_body() -> None:
    data = _body("b", [([("n", "1")], b"a" * 100_000), ([("n", "2")], b"second")])
    reader = FormDataReader(io.BytesIO(data), "b")
    first = reader.next_part()
    assert first is not None and first.headers.get("n") == "1"
    second = reader.next_part()
    assert second is not None
    assert second.read(100) == b"second"
    assert reader.next_part() is None


def test_read_limited_refuses_large_bodies_without_keeping_them() -> None:
    data = _body("b", [([], b"z" * 5000), ([], b"small")])
    reader = FormDataReader(io.BytesIO(data), "b", chunk_size=1024)
    big = reader.next_part()
    assert big is not None
    assert big.read_limited(4999) is None
    small = reader.next_part()
    assert small is not None
    assert small.read_limited(5) == b"small"


def test_read_limited_accepts_exactly_the_limit() -> None:
    data = _body("b", [([], b"q" * 4096)])
    part = FormDataReader(io.BytesIO(data), "b").next_part()
    assert part is not None
    assert part.read_limited(4096) == b"q" * 4096


def test_reader_does_not_read_ahead_of_the_part_it_serves() -> None:
    data = _body("b", [([], b"1" * 10_000), ([], b"2" * 10_000), ([], b"3" * 10_000)])
    body = Trickle(data, step=4096)
    reader = FormDataReader(body, "b", chunk_size=4096)
    part = reader.next_part()
    assert part is not None
    part.read_limited(10_000)
    assert body.consumed < 20_000


def test_empty_body_with_only_the_closing_delimiter_has_no_parts() -> None:
    assert _read_all(FormDataReader(io.BytesIO(b"--b--"), "b")) == []


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"no delimiter at all",
        b"--b\r\nname: value\r\n\r\nbody without end",
        b"--b\r\nname: value",
        b"--bXX\r\n\r\n",
        b"--b\r\nnot a header line\r\n\r\nx\r\n--b--",
    ],
)
def test_malformed_bodies_raise_form_data_error(data: bytes) -> None:
    reader = FormDataReader(io.BytesIO(data), "b")
    with pytest.raises(FormDataError):
        _read_all(reader)


def test_encoded_part_layout_matches_the_real_server() -> None:
    part = encode_part("B", [("content-disposition", "form-data; name=part")], b"body")
    assert part == b"--B\r\ncontent-disposition: form-data; name=part\r\n\r\nbody\r\n"
    assert closing_delimiter("B") == b"--B--"


def test_new_boundary_has_32_lowercase_hex_digits_and_is_quoted_in_content_type_for() -> None:
    boundary = new_boundary()
    assert re.fullmatch(r"os-boundary-[0-9a-f]{32}", boundary)
    assert content_type_for(boundary) == f'multipart/form-data; boundary="{boundary}"'
    assert new_boundary() != boundary


_header_names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz-", min_size=1, max_size=12)
_header_values = st.text(
    alphabet=st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=20
)


@settings(max_examples=60, deadline=None)
@given(
    parts=st.lists(
        st.tuples(st.lists(st.tuples(_header_names, _header_values), max_size=3), st.binary()),
        max_size=5,
    ),
    step=st.integers(min_value=1, max_value=64),
    chunk=st.integers(min_value=1, max_value=64),
)
def test_round_trip_of_arbitrary_parts_and_read_sizes(
    parts: list[tuple[list[tuple[str, str]], bytes]], step: int, chunk: int
) -> None:
    boundary = new_boundary()
    reader = FormDataReader(Trickle(_body(boundary, parts), step), boundary, chunk_size=chunk)
    assert _read_all(reader) == parts
