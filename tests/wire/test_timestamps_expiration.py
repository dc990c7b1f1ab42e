"""Timestamps, expiration policies and the pre-signed canonical string."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from django_objectstore.wire.expiration import (
    TimeToIdle,
    TimeToLive,
    format_expiration,
    parse_expiration,
)
from django_objectstore.wire.presign import canonical_string
from django_objectstore.wire.timestamps import (
    ceil_second,
    format_timestamp,
    from_epoch,
    parse_timestamp,
    require_aware,
)

instants = st.datetimes(
    min_value=datetime(1970, 1, 1), max_value=datetime(9999, 12, 31, 23, 59, 58)
).map(lambda value: value.replace(tzinfo=UTC))


def test_format_timestamp_is_whole_seconds_with_z() -> None:
    value = datetime(2023, 11, 14, 22, 13, 21, 123, tzinfo=UTC)
    assert format_timestamp(value) == "2023-11-14T22:13:21Z"


def test_format_timestamp_converts_offsets_to_utc() -> None:
    value = datetime(2023, 11, 15, 0, 13, 21, tzinfo=timezone(timedelta(hours=2)))
    assert format_timestamp(value) == "2023-11-14T22:13:21Z"


def test_parse_timestamp_accepts_both_precisions() -> None:
    assert parse_timestamp("2023-11-14T22:13:20.000000Z") == datetime(
        2023, 11, 14, 22, 13, 20, tzinfo=UTC
    )
    with pytest.raises(ValueError):
        parse_timestamp("2023-11-14T22:13:20")


def test_require_aware_names_the_argument() -> None:
    with pytest.raises(ValueError, match="at must be"):
        require_aware(datetime(2020, 1, 1), "at")


def test_from_epoch_rounds_up() -> None:
    assert from_epoch(1.2) == datetime(1970, 1, 1, 0, 0, 2, tzinfo=UTC)


@given(instants)
def test_timestamps_round_trip_at_whole_seconds(value: datetime) -> None:
    whole = value.replace(microsecond=0)
    assert parse_timestamp(format_timestamp(value)) == whole


@given(instants)
def test_ceil_second_is_the_smallest_whole_second_not_before(value: datetime) -> None:
    ceiled = ceil_second(value)
    assert ceiled.microsecond == 0
    assert timedelta(0) <= ceiled - value < timedelta(seconds=1)


@pytest.mark.parametrize(
    "text, policy",
    [
        ("manual", None),
        ("ttl:1d", TimeToLive(timedelta(days=1))),
        ("tti:1 hour", TimeToIdle(timedelta(hours=1))),
        ("ttl:0s", TimeToLive(timedelta(0))),
    ],
)
def test_parse_expiration(text: str, policy: TimeToLive | TimeToIdle | None) -> None:
    assert parse_expiration(text) == policy


@pytest.mark.parametrize("text", ["", "Manual", "ttl", "ttl:", "ttx:1d", "TTL:1d", "ttl:1 parsec"])
def test_parse_expiration_rejects(text: str) -> None:
    with pytest.raises(ValueError):
        parse_expiration(text)


def test_strict_parse_rejects_lenient_units() -> None:
    with pytest.raises(ValueError):
        parse_expiration("ttl:1day", lenient=False)


@given(st.sampled_from([TimeToLive, TimeToIdle]), st.integers(0, 10**10))
def test_policies_round_trip(kind: type[TimeToLive], seconds: int) -> None:
    policy = kind(timedelta(seconds=seconds))
    assert parse_expiration(format_expiration(policy), lenient=False) == policy


def test_canonical_string_example_from_the_spec() -> None:
    path = "/v1/objects/test-usecase/org=42;project=1337/dir/caf%C3%A9%20%C3%BC%2520x"
    query = "os_kid=my%20kid&os_timestamp=2026-11-22T19:01:46Z&os_duration=3600&os_sig=abc"
    assert (
        canonical_string("HEAD", path, query)
        == (
            f"GET\n{path}\nos_duration=3600&os_kid=my%20kid&os_timestamp=2026-11-22T19:01:46Z"
        ).encode()
    )


def test_canonical_string_lowercases_names_keeps_values_and_duplicates() -> None:
    assert canonical_string("get", "/p", "B=X&&a=1&a=0&OS_SIG=s") == b"GET\n/p\na=0&a=1&b=X"


def test_canonical_string_matches_the_official_client() -> None:
    from objectstore_client import presign

    path, query = "/v1/objects/u/_/k%20y", "os_kid=k&os_timestamp=t&os_duration=5"
    expected = presign.build_canonical_form("GET", path, query)
    assert canonical_string("GET", path, query) == expected.encode()
