"""The backend contract, checked on the memory and the tiered backend alike."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from django_objectstore.server.backends.base import Backend
from django_objectstore.server.backends.memory import MemoryBackend
from django_objectstore.server.backends.records import ObjectLocation, ObjectMetadata, StoredObject
from django_objectstore.server.backends.tiered import TieredBackend
from django_objectstore.server.messages import BytesBody
from django_objectstore.wire.expiration import TimeToIdle, TimeToLive

T0 = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
LOC = ObjectLocation("attachments", (("org", "17"), ("project", "42")), "abc123")


@pytest.fixture(params=["memory", "tiered", "tiered-nosync"])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Backend:
    if request.param == "memory":
        return MemoryBackend()
    return TieredBackend(tmp_path / "store", fsync=request.param == "tiered")


def read_all(stored: StoredObject, start: int = 0, end: int | None = None) -> bytes:
    return b"".join(stored.iter_bytes(start, end))


def fetch(backend: Backend, location: ObjectLocation = LOC) -> tuple[ObjectMetadata, bytes]:
    stored = backend.get(location)
    assert stored is not None
    return stored.metadata, read_all(stored)


def exists(backend: Backend, location: ObjectLocation) -> bool:
    stored = backend.get(location)
    if stored is not None:
        stored.close()
    return stored is not None


class FailingBody:
    """Yields some bytes, then fails as a vanished client would."""

    def __init__(self, prefix: bytes) -> None:
        self._prefix = prefix

    def read(self, n: int = -1, /) -> bytes:
        if self._prefix:
            chunk, self._prefix = self._prefix, b""
            return chunk
        raise ConnectionResetError("client went away")


def test_put_returns_byte_count_and_get_returns_payload(backend: Backend) -> None:
    assert backend.put(LOC, ObjectMetadata(), BytesBody(b"hello world")) == 11
    stored = backend.get(LOC)
    assert stored is not None
    assert stored.size == 11
    assert read_all(stored) == b"hello world"


def test_get_of_missing_object_returns_none(backend: Backend) -> None:
    assert backend.get(LOC) is None


def test_empty_payload_round_trips(backend: Backend) -> None:
    assert backend.put(LOC, ObjectMetadata(), BytesBody(b"")) == 0
    assert fetch(backend)[1] == b""


def test_all_metadata_fields_round_trip(backend: Backend) -> None:
    metadata = ObjectMetadata(
        content_type="text/plain; charset=utf-8",
        compression="zstd",
        expiration=TimeToIdle(timedelta(days=30, microseconds=5)),
        time_created=T0,
        time_expires=T0 + timedelta(days=30),
        origin="203.0.113.42",
        filename="réport-📄.pdf\n",
        custom={"foo": "bär", "empty": "", "nl": "a\nb"},
    )
    backend.put(LOC, metadata, BytesBody(b"x"))
    assert fetch(backend)[0] == metadata


def test_ttl_policy_round_trips(backend: Backend) -> None:
    metadata = ObjectMetadata(expiration=TimeToLive(timedelta(seconds=1, milliseconds=500)))
    backend.put(LOC, metadata, BytesBody(b"x"))
    assert fetch(backend)[0].expiration == TimeToLive(timedelta(seconds=1.5))


def test_put_replaces_existing_object(backend: Backend) -> None:
    backend.put(LOC, ObjectMetadata(content_type="a/a"), BytesBody(b"first version"))
    backend.put(LOC, ObjectMetadata(content_type="b/b"), BytesBody(b"second"))
    metadata, payload = fetch(backend)
    assert (metadata.content_type, payload) == ("b/b", b"second")


def test_failed_upload_keeps_previous_object(backend: Backend) -> None:
    backend.put(LOC, ObjectMetadata(), BytesBody(b"previous"))
    with pytest.raises(ConnectionResetError):
        backend.put(LOC, ObjectMetadata(content_type="x/y"), FailingBody(b"partial"))
    metadata, payload = fetch(backend)
    assert (metadata.content_type, payload) == ("application/octet-stream", b"previous")


def test_failed_upload_of_new_key_stores_nothing(backend: Backend) -> None:
    with pytest.raises(ConnectionResetError):
        backend.put(LOC, ObjectMetadata(), FailingBody(b"partial"))
    assert backend.get(LOC) is None


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (0, None, b"0123456789"),
        (2, 5, b"234"),
        (7, None, b"789"),
        (0, 100, b"0123456789"),
        (10, None, b""),
        (12, 20, b""),
        (5, 5, b""),
    ],
)
def test_iter_bytes_returns_requested_range(
    backend: Backend, start: int, end: int | None, expected: bytes
) -> None:
    backend.put(LOC, ObjectMetadata(), BytesBody(b"0123456789"))
    stored = backend.get(LOC)
    assert stored is not None
    assert read_all(stored, start, end) == expected


def test_large_payload_streams_in_bounded_chunks(backend: Backend) -> None:
    payload = bytes(range(256)) * (9 * 1024 + 3)  # a bit over 2 MiB
    backend.put(LOC, ObjectMetadata(), BytesBody(payload))
    stored = backend.get(LOC)
    assert stored is not None
    chunks = list(stored.iter_bytes(100))
    assert len(chunks) > 1
    # 64 KiB in memory; 1 MiB reads of a revision file (one thread handoff each).
    assert max(len(chunk) for chunk in chunks) <= 1024 * 1024
    assert b"".join(chunks) == payload[100:]


def test_reader_keeps_its_snapshot_while_object_is_replaced(backend: Backend) -> None:
    backend.put(LOC, ObjectMetadata(content_type="old/old"), BytesBody(b"old payload"))
    stored = backend.get(LOC)
    assert stored is not None
    backend.put(LOC, ObjectMetadata(content_type="new/new"), BytesBody(b"new"))
    backend.delete(LOC)
    assert stored.metadata.content_type == "old/old"
    assert read_all(stored) == b"old payload"


def test_delete_removes_object_and_missing_delete_is_fine(backend: Backend) -> None:
    backend.put(LOC, ObjectMetadata(), BytesBody(b"x"))
    backend.delete(LOC)
    assert backend.get(LOC) is None
    backend.delete(LOC)
    assert backend.get(LOC) is None


def test_locations_differing_in_any_part_are_distinct_objects(backend: Backend) -> None:
    locations = [
        LOC,
        ObjectLocation("attachments", (("org", "17"),), "abc123"),
        ObjectLocation("attachments", (), "abc123"),
        ObjectLocation("attachments", (("project", "42"), ("org", "17")), "abc123"),
        ObjectLocation("other", LOC.scopes, "abc123"),
        ObjectLocation("attachments", LOC.scopes, "ABC123"),
        ObjectLocation("attachments", LOC.scopes, "abc123/"),
    ]
    for index, location in enumerate(locations):
        backend.put(location, ObjectMetadata(), BytesBody(str(index).encode()))
    for index, location in enumerate(locations):
        assert fetch(backend, location)[1] == str(index).encode()


def test_key_and_key_with_slash_suffix_coexist(backend: Backend) -> None:
    parent = ObjectLocation("u", (), "a")
    child = ObjectLocation("u", (), "a/b")
    backend.put(parent, ObjectMetadata(), BytesBody(b"parent"))
    backend.put(child, ObjectMetadata(), BytesBody(b"child"))
    assert fetch(backend, parent)[1] == b"parent"
    assert fetch(backend, child)[1] == b"child"


def test_update_metadata_of_missing_object_returns_none(backend: Backend) -> None:
    assert backend.update_metadata(LOC, lambda metadata: metadata) is None
    assert backend.get(LOC) is None


def test_update_metadata_replaces_metadata_and_keeps_payload(backend: Backend) -> None:
    backend.put(LOC, ObjectMetadata(time_expires=T0), BytesBody(b"payload" * 20000))
    new = ObjectMetadata(time_expires=T0 + timedelta(hours=1), custom={"k": "v"})
    assert backend.update_metadata(LOC, lambda metadata: new) == new
    metadata, payload = fetch(backend)
    assert metadata == new
    assert payload == b"payload" * 20000


def test_update_returning_none_leaves_object_unchanged(backend: Backend) -> None:
    backend.put(LOC, ObjectMetadata(content_type="a/b"), BytesBody(b"x"))

    def mutate_then_decline(metadata: ObjectMetadata) -> None:
        metadata.content_type = "mutated/in-place"
        return None

    assert backend.update_metadata(LOC, mutate_then_decline) == ObjectMetadata(content_type="a/b")
    assert fetch(backend)[0].content_type == "a/b"


def test_update_metadata_sees_current_metadata(backend: Backend) -> None:
    backend.put(LOC, ObjectMetadata(custom={"n": "1"}), BytesBody(b"x"))
    seen: list[ObjectMetadata] = []

    def record(metadata: ObjectMetadata) -> ObjectMetadata:
        seen.append(metadata)
        return ObjectMetadata(custom={"n": str(int(metadata.custom["n"]) + 1)})

    backend.update_metadata(LOC, record)
    backend.update_metadata(LOC, record)
    assert [metadata.custom["n"] for metadata in seen] == ["1", "2"]
    assert fetch(backend)[0].custom == {"n": "3"}


def test_metadata_handed_out_is_a_copy(backend: Backend) -> None:
    metadata = ObjectMetadata(custom={"k": "v"})
    backend.put(LOC, metadata, BytesBody(b"x"))
    metadata.custom["k"] = "changed after put"
    first = fetch(backend)[0]
    first.custom["k"] = "changed after get"
    assert fetch(backend)[0].custom == {"k": "v"}


def test_sweep_removes_only_objects_expired_before_now(backend: Backend) -> None:
    expired = ObjectLocation("u", (), "expired")
    boundary = ObjectLocation("u", (), "boundary")
    alive = ObjectLocation("u", (), "alive")
    manual = ObjectLocation("u", (), "manual")
    backend.put(expired, ObjectMetadata(time_expires=T0 - timedelta(seconds=1)), BytesBody(b"1"))
    backend.put(boundary, ObjectMetadata(time_expires=T0), BytesBody(b"2"))
    backend.put(alive, ObjectMetadata(time_expires=T0 + timedelta(days=1)), BytesBody(b"3"))
    backend.put(manual, ObjectMetadata(), BytesBody(b"4"))
    assert backend.sweep(T0) == 1
    assert backend.get(expired) is None
    for location in (boundary, alive, manual):
        assert exists(backend, location)
    assert backend.sweep(T0 + timedelta(days=2)) == 2
    assert exists(backend, manual)


def test_concurrent_writers_and_readers_see_whole_versions(backend: Backend) -> None:
    versions = {bytes([65 + n]) * (1000 * (n + 1)) for n in range(6)}
    errors: list[BaseException] = []

    def writer(payload: bytes) -> None:
        try:
            for _ in range(15):
                backend.put(
                    LOC, ObjectMetadata(custom={"len": str(len(payload))}), BytesBody(payload)
                )
        except BaseException as error:  # pragma: no cover - reported below
            errors.append(error)

    def reader() -> None:
        try:
            for _ in range(60):
                stored = backend.get(LOC)
                if stored is None:
                    continue
                payload = read_all(stored)
                assert payload in versions
                assert stored.metadata.custom["len"] == str(len(payload))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(v,)) for v in versions]
    threads += [threading.Thread(target=reader) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert fetch(backend)[1] in versions
