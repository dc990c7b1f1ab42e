"""Unit tests of ``Range`` parsing and resolution (protocol-advanced.md §4)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from django_objectstore.server.errors import ProtocolError
from django_objectstore.server.protocol.ranges import RangeSpec, parse_range, resolve_range


@pytest.mark.parametrize(
    "header, spec",
    [
        ("bytes=0-0", RangeSpec(0, 0)),
        ("bytes=10-20", RangeSpec(10, 20)),
        ("bytes=10-", RangeSpec(10, None)),
        ("bytes=-7", RangeSpec(None, None, 7)),
        ("Bytes=1-2", RangeSpec(1, 2)),
        ("bytes=18446744073709551615-", RangeSpec(2**64 - 1, None)),
    ],
)
def test_single_ranges_parse(header: str, spec: RangeSpec) -> None:
    assert parse_range(header) == spec


@pytest.mark.parametrize("header", ["bytes=0-1,2-3", "bytes=0-1, 2-3", "bytes=,", "bytes=x,y"])
def test_multiple_ranges_are_ignored(header: str) -> None:
    assert parse_range(header) is None


@pytest.mark.parametrize(
    "header",
    [
        "items=0-10",
        "items=0-1,2-3",
        "bytes=abc-def",
        "bytes=5-1",
        "bytes=-0",
        "bytes=5",
        "bytes",
        "bytes=",
        "bytes=-",
        "bytes= 1-2",
        "bytes=1 -2",
        "bytes=+1-2",
        "bytes=0x1-2",
        "bytes=\u0661-\u0662",  # non-ASCII digits
        "bytes=0-1\u00e9",
        "bytes=18446744073709551616-",
    ],
)
def test_malformed_ranges_raise_400(header: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_range(header)
    assert (caught.value.status, caught.value.body) == (400, "json")
    assert caught.value.detail.startswith("client error: invalid Range header")


@pytest.mark.parametrize(
    "spec, size, expected",
    [
        (RangeSpec(0, 9), 100, (0, 9)),
        (RangeSpec(90, 200), 100, (90, 99)),
        (RangeSpec(99, None), 100, (99, 99)),
        (RangeSpec(100, None), 100, None),
        (RangeSpec(None, None, 10), 100, (90, 99)),
        (RangeSpec(None, None, 100), 100, (0, 99)),
        (RangeSpec(None, None, 1000), 100, (0, 99)),
        (RangeSpec(0, 0), 0, None),
        (RangeSpec(None, None, 1), 0, None),
    ],
)
def test_resolution(spec: RangeSpec, size: int, expected: tuple[int, int] | None) -> None:
    assert resolve_range(spec, size) == expected


@given(
    first=st.integers(0, 2000),
    length=st.one_of(st.none(), st.integers(0, 2000)),
    size=st.integers(0, 1500),
)
def test_resolved_ranges_lie_within_the_object(first: int, length: int | None, size: int) -> None:
    header = f"bytes={first}-" + ("" if length is None else str(first + length))
    spec = parse_range(header)
    assert spec is not None
    span = resolve_range(spec, size)
    if span is None:
        assert first >= size
    else:
        start, end = span
        assert 0 <= start == first <= end < size
        assert end == size - 1 or (length is not None and end == first + length)


@given(suffix=st.integers(1, 3000), size=st.integers(1, 1500))
def test_suffix_ranges_end_at_the_last_byte(suffix: int, size: int) -> None:
    spec = parse_range(f"bytes=-{suffix}")
    assert spec is not None
    assert resolve_range(spec, size) == (max(0, size - suffix), size - 1)
