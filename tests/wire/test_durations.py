"""Durations: canonical formatting, lenient and canonical parsing, round trips."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from objectstore_client.metadata import format_timedelta, parse_timedelta

from django_objectstore.wire.durations import (
    format_duration,
    parse_canonical_duration,
    parse_duration,
)

EMITTED = re.compile(r"^(0s|\d+d( \d+h)?( \d+m)?( \d+s)?|\d+h( \d+m)?( \d+s)?|\d+m( \d+s)?|\d+s)$")
durations = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=10**8))


@pytest.mark.parametrize(
    "delta, text",
    [
        (timedelta(0), "0s"),
        (timedelta(seconds=30), "30s"),
        (timedelta(minutes=1), "1m"),
        (timedelta(hours=1), "1h"),
        (timedelta(days=1), "1d"),
        (timedelta(days=2, hours=3, seconds=4), "2d 3h 4s"),
        (timedelta(days=7), "7d"),
        (timedelta(days=400, seconds=4711), "400d 1h 18m 31s"),
        (timedelta(seconds=59, microseconds=999999), "59s"),
    ],
)
def test_format_examples(delta: timedelta, text: str) -> None:
    assert format_duration(delta) == text


@pytest.mark.parametrize(
    "text, delta",
    [
        ("1day", timedelta(days=1)),
        ("30 days", timedelta(days=30)),
        ("2weeks", timedelta(days=14)),
        ("1h 30min", timedelta(minutes=90)),
        ("500ms", timedelta(milliseconds=500)),
        ("1month", timedelta(days=30.44)),
        ("1year", timedelta(days=365.25)),
        ("1d2h", timedelta(hours=26)),
        ("1 hour 1 second", timedelta(seconds=3601)),
    ],
)
def test_lenient_parse_examples(text: str, delta: timedelta) -> None:
    assert parse_duration(text) == delta


@pytest.mark.parametrize(
    "text",
    ["", " ", "1", "d", "1parsec", "1.5h", "-1d", "1d x", "\u0661d", "1 d,", "99999999999999d"],
)
def test_lenient_parse_rejects_with_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize("text", ["1day", "1w", "500ms", "1min"])
def test_canonical_parse_rejects_other_units(text: str) -> None:
    with pytest.raises(ValueError):
        parse_canonical_duration(text)


def test_negative_durations_cannot_be_formatted() -> None:
    with pytest.raises(ValueError):
        format_duration(timedelta(microseconds=-1))


@given(durations)
def test_format_truncates_subseconds_exactly(delta: timedelta) -> None:
    whole = timedelta(days=delta.days, seconds=delta.seconds)
    text = format_duration(delta)
    assert EMITTED.fullmatch(text)
    assert parse_canonical_duration(text) == whole
    assert parse_duration(text) == whole


@given(st.integers(0, 10**13))
def test_whole_seconds_round_trip_through_both_parsers(seconds: int) -> None:
    delta = timedelta(seconds=seconds)
    assert parse_duration(format_duration(delta)) == delta
    assert format_duration(parse_canonical_duration(format_duration(delta))) == format_duration(
        delta
    )


@given(st.integers(0, 10**9), st.integers(0, 10**6), st.integers(0, 10**6), st.integers(0, 10**6))
def test_lenient_sums_are_exact(days: int, hours: int, minutes: int, millis: int) -> None:
    text = f"{days}days {hours}h {minutes}min {millis}ms"
    expected_micros = ((days * 24 + hours) * 60 + minutes) * 60_000_000 + millis * 1000
    try:
        expected = timedelta(microseconds=expected_micros)
    except OverflowError:
        with pytest.raises(ValueError):
            parse_duration(text)
        return
    assert parse_duration(text) == expected


@given(durations)
def test_official_client_agrees_on_the_wire_format(delta: timedelta) -> None:
    text = format_duration(delta)
    assert text == format_timedelta(delta)
    assert parse_timedelta(text) == parse_canonical_duration(text)
