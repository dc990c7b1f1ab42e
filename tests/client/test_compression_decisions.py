"""zstd is used where it helps: judged by what the server stores, not by timing.

With the usecase's default compression (zstd), a payload is stored compressed only if
zstd shrinks it and it is not already compressed (by content type or by its first
bytes); streams are judged by their first block. ``compression="zstd"`` passed to the
call always compresses. Each case reads back the stored bytes (``decompress=False``)
and the stored encoding (HEAD), over every transport.
"""

from __future__ import annotations

import io
import json
import os
import random
from collections.abc import Iterable
from typing import BinaryIO

import objectstore_client as official
import pytest
import urllib3

from django_objectstore.client import Client, Session, Usecase
from django_objectstore.client.compression import CHUNK_SIZE, ONE_SHOT_LIMIT
from django_objectstore.pytest_plugin import ObjectstoreServer


def json_lines(size: int, seed: int = 7) -> bytes:
    """Log-like JSON lines: realistic, compressible data."""
    rng = random.Random(seed)
    lines = []
    total = 0
    while total < size:
        line = json.dumps(
            {"level": rng.choice(["info", "warning"]), "user": rng.randrange(10**6), "ok": True}
        ).encode()
        lines.append(line + b"\n")
        total += len(line) + 1
    return b"".join(lines)[:size]


COMPRESSIBLE = json_lines(4096)
RANDOM = os.urandom(4096)
PNG = b"\x89PNG\r\n\x1a\n" + COMPRESSIBLE  # compressible after the header, yet a PNG


def stored(session: Session, key: str) -> tuple[str | None, bytes]:
    """(stored encoding, stored bytes) as the server holds them."""
    head = session.head(key)
    assert head is not None
    result = session.get(key, decompress=False)
    assert result is not None
    with result:
        return head.compression, result.payload.read()


def read_back(session: Session, key: str) -> bytes:
    result = session.get(key)
    assert result is not None
    with result:
        return result.payload.read()


def test_a_payload_that_shrinks_is_stored_compressed(session: Session) -> None:
    key = session.put(COMPRESSIBLE, key="shrinks")
    encoding, data = stored(session, key)
    assert encoding == "zstd" and len(data) < len(COMPRESSIBLE) // 2
    assert read_back(session, key) == COMPRESSIBLE


@pytest.mark.parametrize("size", [1, 100, 4096, 300_000])
def test_a_payload_that_does_not_shrink_is_stored_as_it_is(session: Session, size: int) -> None:
    payload = os.urandom(size)
    key = session.put(payload, key="random")
    assert stored(session, key) == (None, payload)
    assert read_back(session, key) == payload


@pytest.mark.parametrize(
    "content_type", ["image/jpeg", "application/zip", "video/mp4", "audio/ogg; codecs=opus"]
)
def test_an_already_compressed_content_type_is_stored_as_it_is(
    session: Session, content_type: str
) -> None:
    key = session.put(COMPRESSIBLE, key="typed", content_type=content_type)
    assert stored(session, key) == (None, COMPRESSIBLE)
    assert session.head(key).content_type == content_type  # type: ignore[union-attr]


def test_uncompressed_media_types_are_still_compressed(session: Session) -> None:
    key = session.put(COMPRESSIBLE, key="svg", content_type="image/svg+xml")
    assert stored(session, key)[0] == "zstd"


def test_a_payload_that_starts_like_a_compressed_format_is_stored_as_it_is(
    session: Session,
) -> None:
    key = session.put(PNG, key="sniffed")
    assert stored(session, key) == (None, PNG)
    gzip = b"\x1f\x8b\x08\x00" + COMPRESSIBLE
    key = session.put(io.BytesIO(gzip), key="sniffed-file")
    assert stored(session, key) == (None, gzip)


def _chunks(data: bytes, size: int = 10_000) -> Iterable[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


@pytest.mark.parametrize("kind", ["iterable", "large file"])
def test_a_stream_is_judged_by_its_first_block(session: Session, kind: str) -> None:
    size = ONE_SHOT_LIMIT + CHUNK_SIZE * 2

    def source(data: bytes) -> BinaryIO | Iterable[bytes]:
        return _chunks(data) if kind == "iterable" else io.BytesIO(data)

    text = json_lines(size)
    key = session.put(source(text), key="stream-text")
    encoding, data = stored(session, key)
    assert encoding == "zstd" and len(data) < size // 2
    assert read_back(session, key) == text
    # Random first block: the whole stream goes up as it is, even if the rest would shrink.
    mixed = os.urandom(CHUNK_SIZE) + text[: size - CHUNK_SIZE]
    key = session.put(source(mixed), key="stream-random")
    assert stored(session, key) == (None, mixed)


def test_explicit_zstd_always_compresses(session: Session) -> None:
    key = session.put(RANDOM, key="forced", compression="zstd")
    encoding, data = stored(session, key)
    assert encoding == "zstd" and data != RANDOM
    assert read_back(session, key) == RANDOM
    key = session.put(
        COMPRESSIBLE, key="forced-typed", compression="zstd", content_type="image/png"
    )
    assert stored(session, key)[0] == "zstd"


def test_raw_get_shows_the_stored_encoding(objectstore_server: ObjectstoreServer) -> None:
    session = Client(str(objectstore_server)).session(Usecase("attachments"), org=5)
    session.put(COMPRESSIBLE, key="text")
    session.put(RANDOM, key="noise")
    base = f"{objectstore_server}/v1/objects/attachments/org=5/"
    zstd = {"accept-encoding": "zstd"}
    # decode_content=False: the bytes as sent (some urllib3 versions decode zstd).
    text = urllib3.request("GET", base + "text", headers=zstd, decode_content=False)
    assert text.headers["content-encoding"] == "zstd"
    assert len(text.data) < len(COMPRESSIBLE)
    noise = urllib3.request("GET", base + "noise", headers=zstd, decode_content=False)
    assert "content-encoding" not in noise.headers
    assert noise.data == RANDOM


@pytest.mark.parametrize("payload", [COMPRESSIBLE, RANDOM, PNG], ids=["text", "random", "png"])
def test_the_official_client_reads_what_each_decision_stored(
    objectstore_server: ObjectstoreServer, payload: bytes
) -> None:
    ours = Client(str(objectstore_server)).session(Usecase("attachments"), org=6)
    theirs = official.Client(str(objectstore_server)).session(
        official.Usecase("attachments"), org=6
    )
    key = ours.put(payload)
    result = theirs.get(key)
    assert result is not None and result.payload.read() == payload
    key = theirs.put(payload)
    assert read_back(ours, key) == payload
