"""TTI renewals of batch reads are stored together, one transaction per batch.

A batch (a keepalive of up to 1,000 keys) reads every object without renewing it and
then hands all the renewals that are due to ``Engine.touch_many``, which the tiered
backend commits in one transaction. The answers stay what they were when every read
renewed its own object.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path

import pytest

from django_objectstore.server.backends.records import (
    DeadlineRenewal,
    ObjectLocation,
    ObjectMetadata,
)
from django_objectstore.server.backends.tiered import TieredBackend
from django_objectstore.server.protocol.batch import MAX_HELD_STREAMS
from tests.server.harness import DelegatingBackend
from tests.server.protocol.test_batch import Harness, op


class CountingBackend(DelegatingBackend):
    """A tiered backend that counts its renewal calls (each ``renew_many`` is one
    transaction, each ``update_metadata`` another)."""

    def __init__(self, root: Path) -> None:
        super().__init__(TieredBackend(root, fsync=False))
        self.renew_many_sizes: list[int] = []
        self.updates = 0
        self.fail_renewals = False

    def update_metadata(
        self,
        location: ObjectLocation,
        update: Callable[[ObjectMetadata], ObjectMetadata | None],
    ) -> ObjectMetadata | None:
        self.updates += 1
        return self.inner.update_metadata(location, update)

    def renew_many(self, renewals: Sequence[tuple[ObjectLocation, DeadlineRenewal]]) -> None:
        self.renew_many_sizes.append(len(renewals))
        if self.fail_renewals:
            raise OSError(5, "renewals could not be written")
        self.inner.renew_many(renewals)


@pytest.fixture
def backend(tmp_path: Path) -> CountingBackend:
    return CountingBackend(tmp_path / "store")


@pytest.fixture
def harness(backend: CountingBackend) -> Harness:
    return Harness(backend)  # type: ignore[arg-type]


def test_a_batch_of_tti_reads_commits_their_renewals_in_one_transaction(
    harness: Harness, backend: CountingBackend
) -> None:
    keys = [f"k{i}" for i in range(300)]
    for key in keys:
        harness.put(key, b"v", x_sn_expiration="tti:1h")
    harness.clock.value += timedelta(minutes=50)
    parts = harness.by_index([op("head", key) for key in keys])
    assert {part.status for part in parts.values()} == {204}
    # The answers show the deadline from before this access, as any read does.
    assert {part.headers["x-sn-time-expires"] for part in parts.values()} == {
        "2026-03-01T13:00:00Z"
    }
    assert backend.renew_many_sizes == [300]
    assert backend.updates == 0
    for key in keys:
        assert harness.head(key)["x-sn-time-expires"] == "2026-03-01T13:50:00Z"


def test_reads_within_the_debounce_and_ttl_objects_store_no_renewal(
    harness: Harness, backend: CountingBackend
) -> None:
    harness.put("fresh", b"v", x_sn_expiration="tti:1h")
    harness.put("fixed", b"v", x_sn_expiration="ttl:1h")
    harness.put("forever", b"v")
    harness.clock.value += timedelta(minutes=10)  # within min(1h / 4, 24h)
    parts = harness.by_index(
        [op("get", "fresh"), op("head", "fixed"), op("get", "forever"), op("head", "absent")]
    )
    assert [parts[i].status for i in range(4)] == [200, 204, 200, 404]
    assert backend.renew_many_sizes == [] and backend.updates == 0
    assert harness.head("fresh")["x-sn-time-expires"] == "2026-03-01T13:00:00Z"
    assert harness.head("fixed")["x-sn-time-expires"] == "2026-03-01T13:00:00Z"


def test_a_key_read_twice_reports_the_renewal_of_its_first_read(
    harness: Harness, backend: CountingBackend
) -> None:
    harness.put("k", b"v", x_sn_expiration="tti:1h")
    harness.put("other", b"v", x_sn_expiration="tti:1h")
    harness.clock.value += timedelta(minutes=50)
    parts = harness.by_index([op("get", "k"), op("head", "other"), op("head", "k")])
    assert parts[0].headers["x-sn-time-expires"] == "2026-03-01T13:00:00Z"
    assert parts[0].body == b"v"
    assert parts[2].headers["x-sn-time-expires"] == "2026-03-01T13:50:00Z"
    assert backend.renew_many_sizes == [2]


def test_a_write_after_a_read_of_the_same_key_is_not_renewed_over(
    harness: Harness, backend: CountingBackend
) -> None:
    harness.put("k", b"old", x_sn_expiration="tti:1h")
    harness.clock.value += timedelta(minutes=50)
    parts = harness.by_index([op("head", "k"), op("insert", "k", b"new", x_sn_expiration="tti:5m")])
    assert parts[0].status == 204 and parts[1].status == 201
    assert backend.renew_many_sizes == [1]  # stored before the insert started
    stored = harness.head("k")
    assert stored["x-sn-expiration"] == "tti:5m"
    assert stored["x-sn-time-expires"] == "2026-03-01T12:55:00Z"


def test_held_gets_are_flushed_in_groups_so_open_objects_stay_bounded(
    harness: Harness, backend: CountingBackend
) -> None:
    count = 2 * MAX_HELD_STREAMS + 3
    for i in range(count):
        harness.put(f"k{i}", bytes([i]) * 100, x_sn_expiration="tti:1h")
    harness.clock.value += timedelta(minutes=50)
    parts = harness.by_index([op("get", f"k{i}") for i in range(count)])
    assert all(parts[i].body == bytes([i]) * 100 for i in range(count))
    assert backend.renew_many_sizes == [MAX_HELD_STREAMS, MAX_HELD_STREAMS, 3]


def test_renewals_that_cannot_be_stored_fail_their_reads_only(
    harness: Harness, backend: CountingBackend
) -> None:
    harness.put("idle", b"v", x_sn_expiration="tti:1h")
    harness.put("fixed", b"v", x_sn_expiration="ttl:1h")
    harness.clock.value += timedelta(minutes=50)
    backend.fail_renewals = True
    parts = harness.by_index([op("get", "idle"), op("get", "fixed"), op("head", "absent")])
    assert parts[0].status == 500
    assert b"renewals could not be written" in parts[0].body
    assert "x-sn-batch-operation-key" not in parts[0].headers
    assert parts[1].status == 200 and parts[1].body == b"v"
    assert parts[2].status == 404
