"""Objects written by the official client read byte for byte by ours, and the reverse."""

from __future__ import annotations

import io
import os
from datetime import timedelta

import objectstore_client as official
import pytest

from django_objectstore.client import Client, TimeToLive, Usecase
from django_objectstore.pytest_plugin import ObjectstoreServer

PAYLOAD = os.urandom(50_000) + b"compressible " * 20_000
METADATA = {"MyKey": "vé%", "plain": "x"}


@pytest.fixture
def sessions(
    objectstore_server: ObjectstoreServer,
    objectstore_usecase: str,
    objectstore_scope: dict[str, str],
) -> tuple[official.Session, object]:
    theirs = official.Client(str(objectstore_server)).session(
        official.Usecase(objectstore_usecase), **objectstore_scope
    )
    ours = Client(str(objectstore_server)).session(
        Usecase(objectstore_usecase), **objectstore_scope
    )
    return theirs, ours


@pytest.mark.parametrize("compression", ["zstd", "none"])
def test_official_writes_we_read(
    sessions: tuple[official.Session, object], compression: str
) -> None:
    theirs, ours = sessions
    key = theirs.put(
        PAYLOAD,
        key="from official/é",
        compress=compression,  # type: ignore[arg-type]
        content_type="text/plain",
        metadata=dict(METADATA),
        expiration_policy=official.TimeToLive(timedelta(days=400, seconds=4711)),
        origin="1.2.3.4",
        filename="réport.pdf",
    )
    result = ours.get(key)  # type: ignore[attr-defined]
    assert result.payload.read() == PAYLOAD
    meta = result.metadata
    assert meta.content_type == "text/plain"
    assert meta.custom == {"mykey": "vé%", "plain": "x"}
    assert meta.expiration_policy == TimeToLive(timedelta(days=400, seconds=4711))
    assert (meta.origin, meta.filename) == ("1.2.3.4", "réport.pdf")
    raw = ours.get(key, decompress=False)  # type: ignore[attr-defined]
    stored = raw.payload.read()
    their_raw = theirs.get(key, decompress=False)
    assert their_raw is not None and their_raw.payload.read() == stored


@pytest.mark.parametrize("compression", ["zstd", "none"])
def test_we_write_official_reads(
    sessions: tuple[official.Session, object], compression: str
) -> None:
    theirs, ours = sessions
    key = ours.put(  # type: ignore[attr-defined]
        io.BytesIO(PAYLOAD),
        key="from ours/ü 100%",
        compression=compression,
        content_type="application/x-test",
        metadata=dict(METADATA),
        expiration_policy=TimeToLive(timedelta(hours=5)),
        origin="203.0.113.42",
        filename="📄 file.txt",
    )
    result = theirs.get(key)
    assert result is not None
    assert result.payload.read() == PAYLOAD
    meta = result.metadata
    assert meta.content_type == "application/x-test"
    assert meta.custom == {"mykey": "vé%", "plain": "x"}
    assert meta.expiration_policy == official.TimeToLive(timedelta(hours=5))
    assert (meta.origin, meta.filename) == ("203.0.113.42", "📄 file.txt")
    assert (meta.compression is None) or compression == "none"
    head = theirs.head(key)
    assert head is not None and head.compression == (None if compression == "none" else "zstd")


def test_server_generated_keys_interoperate(sessions: tuple[official.Session, object]) -> None:
    theirs, ours = sessions
    key = ours.put(b"generated")  # type: ignore[attr-defined]
    assert theirs.get(key).payload.read() == b"generated"  # type: ignore[union-attr]
    key = theirs.put(b"generated too")
    assert ours.get(key).payload.read() == b"generated too"  # type: ignore[attr-defined]
    theirs.delete(key)
    assert ours.head(key) is None  # type: ignore[attr-defined]
