"""Client decimals are bounded before ``int()``; durations and timestamps never overflow."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest

from django_objectstore.wire.durations import MAX_DURATION, parse_canonical_duration, parse_duration
from django_objectstore.wire.numbers import (
    U32_MAX,
    DecimalTooLarge,
    NotADecimal,
    json_int,
    parse_decimal,
)
from django_objectstore.wire.timestamps import from_epoch, parse_timestamp

HUGE = "9" * 5000


@pytest.mark.parametrize(
    ("text", "value"), [("0", 0), ("007", 7), ("0" * 5000 + "42", 42), ("4294967295", U32_MAX)]
)
def test_parse_decimal_reads_ascii_digits(text: str, value: int) -> None:
    assert parse_decimal(text, U32_MAX) == value


@pytest.mark.parametrize("text", ["", " 1", "1 ", "+1", "-1", "1_000", "1.0", "\u0663", "\u00b2"])
def test_parse_decimal_refuses_what_int_would_accept_or_choke_on(text: str) -> None:
    with pytest.raises(NotADecimal):
        parse_decimal(text, U32_MAX)


@pytest.mark.parametrize("text", ["4294967296", HUGE, "1" + "0" * 100_000])
def test_parse_decimal_refuses_large_numbers_without_converting_them(text: str) -> None:
    started = time.perf_counter()
    with pytest.raises(DecimalTooLarge):
        parse_decimal(text, U32_MAX)
    assert time.perf_counter() - started < 0.05


def test_json_int_turns_integers_int_refuses_into_infinity() -> None:
    document = json.loads(f'{{"a": {HUGE}, "b": -{HUGE}, "c": 12}}', parse_int=json_int)
    assert document == {"a": float("inf"), "b": float("-inf"), "c": 12}


@pytest.mark.parametrize(
    "text",
    [
        f"{HUGE}s",
        f"{HUGE}ns",
        "99999999999999999999d",
        "1000000000d",
        "999999999d " * 3,
        "1" + "0" * 4400 + "y",
    ],
)
def test_durations_too_long_for_timedelta_are_value_errors(text: str) -> None:
    with pytest.raises(ValueError, match="too long"):
        parse_duration(text)
    with pytest.raises(ValueError):
        parse_canonical_duration(text)


def test_longest_duration_still_parses() -> None:
    assert parse_duration("999999999d") == timedelta(days=999_999_999)
    assert parse_duration(f"{'0' * 5000}1s") == timedelta(seconds=1)
    assert timedelta.max == MAX_DURATION


def test_duration_errors_do_not_echo_5000_characters() -> None:
    with pytest.raises(ValueError) as caught:
        parse_duration(f"{HUGE}parsecs")
    assert len(str(caught.value)) < 200


@pytest.mark.parametrize(
    "text", ["0001-01-01T00:00:00+01:00", "9999-12-31T23:59:59-01:00", "0001-01-01T00:30:00+00:31"]
)
def test_timestamps_outside_the_utc_calendar_are_value_errors(text: str) -> None:
    with pytest.raises(ValueError, match="out of range"):
        parse_timestamp(text)


@pytest.mark.parametrize("seconds", [1e300, float("inf"), float("nan"), -1e20])
def test_from_epoch_out_of_range_is_a_value_error(seconds: float) -> None:
    with pytest.raises(ValueError):
        from_epoch(seconds)
