"""put/get/head/delete over every transport: payloads, metadata, keys, 404 policy."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import timedelta

import pytest
import zstandard

from django_objectstore.client import (
    Client,
    Session,
    TimeToIdle,
    TimeToLive,
    Usecase,
)
from tests.protocol_keys import E2E_KEYS


def test_put_without_key_returns_a_server_generated_key(session: Session) -> None:
    key = session.put(b"Hello")
    assert len(key) == 36
    result = session.get(key)
    assert result is not None
    assert result.payload.read() == b"Hello"


@pytest.mark.parametrize("compression", ["zstd", "none"])
def test_put_then_get_round_trips_payload(session: Session, compression: str) -> None:
    data = bytes(range(256)) * 1000
    key = session.put(data, key="obj", compression=compression)  # type: ignore[arg-type]
    assert key == "obj"
    with session.get(key) as result:  # type: ignore[union-attr]
        assert result.payload.read() == data
        assert result.metadata.compression is None


def test_zstd_upload_is_stored_compressed(session: Session) -> None:
    data = b"a" * 100_000
    session.put(data, key="z")
    head = session.head("z")
    assert head is not None
    assert head.compression == "zstd"
    assert head.size is not None and head.size < 1000
    raw = session.get("z", decompress=False)
    assert raw is not None
    assert raw.metadata.compression == "zstd"
    assert zstandard.ZstdDecompressor().decompressobj().decompress(raw.payload.read()) == data


def test_accept_encoding_passes_compressed_bytes_through(session: Session) -> None:
    session.put(b"x" * 1000, key="k")
    result = session.get("k", accept_encoding=["zstd"])
    assert result is not None
    assert result.metadata.compression == "zstd"
    assert result.payload.read() != b"x" * 1000
    star = session.get("k", accept_encoding=["*"])
    assert star is not None and star.metadata.compression == "zstd"
    star.payload.close()


def test_precompressed_upload_is_sent_verbatim(session: Session) -> None:
    frame = zstandard.ZstdCompressor().compress(b"precompressed!")
    session.put(frame, key="pre", precompressed="zstd")
    result = session.get("pre")
    assert result is not None and result.payload.read() == b"precompressed!"
    raw = session.get("pre", decompress=False)
    assert raw is not None and raw.payload.read() == frame


@pytest.mark.parametrize("compression", ["zstd", "none"])
def test_put_streams_file_objects_and_iterables(session: Session, compression: str) -> None:
    data = b"0123456789" * 100_000
    session.put(io.BytesIO(data), key="file", compression=compression)  # type: ignore[arg-type]
    session.put(iter([data[:7], data[7:]]), key="iter", compression=compression)  # type: ignore[arg-type]
    for key in ("file", "iter"):
        result = session.get(key)
        assert result is not None and result.payload.read() == data


@pytest.mark.parametrize("compression", ["zstd", "none"])
def test_empty_objects_round_trip(session: Session, compression: str) -> None:
    session.put(b"", key="empty", compression=compression)  # type: ignore[arg-type]
    session.put(io.BytesIO(b""), key="empty-file", compression=compression)  # type: ignore[arg-type]
    for key in ("empty", "empty-file"):
        result = session.get(key)
        assert result is not None
        assert result.payload.read() == b""
    head = session.head("empty")
    assert head is not None


@pytest.mark.parametrize("key", E2E_KEYS)
def test_unicode_and_special_keys_round_trip(session: Session, key: str) -> None:
    assert session.put(key.encode(), key=key) == key
    result = session.get(key)
    assert result is not None and result.payload.read() == key.encode()
    session.delete(key)
    assert session.head(key) is None


def test_literal_percent_sequence_is_not_decoded(session: Session) -> None:
    session.put(b"literal", key="looks%20encoded")
    assert session.get("looks encoded") is None


@pytest.mark.parametrize("filename", ["report.pdf", "réport-📄.pdf", 'has"quote.txt', "a/b\\c", ""])
def test_metadata_round_trips(session: Session, filename: str) -> None:
    session.put(
        b"payload",
        key="meta",
        content_type="text/plain; charset=utf-8",
        metadata={"Source": "vé% ünïcode", "plain": "x"},
        expiration_policy=TimeToLive(timedelta(hours=1)),
        origin="203.0.113.42",
        filename=filename,
    )
    for meta in (session.head("meta"), session.get("meta").metadata):  # type: ignore[union-attr]
        assert meta is not None
        assert meta.content_type == "text/plain; charset=utf-8"
        assert meta.custom == {"source": "vé% ünïcode", "plain": "x"}
        assert meta.expiration_policy == TimeToLive(timedelta(hours=1))
        assert meta.origin == "203.0.113.42"
        assert meta.filename == filename
        assert meta.time_created is not None and meta.time_expires is not None
        assert meta.time_expires - meta.time_created == timedelta(hours=1)


def test_defaults_come_from_the_usecase(make_session: Callable[..., Session]) -> None:
    session = make_session(compression="none", expiration_policy=TimeToIdle(timedelta(days=30)))
    session.put(b"abc", key="d")
    meta = session.head("d")
    assert meta is not None
    assert meta.compression is None
    assert meta.content_type == "application/octet-stream"
    assert meta.expiration_policy == TimeToIdle(timedelta(days=30))
    assert meta.size == 3


def test_put_replaces_payload_and_metadata(session: Session) -> None:
    session.put(b"one", key="r", metadata={"a": "1"})
    session.put(b"two", key="r")
    result = session.get("r")
    assert result is not None
    assert result.payload.read() == b"two"
    assert result.metadata.custom == {}


def test_404_policy(session: Session) -> None:
    assert session.get("missing") is None
    assert session.head("missing") is None
    session.delete("missing")  # no error


def test_delete_removes_the_object(session: Session) -> None:
    session.put(b"x", key="gone")
    session.delete("gone")
    assert session.get("gone") is None


def test_scope_order_selects_different_namespaces(client: Client, objectstore_usecase: str) -> None:
    usecase = Usecase(objectstore_usecase)
    a = client.session(usecase, org=1, project=2)
    b = client.session(usecase, project=2, org=1)
    a.put(b"a", key="k")
    assert b.get("k") is None
    unscoped = client.session(usecase)
    unscoped.put(b"u", key="k")
    assert unscoped.get("k").payload.read() == b"u"  # type: ignore[union-attr]


def test_payload_supports_read_n_readinto_iteration(session: Session) -> None:
    data = bytes(range(256)) * 2000
    session.put(data, key="p")
    with session.get("p") as result:  # type: ignore[union-attr]
        payload = result.payload
        first = payload.read(10)
        buffer = bytearray(100)
        count = payload.readinto(buffer)
        rest = b"".join(iter(payload))
        assert first + bytes(buffer[:count]) + rest == data
    assert payload.closed


def test_partially_read_payload_can_be_closed_and_the_client_reused(session: Session) -> None:
    session.put(b"z" * 5_000_000, key="big", compression="none")
    for _ in range(3):
        result = session.get("big")
        assert result is not None
        assert result.payload.read(10) == b"z" * 10
        result.payload.close()
    session.put(b"after", key="after")
    assert session.get("after").payload.read() == b"after"  # type: ignore[union-attr]
