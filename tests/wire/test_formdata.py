from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st

from django_objectstore.wire.formdata import (
    FormDataError,
    content_type_for,
    encode_form_data,
    new_boundary,
    parse_boundary,
    parse_form_data,
)


class TrickleStream:
    """Returns at most ``step`` bytes per read, to exercise buffer boundaries."""

    def __init__(self, data: bytes, step: int) -> None:
        self._data = io.BytesIO(data)
        self._step = step

    def read(self, n: int = -1, /) -> bytes:
        return self._data.read(self._step if n < 0 else min(n, self._step))


def _encode(parts: list[tuple[list[tuple[str, str]], bytes]], boundary: str) -> bytes:
    return b"".join(encode_form_data(parts, boundary))


def test_encoded_parts_parse_back_with_headers_and_bodies() -> None:
    boundary = new_boundary()
    parts = [
        ([("x-sn-batch-operation-kind", "get"), ("x-sn-batch-operation-key", "a%2Fb")], b""),
        ([("x-sn-batch-operation-kind", "insert")], b"payload\r\n--not-a-boundary\r\n"),
    ]
    body = _encode(parts, boundary)
    parsed = list(parse_form_data(io.BytesIO(body), boundary))
    assert [p.body for p in parsed] == [b"", b"payload\r\n--not-a-boundary\r\n"]
    assert parsed[0].headers["x-sn-batch-operation-key"] == "a%2Fb"
    assert parsed[1].headers["content-disposition"] == 'form-data; name="part"'


def test_encoder_is_lazy_and_ends_with_closing_delimiter() -> None:
    consumed: list[int] = []

    def parts() -> object:
        for i in range(3):
            consumed.append(i)
            yield ([("x-i", str(i))], b"x")

    chunks = encode_form_data(parts(), "b")  # type: ignore[arg-type]
    next(chunks)
    assert consumed == [0]
    rest = b"".join(chunks)
    assert rest.endswith(b"x\r\n--b--")  # the closing delimiter, framed as the server frames it


def test_encoder_rejects_header_injection() -> None:
    with pytest.raises(ValueError, match="invalid part header"):
        _encode([([("x-a", "v\r\nx-evil: 1")], b"")], "b")


def test_parser_accepts_server_style_body_without_trailing_crlf() -> None:
    body = (
        b"--os-boundary-1\r\ncontent-disposition: form-data; name=part\r\n"
        b"x-sn-batch-operation-index: 1\r\n\r\nhello\r\n--os-boundary-1--"
    )
    (part,) = parse_form_data(io.BytesIO(body), "os-boundary-1")
    assert part.headers["x-sn-batch-operation-index"] == "1"
    assert part.body == b"hello"


def test_parser_on_empty_batch_yields_nothing() -> None:
    assert list(parse_form_data(io.BytesIO(b"--b--"), "b")) == []


def test_parser_reports_truncated_body() -> None:
    body = b"--b\r\nx-a: 1\r\n\r\nhalf a bo"
    with pytest.raises(FormDataError, match="truncated"):
        list(parse_form_data(io.BytesIO(body), "b"))


def test_parser_yields_parts_before_the_stream_ends() -> None:
    body = b"--b\r\nx-a: 1\r\n\r\none\r\n--b\r\nx-a: 2\r\n\r\ntw"
    parts = parse_form_data(io.BytesIO(body), "b")
    assert next(parts).body == b"one"
    with pytest.raises(FormDataError):
        next(parts)


@pytest.mark.parametrize(
    ("content_type", "boundary"),
    [
        ('multipart/form-data; boundary="os-boundary-abc"', "os-boundary-abc"),
        ("multipart/form-data; boundary=abc", "abc"),
        ("Multipart/Form-Data;boundary=abc; charset=x", "abc"),
    ],
)
def test_parse_boundary_handles_quoting(content_type: str, boundary: str) -> None:
    assert parse_boundary(content_type) == boundary


@pytest.mark.parametrize("content_type", [None, "application/json", "multipart/form-data"])
def test_parse_boundary_rejects_non_form_data(content_type: str | None) -> None:
    with pytest.raises(FormDataError):
        parse_boundary(content_type)


def test_content_type_round_trips_boundary() -> None:
    boundary = new_boundary()
    assert parse_boundary(content_type_for(boundary)) == boundary


@given(
    bodies=st.lists(st.binary(max_size=300), max_size=6),
    step=st.integers(min_value=1, max_value=50),
)
def test_round_trip_survives_any_read_size(bodies: list[bytes], step: int) -> None:
    boundary = "bnd"
    parts = [([("x-n", str(i))], body) for i, body in enumerate(bodies)]
    data = _encode(parts, boundary)
    parsed = list(parse_form_data(TrickleStream(data, step), boundary))
    assert [p.body for p in parsed] == bodies
    assert [p.headers["x-n"] for p in parsed] == [str(i) for i in range(len(bodies))]
