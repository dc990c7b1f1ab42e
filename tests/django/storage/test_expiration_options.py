from __future__ import annotations

from datetime import timedelta

import pytest

from django_objectstore.storage.expiration import parse_duration_option, parse_expiration_policy
from django_objectstore.wire.expiration import TimeToIdle, TimeToLive


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tti:30 days", TimeToIdle(timedelta(days=30))),
        ("ttl:1h", TimeToLive(timedelta(hours=1))),
        ("TTL: 1h 30m", TimeToLive(timedelta(hours=1, minutes=30))),
        ("tti:2weeks", TimeToIdle(timedelta(days=14))),
        ("manual", None),
        ("Manual", None),
    ],
)
def test_policy_strings_parse(text: str, expected: object) -> None:
    assert parse_expiration_policy(text) == expected


def test_policy_objects_and_none_pass_through() -> None:
    policy = TimeToIdle(timedelta(days=1))
    assert parse_expiration_policy(policy) is policy
    assert parse_expiration_policy(None) is None


@pytest.mark.parametrize("text", ["tti", "30 days", "ttx:1d", "ttl:", "ttl:1 fortnight", "tti:0s"])
def test_bad_policy_strings_name_the_option(text: str) -> None:
    with pytest.raises(ValueError, match="expiration_policy"):
        parse_expiration_policy(text)


def test_policy_of_wrong_type_is_rejected() -> None:
    with pytest.raises(ValueError, match="expiration_policy must be"):
        parse_expiration_policy(30)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [(timedelta(minutes=5), 300), (90, 90), ("1h", 3600), ("2 days", 172800)],
)
def test_duration_options_accept_timedelta_seconds_and_strings(value: object, seconds: int) -> None:
    assert parse_duration_option(value, option="url_expiry").total_seconds() == seconds


@pytest.mark.parametrize("value", [0, -5, "soon", None, True])
def test_bad_duration_options_are_rejected(value: object) -> None:
    with pytest.raises(ValueError, match="url_expiry"):
        parse_duration_option(value, option="url_expiry")
