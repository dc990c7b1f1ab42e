"""HTTP semantics of the download view: ranges, preconditions, content coding."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.utils.http import http_date

from django_objectstore.http import (
    ByteRange,
    Precondition,
    RangeNotSatisfiable,
    evaluate_preconditions,
    if_range_allows,
    make_etag,
    parse_range,
)

MODIFIED = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)
ETAG = '"abc"'


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-9", ByteRange(0, 9)),
        ("bytes=90-", ByteRange(90, 99)),
        ("bytes=-10", ByteRange(90, 99)),
        ("bytes=-500", ByteRange(0, 99)),
        ("bytes=95-500", ByteRange(95, 99)),
        ("BYTES=1-1", ByteRange(1, 1)),
    ],
)
def test_parse_range_accepts_single_byte_ranges(header: str, expected: ByteRange) -> None:
    assert parse_range(header, 100) == expected


@pytest.mark.parametrize(
    "header", [None, "", "items=0-1", "bytes=0-1,5-6", "bytes=5-1", "bytes=-", "bytes=a-b"]
)
def test_parse_range_ignores_what_it_cannot_serve(header: str | None) -> None:
    assert parse_range(header, 100) is None


@pytest.mark.parametrize(
    ("header", "size"), [("bytes=100-", 100), ("bytes=-0", 100), ("bytes=-1", 0)]
)
def test_parse_range_beyond_the_end_is_not_satisfiable(header: str, size: int) -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, size)


HUGE = "9" * 5000  # beyond int()'s 4,300-digit limit


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (f"bytes=0-{HUGE}", ByteRange(0, 99)),
        (f"bytes=-{HUGE}", ByteRange(0, 99)),
        (f"bytes={'0' * 5000}5-9", ByteRange(5, 9)),
        ("bytes=00-0009", ByteRange(0, 9)),
    ],
)
def test_parse_range_takes_numbers_of_any_length(header: str, expected: ByteRange) -> None:
    assert parse_range(header, 100) == expected


@pytest.mark.parametrize("header", [f"bytes={HUGE}-", f"bytes={HUGE}-{HUGE}"])
def test_parse_range_starting_at_a_huge_position_is_not_satisfiable(header: str) -> None:
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, 100)


@pytest.mark.parametrize(
    "header",
    [
        "bytes=\u0660-\u0661",  # Arabic-Indic zero and one
        "bytes=\u0966-\u0967",  # Devanagari
        "bytes=\uff10-\uff19",  # fullwidth
        "bytes=0-\u0661",
        "bytes=-\u0661",
        "bytes=\u00b2-",  # superscript two: str.isdigit() says yes
    ],
)
def test_parse_range_reads_ascii_digits_only(header: str) -> None:
    assert parse_range(header, 100) is None


def test_byte_range_formats_content_range() -> None:
    assert ByteRange(10, 19).content_range(100) == "bytes 10-19/100"
    assert ByteRange(10, 19).length == 10


def _evaluate(**headers: str) -> Precondition:
    values: dict[str, str | None] = {
        "if_match": None,
        "if_unmodified_since": None,
        "if_none_match": None,
        "if_modified_since": None,
    }
    values.update(headers)
    return evaluate_preconditions(method="GET", etag=ETAG, last_modified=MODIFIED, **values)


def test_preconditions_without_headers_proceed() -> None:
    assert _evaluate() is Precondition.PROCEED


def test_if_none_match_with_current_etag_is_not_modified() -> None:
    assert _evaluate(if_none_match=f'"x", W/{ETAG}') is Precondition.NOT_MODIFIED
    assert _evaluate(if_none_match="*") is Precondition.NOT_MODIFIED
    assert _evaluate(if_none_match='"x"') is Precondition.PROCEED


def test_if_modified_since_compares_seconds() -> None:
    assert _evaluate(if_modified_since=http_date(MODIFIED.timestamp())) is Precondition.NOT_MODIFIED
    earlier = http_date(MODIFIED.timestamp() - 1)
    assert _evaluate(if_modified_since=earlier) is Precondition.PROCEED


def test_if_none_match_takes_precedence_over_if_modified_since() -> None:
    since = http_date(MODIFIED.timestamp())
    assert _evaluate(if_none_match='"x"', if_modified_since=since) is Precondition.PROCEED


def test_if_match_and_if_unmodified_since_fail_with_412() -> None:
    assert _evaluate(if_match='"x"') is Precondition.FAILED
    assert _evaluate(if_match=ETAG) is Precondition.PROCEED
    earlier = http_date(MODIFIED.timestamp() - 60)
    assert _evaluate(if_unmodified_since=earlier) is Precondition.FAILED


def test_if_range_validates_by_strong_etag_or_exact_date() -> None:
    assert if_range_allows(None, etag=ETAG, last_modified=MODIFIED)
    assert if_range_allows(ETAG, etag=ETAG, last_modified=MODIFIED)
    assert not if_range_allows('"old"', etag=ETAG, last_modified=MODIFIED)
    assert not if_range_allows(f"W/{ETAG}", etag=ETAG, last_modified=MODIFIED)
    date = http_date(MODIFIED.timestamp())
    assert if_range_allows(date, etag=ETAG, last_modified=MODIFIED)
    assert not if_range_allows(http_date(0), etag=ETAG, last_modified=MODIFIED)


def test_make_etag_is_strong_and_depends_on_every_part() -> None:
    etag = make_etag("name", 1, True)
    assert etag.startswith('"') and etag.endswith('"')
    assert etag == make_etag("name", 1, True)
    assert etag != make_etag("name", 1, False)
