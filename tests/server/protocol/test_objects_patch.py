"""PATCH extend-expiry (protocol.md §3.5, §12 item 16)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from django_objectstore.server.config import (
    AuthConfig,
    DurationRule,
    ServerConfig,
    UsecaseConfig,
    UsecaseExpiration,
)
from django_objectstore.wire.timestamps import format_timestamp
from tests.server.harness import BASE, Harness


def doc(**extension: str) -> bytes:
    return json.dumps({"extend_expiry": extension}).encode()


def test_extend_ttl_from_creation_rewrites_policy_and_deadline(store: Harness) -> None:
    store.put("k", x_sn_expiration="ttl:1d")
    before = store.head("k")
    result = store.patch("k", doc(after="30d", **{"from": "creation"}))
    assert (result.status, result.body) == (204, b"")
    after = store.head("k")
    assert after.header("x-sn-expiration") == "ttl:30d"
    created = after.timestamp("x-sn-time-created")
    assert after.timestamp("x-sn-time-expires") == created + timedelta(days=30)
    assert after.header("x-sn-time-created") == before.header("x-sn-time-created")


def test_shorter_target_leaves_object_unchanged_with_204(store: Harness) -> None:
    store.put("k", x_sn_expiration="ttl:1d")
    store.patch("k", doc(after="30d", **{"from": "creation"}))
    before = store.head("k").headers
    writes = list(store.backend.writes)
    result = store.patch("k", doc(after="2d", **{"from": "creation"}))
    assert result.status == 204
    assert store.head("k").headers == before
    assert store.backend.writes == writes


def test_patch_on_missing_key_returns_404_empty(store: Harness) -> None:
    result = store.patch("missing", doc(after="1d", **{"from": "now"}))
    assert (result.status, result.body) == (404, b"")


def test_patch_on_expired_object_returns_404_empty(store: Harness) -> None:
    store.put("k", x_sn_expiration="ttl:1m")
    store.advance(minutes=2)
    result = store.patch("k", doc(after="1d", **{"from": "now"}))
    assert (result.status, result.body) == (404, b"")


def test_patch_on_non_expiring_object_returns_409_json(store: Harness) -> None:
    store.put("k")
    result = store.patch("k", doc(after="1d", **{"from": "now"}))
    assert result.status == 409
    assert result.header("content-type") == "application/json"
    assert "detail" in result.json()  # type: ignore[operator]
    assert store.backend.writes == ["put k"]


def test_extend_from_now_uses_request_time(store: Harness) -> None:
    store.put("k", x_sn_expiration="ttl:1h")
    store.advance(minutes=30)
    assert store.patch("k", doc(after="2h", **{"from": "now"})).status == 204
    head = store.head("k")
    now = store.app.engine.now()
    assert head.timestamp("x-sn-time-expires") == now + timedelta(hours=2)
    assert head.header("x-sn-expiration") == "ttl:2h 30m"


@pytest.mark.parametrize(
    "at",
    ["{}Z", "{}+00:00", "{}.000001Z", "{}.123456+00:00", "{}.9999999Z"],
)
def test_extend_at_accepts_z_and_zero_offset_rounding_fractions_up(store: Harness, at: str) -> None:
    store.put("k", x_sn_expiration="ttl:1h")
    base = store.app.engine.now() + timedelta(days=3)
    text = at.format(format_timestamp(base)[:-1])
    assert store.patch("k", doc(at=text)).status == 204
    expected = base + (timedelta(seconds=1) if "." in at else timedelta())
    assert store.head("k").timestamp("x-sn-time-expires") == expected


def test_extend_at_with_nonzero_offset_returns_422(store: Harness) -> None:
    store.put("k", x_sn_expiration="ttl:1h")
    result = store.patch("k", doc(at="2030-01-01T00:00:00+01:00"))
    assert result.status == 422
    assert result.header(
        "content-type",
    ).startswith("text/plain")  # type: ignore[union-attr]


def test_tti_extension_keeps_tti_duration(store: Harness) -> None:
    store.put("k", x_sn_expiration="tti:1h")
    assert store.patch("k", doc(after="7d", **{"from": "creation"})).status == 204
    head = store.head("k")
    assert head.header("x-sn-expiration") == "tti:1h"
    created = head.timestamp("x-sn-time-created")
    assert head.timestamp("x-sn-time-expires") == created + timedelta(days=7)


def test_extension_preserves_payload_and_metadata(store: Harness) -> None:
    store.put("k", b"keep me", x_sn_expiration="ttl:1h", x_snme_a="1", content_type="text/x")
    store.patch("k", doc(after="2d", **{"from": "now"}))
    got = store.get("k")
    assert got.body == b"keep me"
    assert (got.header("x-snme-a"), got.header("content-type")) == ("1", "text/x")


@pytest.mark.parametrize(
    "lifetime, emitted",
    [
        ("30d 1h", "ttl:30d"),  # within 1 % of whole days
        ("1d 1h", "ttl:1d 1h"),  # days too coarse, whole hours
        ("2h 1m", "ttl:2h"),  # 60 s off is within 1 % of 7260 s
        ("2h 2m", "ttl:2h 2m"),
        ("1h 59m 30s", "ttl:2h"),  # rounds to the nearest unit, also upwards
        ("10m 5s", "ttl:10m"),
        ("10m 7s", "ttl:10m 7s"),
    ],
)
def test_ttl_rewrite_rounds_to_the_coarsest_unit_within_one_percent(
    store: Harness, lifetime: str, emitted: str
) -> None:
    store.put("k", x_sn_expiration="ttl:1m")
    assert store.patch("k", doc(after=lifetime, **{"from": "creation"})).status == 204
    assert store.head("k").header("x-sn-expiration") == emitted


def test_the_policy_max_caps_patch_from_request_time() -> None:
    expiration = UsecaseExpiration(ttl=DurationRule(max=timedelta(days=90)))
    config = ServerConfig(
        auth=AuthConfig(enforce=False), usecases={"test-usecase": UsecaseConfig(expiration)}
    )
    store = Harness(config)
    store.put("k", x_sn_expiration="ttl:90d")
    assert store.patch("k", doc(after="91d", **{"from": "now"})).status == 400
    # checked even though the current deadline already satisfies the target
    assert store.patch("k", doc(after="91d", **{"from": "creation"})).status == 400
    store.advance(days=1)
    assert store.patch("k", doc(after="91d", **{"from": "creation"})).status == 204
    assert store.patch("k", doc(after="90d", **{"from": "now"})).status == 204


def test_patch_of_a_tti_object_is_capped_by_tti_max_only() -> None:
    expiration = UsecaseExpiration(
        ttl=DurationRule(max=timedelta(days=1)), tti=DurationRule(max=timedelta(days=30))
    )
    config = ServerConfig(
        auth=AuthConfig(enforce=False), usecases={"test-usecase": UsecaseConfig(expiration)}
    )
    store = Harness(config)
    store.put("k", x_sn_expiration="tti:1d")
    assert store.patch("k", doc(after="30d", **{"from": "now"})).status == 204
    assert store.patch("k", doc(after="31d", **{"from": "now"})).status == 400


def test_extension_past_year_9999_from_now_returns_400(store: Harness) -> None:
    store.put("k", x_sn_expiration="ttl:1h")
    assert store.patch("k", doc(after="3000000d", **{"from": "now"})).status == 400


def test_extension_from_creation_saturates_at_the_max_timestamp(store: Harness) -> None:
    store.put("k", x_sn_expiration="ttl:1h")
    assert store.patch("k", doc(after="3000000d", **{"from": "creation"})).status == 204
    assert store.head("k").header("x-sn-time-expires") == "9999-12-31T23:59:59Z"


@pytest.mark.parametrize("content_type", ["", "text/plain", "application/xml", "json"])
def test_wrong_or_missing_content_type_returns_415(store: Harness, content_type: str) -> None:
    store.put("k", x_sn_expiration="ttl:1h")
    result = store.patch("k", doc(after="1d", **{"from": "now"}), content_type=content_type)
    assert result.status == 415
    assert store.backend.writes == ["put k"]


def test_json_content_type_with_charset_or_suffix_is_accepted(store: Harness) -> None:
    store.put("k", x_sn_expiration="ttl:1h")
    body = doc(after="1d", **{"from": "now"})
    assert store.patch("k", body, "application/json; charset=utf-8").status == 204
    assert store.patch("k", body, "application/merge-patch+json").status == 204


@pytest.mark.parametrize(
    "body", [b"", b"{", b"not json", b'{"extend_expiry": NaN}', b"\xff", b"[" * 100_000]
)
def test_malformed_json_returns_400_text(store: Harness, body: bytes) -> None:
    store.put("k", x_sn_expiration="ttl:1h")
    result = store.patch("k", body)
    assert result.status == 400
    assert result.header(
        "content-type",
    ).startswith("text/plain")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "document",
    [
        "null",
        "{}",
        "[]",
        '{"extend_expiry": null}',
        '{"extend_expiry": {}}',
        '{"extend_expiry": {"after": "1d"}}',
        '{"extend_expiry": {"after": "1d", "from": "later"}}',
        '{"extend_expiry": {"after": "1d", "from": "now", "extra": 1}}',
        '{"extend_expiry": {"at": "2030-01-01T00:00:00Z", "after": "1d", "from": "now"}}',
        '{"extend_expiry": {"after": "soon", "from": "now"}}',
        '{"extend_expiry": {"after": 5, "from": "now"}}',
        '{"extend_expiry": {"at": "2030-01-01"}}',
        '{"extend_expiry": {"at": "1969-12-31T23:59:59Z"}}',
        '{"extend_expiry": {"at": "2030-13-01T00:00:00Z"}}',
        '{"extend_expiry": {"at": 1}}',
        '{"extend_expiry": {"after": "1d", "from": "now"}, "other": 1}',
        '{"extend_expiry": {"after": "1d", "from": "now", "from": "now"}}',
    ],
)
def test_schema_violations_return_422(store: Harness, document: str) -> None:
    store.put("k", x_sn_expiration="ttl:1h")
    result = store.patch("k", document.encode())
    assert result.status == 422
    assert store.backend.writes == ["put k"]


def test_schema_is_checked_before_the_object_is_looked_up(store: Harness) -> None:
    assert store.patch("missing", b"{}").status == 422


def test_oversized_json_body_returns_413(store: Harness) -> None:
    store.put("k", x_sn_expiration="ttl:1h")
    body = b'{"extend_expiry": {"after": "1d", "from": "now"}}' + b" " * (2 * 1024 * 1024)
    assert store.patch("k", body).status == 413


def test_patch_ignores_query_strings(store: Harness) -> None:
    store.put("k", x_sn_expiration="ttl:1h")
    result = store.request(
        "PATCH",
        f"{BASE}/k",
        headers=[("content-type", "application/json")],
        body=doc(after="1d", **{"from": "now"}),
        query="upload_type=resumable",
    )
    assert result.status == 204
