"""extend_expiry and keepalive against a server whose clock the test moves."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from django_objectstore.client import (
    Client,
    ObjectNotFound,
    Session,
    TimeToIdle,
    TimeToLive,
    Usecase,
)
from django_objectstore.server import OffsetClock

TTI = TimeToIdle(timedelta(hours=1))


def _session(client: Client, usecase: str, scope: dict[str, str], **options: object) -> Session:
    return client.session(Usecase(usecase, **options), **scope)  # type: ignore[arg-type]


def test_extend_expiry_from_creation_rewrites_ttl(
    clocked_client: Client, objectstore_usecase: str, objectstore_scope: dict[str, str]
) -> None:
    session = _session(clocked_client, objectstore_usecase, objectstore_scope)
    session.put(b"x", key="k", expiration_policy=TimeToLive(timedelta(days=1)))
    session.extend_expiry("k", from_creation=timedelta(days=30))
    meta = session.head("k")
    assert meta is not None and meta.time_created is not None
    assert meta.expiration_policy == TimeToLive(timedelta(days=30))
    assert meta.time_expires == meta.time_created + timedelta(days=30)
    session.extend_expiry("k", from_creation=timedelta(days=2))  # never shortens
    assert session.head("k") == meta


def test_extend_expiry_at_an_aware_datetime(
    clocked_client: Client, objectstore_usecase: str, objectstore_scope: dict[str, str]
) -> None:
    session = _session(clocked_client, objectstore_usecase, objectstore_scope)
    session.put(b"x", key="k", expiration_policy=TimeToLive(timedelta(hours=1)))
    target = datetime.now(UTC).replace(microsecond=500_000) + timedelta(days=3)
    session.extend_expiry("k", at=target)
    meta = session.head("k")
    assert meta is not None
    assert meta.time_expires == target.replace(microsecond=0) + timedelta(seconds=1)


def test_extend_expiry_from_now_keeps_an_object_past_its_ttl(
    clocked_client: Client,
    objectstore_usecase: str,
    objectstore_scope: dict[str, str],
    objectstore_clock: OffsetClock,
) -> None:
    session = _session(clocked_client, objectstore_usecase, objectstore_scope)
    session.put(b"x", key="k", expiration_policy=TimeToLive(timedelta(hours=1)))
    objectstore_clock.advance(timedelta(minutes=50))
    session.extend_expiry("k", from_now=timedelta(hours=1))
    objectstore_clock.advance(timedelta(minutes=50))
    assert session.get("k") is not None
    objectstore_clock.advance(timedelta(minutes=20))
    assert session.get("k") is None
    with pytest.raises(ObjectNotFound):
        session.extend_expiry("k", from_now=timedelta(hours=1))


def test_keepalive_with_tti_usecase_extends_immediately(
    clocked_client: Client,
    objectstore_usecase: str,
    objectstore_scope: dict[str, str],
    objectstore_clock: OffsetClock,
) -> None:
    session = _session(
        clocked_client, objectstore_usecase, objectstore_scope, expiration_policy=TTI
    )
    session.put(b"x", key="k")
    created = session.head("k")
    assert created is not None and created.time_expires is not None
    # Within the debounce window a read would not renew; PATCH moves the deadline now.
    objectstore_clock.advance(timedelta(minutes=5))
    assert session.keepalive("k") is True
    after = session.head("k")
    assert after is not None and after.time_expires is not None
    assert after.time_expires >= created.time_expires + timedelta(minutes=5)
    objectstore_clock.advance(timedelta(minutes=59))
    assert session.get("k") is not None


def test_keepalive_keeps_a_tti_object_alive_past_its_original_deadline(
    clocked_client: Client,
    objectstore_usecase: str,
    objectstore_scope: dict[str, str],
    objectstore_clock: OffsetClock,
) -> None:
    session = _session(
        clocked_client, objectstore_usecase, objectstore_scope, expiration_policy=TTI
    )
    session.put(b"x", key="k")
    for _ in range(4):
        objectstore_clock.advance(timedelta(minutes=50))
        assert session.keepalive("k") is True
    assert session.get("k") is not None
    objectstore_clock.advance(timedelta(hours=2))
    assert session.keepalive("k") is False


@pytest.mark.parametrize("policy", [None, TimeToLive(timedelta(hours=1))])
def test_keepalive_without_tti_usecase_uses_head(
    clocked_client: Client,
    objectstore_usecase: str,
    objectstore_scope: dict[str, str],
    objectstore_clock: OffsetClock,
    policy: TimeToLive | None,
) -> None:
    session = _session(
        clocked_client, objectstore_usecase, objectstore_scope, expiration_policy=policy
    )
    session.put(b"x", key="tti", expiration_policy=TTI)
    objectstore_clock.advance(timedelta(minutes=50))
    assert session.keepalive("tti") is True  # a read: renews past the debounce window
    objectstore_clock.advance(timedelta(minutes=50))
    assert session.head("tti") is not None
    assert session.keepalive("missing") is False


def test_keepalive_of_non_expiring_object_is_true(
    clocked_client: Client, objectstore_usecase: str, objectstore_scope: dict[str, str]
) -> None:
    writer = _session(clocked_client, objectstore_usecase, objectstore_scope)
    writer.put(b"x", key="manual")
    session = _session(
        clocked_client, objectstore_usecase, objectstore_scope, expiration_policy=TTI
    )
    session.put(b"x", key="ttl", expiration_policy=TimeToLive(timedelta(days=1)))
    assert session.keepalive("manual") is True  # PATCH answers 409; HEAD finds it
    assert session.keepalive("ttl") is True
    assert session.keepalive("missing") is False
