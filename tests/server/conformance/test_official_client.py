"""The official ``objectstore-client`` 0.2.10 against our server over real HTTP.

The client is the reference peer: whatever it sends, our server must accept, and
whatever our server answers, the client must parse (lowercase header names, canonical
durations, ``Z`` timestamps, zstd passthrough, 501 for resumable uploads).
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import zstandard
from objectstore_client import (
    Client,
    ExpiryExtensionRejected,
    ObjectNotFound,
    Session,
    TimeToIdle,
    TimeToLive,
    Usecase,
)

from django_objectstore.pytest_plugin import ObjectstoreServer
from django_objectstore.server.clock import OffsetClock
from tests.protocol_keys import E2E_KEYS


@pytest.fixture
def client(objectstore_server: ObjectstoreServer) -> Iterator[Client]:
    yield Client(str(objectstore_server))


def _session(client: Client, usecase: str, scope: dict[str, str], **kwargs: Any) -> Session:
    return client.session(Usecase(usecase, **kwargs), **scope)


@pytest.fixture
def plain(client: Client, objectstore_usecase: str, objectstore_scope: dict[str, str]) -> Session:
    """A session that uploads uncompressed."""
    return _session(client, objectstore_usecase, objectstore_scope, compression="none")


@pytest.fixture
def zstd(client: Client, objectstore_usecase: str, objectstore_scope: dict[str, str]) -> Session:
    """A session with the client's default: zstd compression on upload."""
    return _session(client, objectstore_usecase, objectstore_scope)


def _read(session: Session, key: str, **kwargs: Any) -> bytes:
    result = session.get(key, **kwargs)
    assert result is not None
    return result.payload.read()


def test_put_get_head_delete_round_trip(plain: Session) -> None:
    key = plain.put(b"hello world", key="greeting", content_type="text/plain")
    assert key == "greeting"
    result = plain.get(key)
    assert result is not None
    assert result.payload.read() == b"hello world"
    assert result.metadata.content_type == "text/plain"
    assert result.metadata.compression is None
    assert result.metadata.size == 11
    head = plain.head(key)
    assert head is not None
    assert (head.content_type, head.size) == ("text/plain", 11)
    assert head.time_created is not None
    plain.delete(key)
    assert plain.get(key) is None
    assert plain.head(key) is None


def test_put_without_key_gets_a_generated_key(plain: Session) -> None:
    key = plain.put(b"anonymous")
    assert len(key) == 36
    assert _read(plain, key) == b"anonymous"


def test_missing_objects_read_as_none_and_delete_succeeds(plain: Session) -> None:
    assert plain.get("nope") is None
    assert plain.head("nope") is None
    plain.delete("nope")


def test_overwrite_replaces_payload_and_metadata(plain: Session) -> None:
    plain.put(b"first", key="k", metadata={"a": "1"}, filename="one.txt")
    plain.put(b"second", key="k", metadata={"b": "2"})
    result = plain.get("k")
    assert result is not None
    assert result.payload.read() == b"second"
    assert result.metadata.custom == {"b": "2"}
    assert result.metadata.filename is None


def test_origin_filename_and_custom_metadata_round_trip(plain: Session) -> None:
    plain.put(
        b"x",
        key="meta",
        origin="203.0.113.42",
        filename="réport-📄 100%.pdf",
        metadata={"MyKey": "vé%", "plain": "ascii value", "ctrl": "a\r\nb"},
    )
    head = plain.head("meta")
    assert head is not None
    assert head.origin == "203.0.113.42"
    assert head.filename == "réport-📄 100%.pdf"
    assert head.custom == {"mykey": "vé%", "plain": "ascii value", "ctrl": "a\r\nb"}


@pytest.mark.parametrize("key", E2E_KEYS)
def test_keys_of_the_official_e2e_suite_round_trip(plain: Session, key: str) -> None:
    assert plain.put(key.encode(), key=key) == key
    assert _read(plain, key) == key.encode()


def test_literal_percent_twenty_key_is_distinct_from_space(plain: Session) -> None:
    plain.put(b"literal", key="a%20b")
    plain.put(b"space", key="a b")
    assert _read(plain, "a%20b") == b"literal"
    assert _read(plain, "a b") == b"space"


def test_zstd_upload_is_decompressed_on_download(zstd: Session) -> None:
    payload = os.urandom(1000) + b"compressible " * 5000
    key = zstd.put(payload)
    result = zstd.get(key)
    assert result is not None
    assert result.payload.read() == payload
    assert result.metadata.compression is None  # decompressed by the client
    head = zstd.head(key)
    assert head is not None
    assert head.compression == "zstd"
    assert head.size is not None and head.size < len(payload)


def test_precompressed_bytes_are_stored_and_served_byte_exact(plain: Session) -> None:
    original = b"precompressed payload " * 1000
    compressed = zstandard.ZstdCompressor(level=3).compress(original)
    key = plain.put(compressed, precompressed="zstd")
    assert _read(plain, key, accept_encoding=["zstd"]) == compressed
    assert _read(plain, key, accept_encoding=["*"]) == compressed
    assert _read(plain, key, decompress=False) == compressed
    assert _read(plain, key) == original
    head = plain.head(key)
    assert head is not None
    assert (head.compression, head.size) == ("zstd", len(compressed))


def test_accept_encoding_passthrough_of_client_compressed_upload(zstd: Session) -> None:
    payload = b"streamed through the compressor " * 2000
    key = zstd.put(payload)
    raw = _read(zstd, key, accept_encoding=["zstd"])
    assert raw != payload
    reader = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(raw), read_across_frames=True)
    assert reader.read() == payload


