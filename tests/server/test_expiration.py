"""TTL, TTI renewal, expired objects, usecase policies and the sweep (protocol.md §5)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from django_objectstore.server.config import (
    AuthConfig,
    DurationRule,
    PolicyRule,
    ServerConfig,
    UsecaseConfig,
    UsecaseExpiration,
)
from tests.server.harness import BASE, Harness


def test_ttl_zero_object_is_readable_in_the_same_second_only(store: Harness) -> None:
    store.put("k", x_sn_expiration="ttl:0s")
    got = store.get("k")
    assert got.status == 200
    assert got.header("x-sn-time-expires") == got.header("x-sn-time-created")
    store.advance(seconds=0.5)  # still the same whole second
    assert store.get("k").status == 200
    store.advance(seconds=0.5)
    assert store.get("k").status == 404


def test_ttl_object_is_alive_at_its_deadline_and_gone_after(store: Harness) -> None:
    store.put("k", x_sn_expiration="ttl:1h")
    store.advance(hours=1)
    assert store.get("k").status == 200
    store.advance(seconds=1)
    assert store.get("k").status == 404
    assert store.head("k").status == 404


def test_ttl_objects_are_never_renewed_by_reads(store: Harness) -> None:
    store.put("k", x_sn_expiration="ttl:1h")
    deadline = store.get("k").header("x-sn-time-expires")
    store.advance(minutes=59)
    store.get("k")
    assert store.get("k").header("x-sn-time-expires") == deadline
    assert store.backend.writes == ["put k"]


def test_delete_of_expired_object_returns_204(store: Harness) -> None:
    store.put("k", x_sn_expiration="ttl:1s")
    store.advance(seconds=5)
    assert store.request("DELETE", f"{BASE}/k").status == 204


def test_put_replaces_an_expired_object(store: Harness) -> None:
    store.put("k", b"old", x_sn_expiration="ttl:1s")
    store.advance(seconds=5)
    store.put("k", b"new")
    assert store.get("k").body == b"new"


def test_tti_read_within_debounce_does_not_move_the_deadline(store: Harness) -> None:
    store.put("k", x_sn_expiration="tti:1h")
    deadline = store.get("k").header("x-sn-time-expires")
    store.advance(minutes=15)  # new - old == 15 min, not strictly more than the window
    store.get("k")
    assert store.get("k").header("x-sn-time-expires") == deadline
    assert store.backend.writes == ["put k"]


def test_tti_read_after_debounce_renews_visible_in_next_response(store: Harness) -> None:
    store.put("k", x_sn_expiration="tti:1h")
    first = store.get("k")
    store.advance(minutes=15, seconds=1)
    triggering = store.get("k")
    assert triggering.header("x-sn-time-expires") == first.header("x-sn-time-expires")
    following = store.get("k")
    renewed = following.timestamp("x-sn-time-expires")
    assert renewed == store.app.engine.now() + timedelta(hours=1)
    assert renewed - first.timestamp("x-sn-time-expires") == timedelta(minutes=15, seconds=1)
    assert following.header("x-sn-expiration") == "tti:1h"


def test_tti_renewal_by_head_and_by_ranged_get(store: Harness) -> None:
    store.put("k", x_sn_expiration="tti:1h")
    store.put("r", x_sn_expiration="tti:1h")
    store.advance(minutes=30)
    store.head("k")
    store.get("r", headers=[("range", "bytes=0-0")])
    now = store.app.engine.now()
    assert store.head("k").timestamp("x-sn-time-expires") == now + timedelta(hours=1)
    assert store.head("r").timestamp("x-sn-time-expires") == now + timedelta(hours=1)


def test_tti_debounce_is_capped_at_24_hours(store: Harness) -> None:
    store.put("k", x_sn_expiration="tti:30d")
    created = store.head("k").timestamp("x-sn-time-created")
    store.advance(hours=24)
    store.get("k")  # exactly 24h later: not strictly more than the window
    assert store.head("k").timestamp("x-sn-time-expires") == created + timedelta(days=30)
    store.advance(seconds=1)
    store.get("k")
    expected = created + timedelta(days=31, seconds=1)
    assert store.head("k").timestamp("x-sn-time-expires") == expected


def test_tti_object_expires_without_reads(store: Harness) -> None:
    store.put("k", x_sn_expiration="tti:10m")
    store.advance(minutes=10, seconds=1)
    assert store.get("k").status == 404


def test_tti_renewal_never_shortens_an_extended_deadline(store: Harness) -> None:
    store.put("k", x_sn_expiration="tti:1h")
    store.patch("k", b'{"extend_expiry": {"after": "10d", "from": "now"}}')
    extended = store.head("k").header("x-sn-time-expires")
    store.advance(hours=2)
    store.get("k")
    assert store.head("k").header("x-sn-time-expires") == extended


def test_sweep_removes_only_expired_objects(store: Harness) -> None:
    store.put("short", x_sn_expiration="ttl:1m")
    store.put("long", x_sn_expiration="ttl:1d")
    store.put("forever")
    assert store.app.engine.sweep() == 0
    store.advance(minutes=2)
    assert store.app.engine.sweep() == 1
    assert store.backend.stored(_location("short")) is None
    assert store.get("long").status == 200
    assert store.get("forever").status == 200


def _location(key: str):  # type: ignore[no-untyped-def]
    from django_objectstore.server.backends.records import ObjectLocation

    return ObjectLocation("test-usecase", (("org", "42"), ("project", "1337")), key)


def _policy_store(**expiration: object) -> Harness:
    settings = UsecaseExpiration(**expiration)  # type: ignore[arg-type]
    config = ServerConfig(
        auth=AuthConfig(enforce=False),
        usecases={"test-usecase": UsecaseConfig(expiration=settings)},
    )
    return Harness(config)


@pytest.mark.parametrize(
    "forbidden, header",
    [("manual", None), ("manual", "manual"), ("ttl", "ttl:1d"), ("tti", "tti:1d")],
)
def test_usecase_policy_rejects_disallowed_kinds_with_400(
    forbidden: str, header: str | None
) -> None:
    rule = PolicyRule(allowed=False) if forbidden == "manual" else DurationRule(allowed=False)
    store = _policy_store(**{forbidden: rule})
    headers = [("x-sn-expiration", header)] if header else []
    result = store.request("PUT", f"{BASE}/k", headers=headers, body=b"x")
    assert result.status == 400
    assert "test-usecase" in result.json()["detail"]  # type: ignore[index]
    assert store.backend.writes == []


def test_ttl_max_and_tti_max_cap_their_own_policy_and_allow_equal() -> None:
    store = _policy_store(
        ttl=DurationRule(max=timedelta(days=90)), tti=DurationRule(max=timedelta(days=7))
    )
    for ok in ("ttl:90d", "tti:7d", "ttl:1d", "manual"):
        assert store.request("PUT", f"{BASE}/k", headers=[("x-sn-expiration", ok)]).status == 200
    for too_long, cap in (("ttl:90d 1s", "90d"), ("tti:8d", "7d"), ("tti:90d", "7d")):
        result = store.request("PUT", f"{BASE}/k", headers=[("x-sn-expiration", too_long)])
        assert result.status == 400
        detail = result.json()["detail"]  # type: ignore[index]
        assert f"maximum of {cap}" in detail and "'test-usecase'" in detail


def test_a_cap_on_one_policy_leaves_the_other_uncapped() -> None:
    store = _policy_store(ttl=DurationRule(max=timedelta(days=1)))
    assert (
        store.request("PUT", f"{BASE}/k", headers=[("x-sn-expiration", "tti:365d")]).status == 200
    )
    assert store.request("PUT", f"{BASE}/k", headers=[("x-sn-expiration", "ttl:2d")]).status == 400


def test_other_usecases_are_unconstrained() -> None:
    store = _policy_store(manual=PolicyRule(allowed=False))
    result = store.request("PUT", "/v1/objects/other-usecase/_/k", body=b"x")
    assert result.status == 200


def test_policy_violation_on_post_returns_400() -> None:
    store = _policy_store(ttl=DurationRule(allowed=False))
    result = store.request("POST", f"{BASE}/", headers=[("x-sn-expiration", "ttl:1d")])
    assert result.status == 400
    assert store.backend.writes == []
