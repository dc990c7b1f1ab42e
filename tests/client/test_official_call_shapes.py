"""Calls written for the official client run unchanged on ours, with the same meaning."""

from __future__ import annotations

import io
import pickle
from typing import Any

import objectstore_client
import pytest
import zstandard

from django_objectstore.client import (
    Client,
    PartETag,
    SecretKey,
    Session,
    TokenGenerator,
    Usecase,
    parse_accept_encoding,
)
from django_objectstore.pytest_plugin import ObjectstoreAuthServer, ObjectstoreServer
from tests.client.recording import RecordingTransport


def _multipart_used(transport: RecordingTransport) -> bool:
    return any("/objects:multipart" in path for _, path in transport.calls)


@pytest.fixture
def plain(objectstore_server: ObjectstoreServer, objectstore_usecase: str) -> Session:
    return Client(str(objectstore_server)).session(Usecase(objectstore_usecase), org=7)


def test_get_takes_decompress_and_accept_encoding_positionally(plain: Session) -> None:
    plain.put(b"squeeze me " * 50, key="z", compression="zstd")
    raw = plain.get("z", False)
    assert raw is not None and raw.metadata.compression == "zstd"
    assert zstandard.ZstdDecompressor().decompressobj().decompress(raw.payload.read()) == (
        b"squeeze me " * 50
    )
    passed = plain.get("z", True, ["zstd"])
    assert passed is not None and passed.metadata.compression == "zstd"
    passed.payload.close()


def test_client_takes_the_official_positional_order(objectstore_server: ObjectstoreServer) -> None:
    client = Client(str(objectstore_server), None, False, 2, 5000.0, {"maxsize": 2}, None, "/tmp")
    assert client.spool_dir == "/tmp" and client.metrics_backend is None
    session = client.session(Usecase("positional"), org=1)
    assert session.put(b"x", "k") == "k"


def test_retries_none_means_the_default(objectstore_server: ObjectstoreServer) -> None:
    with Client(str(objectstore_server), retries=None) as client:
        assert client.session(Usecase("retries"), org=1).put(b"x", key="k") == "k"


def test_secret_key_accepts_the_official_keyword_and_attribute(
    objectstore_auth_server: ObjectstoreAuthServer, objectstore_usecase: str
) -> None:
    pem = objectstore_auth_server.private_key_pem
    key = SecretKey(kid=objectstore_auth_server.kid, secret_key=pem)
    assert key.secret_key == pem
    assert TokenGenerator is SecretKey
    session = Client(str(objectstore_auth_server), token=key).session(
        Usecase(objectstore_usecase), org=3
    )
    assert session.put(b"signed", key="k") == "k"
    with pytest.raises(ValueError, match="secret_key"):
        SecretKey("kid")


def test_signature_for_canonical_form_matches_the_official_client(
    objectstore_auth_server: ObjectstoreAuthServer,
) -> None:
    pem = objectstore_auth_server.private_key_pem
    ours = SecretKey("kid", pem)
    theirs = objectstore_client.SecretKey("kid", pem)
    canonical = "GET\n/v1/objects/u/_/k\nos_duration=60"
    assert ours.signature_for_canonical_form(canonical) == theirs.signature_for_canonical_form(
        canonical
    )


def test_usecase_takes_resumable_threshold_bytes_as_the_multipart_threshold() -> None:
    assert Usecase("abc", "zstd", None, 1000).multipart_threshold == 1000
    assert Usecase("abc", resumable_threshold_bytes="none").multipart_threshold is None
    assert Usecase("abc", resumable_threshold_bytes=0).multipart_threshold == 1
    with pytest.raises(ValueError, match="resumable_threshold_bytes"):
        Usecase("abc", resumable_threshold_bytes=-1)
    with pytest.raises(ValueError, match="not both"):
        Usecase("abc", resumable_threshold_bytes=5, multipart_threshold=5)


def test_put_resumable_threshold_bytes_overrides_the_usecase_per_call() -> None:
    transport = RecordingTransport()
    client = Client(transport.base_url, transport=transport)
    session = client.session(Usecase("big-files", multipart_threshold=None), org=1)
    data = b"0123456789" * 1000
    session.put(io.BytesIO(data), key="parts", resumable_threshold_bytes=1)
    assert _multipart_used(transport)
    got = session.get("parts")
    assert got is not None and got.payload.read() == data

    transport.calls.clear()
    eager = client.session(Usecase("small-threshold", multipart_threshold=1), org=1)
    eager.put(io.BytesIO(data), key="single", resumable_threshold_bytes="none")
    assert not _multipart_used(transport)
    with pytest.raises(ValueError, match="resumable_threshold_bytes"):
        eager.put(b"x", resumable_threshold_bytes=-5)


def test_list_of_put_part_results_completes_like_the_official_client(plain: Session) -> None:
    upload = plain.initiate_multipart_upload(key="assembled", compression="none")
    parts = [
        upload.put_part(b"second", part_number=2, content_length=6),
        upload.put_part(b"first-", part_number=1, content_length=6),
    ]
    assert isinstance(parts[0], PartETag) and parts[0].part_number == 2
    assert parts[0] == parts[0].etag  # still the ETag string
    assert upload.complete(parts) == "assembled"
    got = plain.get("assembled")
    assert got is not None and got.payload.read() == b"first-second"


def test_complete_accepts_the_official_clients_part_objects(plain: Session) -> None:
    upload = plain.initiate_multipart_upload(key="theirs-parts", compression="none")
    etag = upload.put_part(b"abc", 1)
    part = objectstore_client.multipart.CompletePart(part_number=1, etag=str(etag))
    assert upload.complete([part]) == "theirs-parts"
    with pytest.raises(ValueError, match="invalid part"):
        upload.complete(["just-an-etag"])  # type: ignore[list-item]


def test_part_etag_survives_pickling() -> None:
    etag = PartETag('"etag-1"', 4)
    copy: Any = pickle.loads(pickle.dumps(etag))
    assert copy == '"etag-1"' and copy.part_number == 4


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("gzip, zstd;q=0.5, br;q=0", ["gzip", "zstd"]),
        ("ZSTD", ["zstd"]),
        ("*;q=0, identity", ["identity"]),
        ("", []),
        (" , gzip;level=1", ["gzip"]),
    ],
)
def test_parse_accept_encoding_agrees_with_the_official_client(
    header: str, expected: list[str]
) -> None:
    assert parse_accept_encoding(header) == expected
    assert objectstore_client.parse_accept_encoding(header) == expected