def test_uncompressed_upload_from_a_stream(plain: Session) -> None:
    payload = os.urandom(3 * 1024 * 1024 + 7)
    key = plain.put(io.BytesIO(payload), resumable_threshold_bytes="none")
    assert _read(plain, key) == payload


def test_resumable_attempt_falls_back_to_a_plain_upload(zstd: Session, plain: Session) -> None:
    payload = b"resumable fallback " * 100
    key = zstd.put(payload, resumable_threshold_bytes=0)
    assert _read(zstd, key) == payload
    key = plain.put(io.BytesIO(payload), key="stream", resumable_threshold_bytes=0)
    assert _read(plain, key) == payload


def test_ttl_expires_with_the_server_clock(plain: Session, objectstore_clock: OffsetClock) -> None:
    key = plain.put(b"ttl", expiration_policy=TimeToLive(timedelta(days=1)))
    head = plain.head(key)
    assert head is not None
    assert head.expiration_policy == TimeToLive(timedelta(days=1))
    assert head.time_created is not None and head.time_expires is not None
    assert head.time_expires - head.time_created == timedelta(days=1)
    objectstore_clock.advance(timedelta(days=1, seconds=2))
    assert plain.get(key) is None
    assert plain.head(key) is None


def test_usecase_default_expiration_policy_is_sent(
    client: Client, objectstore_usecase: str, objectstore_scope: dict[str, str]
) -> None:
    policy = TimeToLive(timedelta(days=400, seconds=4711))
    session = _session(client, objectstore_usecase, objectstore_scope, expiration_policy=policy)
    key = session.put(b"x")
    head = session.head(key)
    assert head is not None
    assert head.expiration_policy == policy


def test_tti_is_renewed_by_reads(plain: Session, objectstore_clock: OffsetClock) -> None:
    key = plain.put(b"tti", expiration_policy=TimeToIdle(timedelta(hours=1)))
    first = plain.head(key)
    assert first is not None and first.time_expires is not None
    objectstore_clock.advance(timedelta(minutes=40))
    assert _read(plain, key) == b"tti"  # renews; reports the old deadline
    renewed = plain.head(key)
    assert renewed is not None and renewed.time_expires is not None
    assert renewed.time_expires > first.time_expires
    assert renewed.expiration_policy == TimeToIdle(timedelta(hours=1))
    objectstore_clock.advance(timedelta(minutes=50))  # past the first deadline
    assert _read(plain, key) == b"tti"
    objectstore_clock.advance(timedelta(hours=3))
    assert plain.get(key) is None


def test_extend_expiry_from_creation(plain: Session) -> None:
    key = plain.put(b"x", expiration_policy=TimeToLive(timedelta(days=1)))
    plain.extend_expiry(key, from_creation=timedelta(days=3))
    head = plain.head(key)
    assert head is not None and head.time_created is not None
    assert head.time_expires == head.time_created + timedelta(days=3)
    assert head.expiration_policy == TimeToLive(timedelta(days=3))
    plain.extend_expiry(key, from_creation=timedelta(days=2))  # never shortens
    again = plain.head(key)
    assert again is not None
    assert again.time_expires == head.time_expires


def test_extend_expiry_from_now_and_at(plain: Session, objectstore_clock: OffsetClock) -> None:
    key = plain.put(b"x", expiration_policy=TimeToIdle(timedelta(hours=1)))
    plain.extend_expiry(key, from_now=timedelta(hours=5))
    head = plain.head(key)
    assert head is not None and head.time_expires is not None
    assert head.expiration_policy == TimeToIdle(timedelta(hours=1))
    target = objectstore_clock.now() + timedelta(days=2, microseconds=1500)
    plain.extend_expiry(key, at=target)  # sent as ...+00:00 with microseconds
    head = plain.head(key)
    assert head is not None
    assert head.time_expires == target.replace(microsecond=0) + timedelta(seconds=1)
    assert head.time_expires.tzinfo is not None


def test_extend_expiry_at_in_another_zone_is_sent_as_utc(plain: Session) -> None:
    key = plain.put(b"x", expiration_policy=TimeToLive(timedelta(hours=1)))
    from zoneinfo import ZoneInfo

    target = datetime(2099, 6, 1, 12, 0, tzinfo=ZoneInfo("Europe/Vienna"))
    plain.extend_expiry(key, at=target)
    head = plain.head(key)
    assert head is not None
    assert head.time_expires == target.astimezone(UTC)


def test_extend_expiry_errors_map_to_client_exceptions(plain: Session) -> None:
    with pytest.raises(ObjectNotFound):
        plain.extend_expiry("missing", from_now=timedelta(days=1))
    plain.put(b"x", key="manual")
    with pytest.raises(ExpiryExtensionRejected):
        plain.extend_expiry("manual", from_now=timedelta(days=1))


def test_large_object_streams_both_ways(plain: Session) -> None:
    size = 48 * 1024 * 1024
    pattern = os.urandom(1024 * 1024)
    doubled = pattern * 2

    def expected(position: int, length: int) -> bytes:
        start = position % len(pattern)
        return doubled[start : start + length]

    class Generated(io.RawIOBase):
        """``size`` bytes made on the fly, never held in memory at once."""

        def __init__(self) -> None:
            self.position = 0

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: Any) -> int:
            n = min(len(buffer), size - self.position, len(pattern))
            buffer[:n] = expected(self.position, n)
            self.position += n
            return n

    key = plain.put(io.BufferedReader(Generated()), resumable_threshold_bytes="none")
    result = plain.get(key)
    assert result is not None
    assert result.metadata.size == size
    total = 0
    while block := result.payload.read(1024 * 1024):
        assert block == expected(total, len(block))
        total += len(block)
    assert total == size
