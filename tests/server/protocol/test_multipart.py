"""Multipart uploads (protocol-advanced.md §2), in process and with the official client."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import threading
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import zstandard
from objectstore_client import Client, Usecase
from objectstore_client.multipart import MultipartCompleteError

from django_objectstore.server.app import App, create_app
from django_objectstore.server.auth.authenticator import AuthContext, Authenticator
from django_objectstore.server.backends.base import Backend
from django_objectstore.server.backends.memory import MemoryBackend
from django_objectstore.server.backends.records import ObjectLocation, ObjectMetadata
from django_objectstore.server.backends.tiered import TieredBackend
from django_objectstore.server.config import (
    AuthConfig,
    PolicyRule,
    ServerConfig,
    UsecaseConfig,
    UsecaseExpiration,
)
from django_objectstore.server.errors import ProtocolError
from django_objectstore.server.messages import BodyReader, BytesBody, Headers, Request
from django_objectstore.server.protocol import multipart

SCOPE = "org=42;project=1337"
START = datetime(2026, 3, 1, 12, 0, 0, 500000, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.value = START

    def now(self) -> datetime:
        return self.value


class Reply:
    def __init__(self, status: int, headers: list[tuple[str, str]], body: bytes) -> None:
        self.status = status
        self.headers = dict(headers)
        self.body = body

    def json(self) -> Any:
        return json.loads(self.body)


class Harness:
    def __init__(self, backend: Backend | None = None, config: ServerConfig | None = None) -> None:
        self.clock = Clock()
        self.config = config or ServerConfig(auth=AuthConfig(enforce=False))
        self.backend = backend or MemoryBackend()
        self.app: App = create_app(self.config, clock=self.clock, backend=self.backend)

    def request(
        self,
        method: str,
        endpoint: str,
        key: str = "",
        query: str = "",
        headers: list[tuple[str, str]] | None = None,
        body: bytes = b"",
    ) -> Reply:
        path = f"/v1/{endpoint}/test-usecase/{SCOPE}/{key}"
        request = Request(method, path, query, Headers(headers or []), BytesBody(body))
        response = self.app.handle(request)
        try:
            return Reply(response.status, response.headers, b"".join(response.body))
        finally:
            response.close()

    def initiate(self, key: str = "obj", **headers: str) -> str:
        pairs = [(name.replace("_", "-"), value) for name, value in headers.items()]
        reply = self.request("PUT", "objects:multipart", key, headers=pairs)
        assert reply.status == 200, reply.body
        assert reply.json()["key"] == key
        upload_id: str = reply.json()["upload_id"]
        return upload_id

    def put_part(
        self, upload_id: str, number: int, data: bytes, key: str = "obj", **extra: str
    ) -> Reply:
        headers = [("content-length", str(len(data)))]
        headers.extend((name.replace("_", "-"), value) for name, value in extra.items())
        return self.send_part(upload_id, number, headers, data, key)

    def send_part(
        self,
        upload_id: str,
        number: int | str,
        headers: list[tuple[str, str]],
        data: bytes,
        key: str = "obj",
    ) -> Reply:
        """A part upload with exactly these headers (for framing the server must reject)."""
        query = f"upload_id={upload_id}&part_number={number}"
        return self.request("PUT", "objects:multipart:parts", key, query, headers, data)

    def etag(self, upload_id: str, number: int, data: bytes, key: str = "obj") -> str:
        reply = self.put_part(upload_id, number, data, key)
        assert reply.status == 200, reply.body
        etag: str = reply.json()["etag"]
        return etag

    def list_parts(self, upload_id: str, extra: str = "", key: str = "obj") -> Reply:
        return self.request("GET", "objects:multipart:parts", key, f"upload_id={upload_id}{extra}")

    def complete(self, upload_id: str, parts: list[tuple[int, str]], key: str = "obj") -> Any:
        document = {"parts": [{"part_number": n, "etag": e} for n, e in parts]}
        reply = self.request(
            "POST",
            "objects:multipart:complete",
            key,
            f"upload_id={upload_id}",
            [("content-type", "application/json")],
            json.dumps(document).encode(),
        )
        assert reply.status == 200
        assert reply.headers["content-type"] == "application/json"
        return json.loads(reply.body.strip())

    def abort(self, upload_id: str, key: str = "obj") -> Reply:
        return self.request("DELETE", "objects:multipart", key, f"upload_id={upload_id}")

    def get(self, key: str = "obj") -> Reply:
        return self.request("GET", "objects", key)


@pytest.fixture(params=["memory", "tiered"])
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Harness:
    if request.param == "memory":
        return Harness()
    return Harness(TieredBackend(tmp_path / "store"))


def test_initiate_with_post_generates_a_uuid4_key(harness: Harness) -> None:
    reply = harness.request("POST", "objects:multipart")
    assert reply.status == 200
    key = reply.json()["key"]
    assert uuid.UUID(key).version == 4 and str(uuid.UUID(key)) == key
    assert reply.json()["upload_id"]


def test_parts_are_concatenated_in_listed_order_with_metadata_from_initiation(
    harness: Harness,
) -> None:
    upload_id = harness.initiate(
        content_type="text/plain", x_snme_kind="report", x_sn_expiration="ttl:1d"
    )
    harness.clock.value += timedelta(hours=1)
    first = harness.etag(upload_id, 1, b"alpha-")
    third = harness.etag(upload_id, 3, b"gamma")
    second = harness.etag(upload_id, 2, b"beta-")
    assert harness.complete(upload_id, [(1, first), (2, second), (3, third)]) == {"key": "obj"}
    got = harness.get()
    assert got.status == 200
    assert got.body == b"alpha-beta-gamma"
    assert got.headers["content-type"] == "text/plain"
    assert got.headers["x-snme-kind"] == "report"
    assert got.headers["x-sn-time-created"] == "2026-03-01T12:00:01Z"
    assert got.headers["x-sn-time-expires"] == "2026-03-02T12:00:01Z"


def test_etags_are_quoted_opaque_strings_and_echoed_on_completion(harness: Harness) -> None:
    upload_id = harness.initiate()
    etag = harness.etag(upload_id, 1, b"data")
    assert etag.startswith('"') and etag.endswith('"')
    assert harness.list_parts(upload_id).json()["parts"][0]["etag"] == etag
    assert harness.complete(upload_id, [(1, etag)]) == {"key": "obj"}


def test_reuploading_a_part_replaces_it(harness: Harness) -> None:
    upload_id = harness.initiate()
    old = harness.etag(upload_id, 1, b"old bytes")
    new = harness.etag(upload_id, 1, b"new")
    assert old != new
    parts = harness.list_parts(upload_id).json()["parts"]
    assert [(p["part_number"], p["etag"], p["size"]) for p in parts] == [(1, new, 3)]
    assert harness.complete(upload_id, [(1, old)])["error"]["code"] == "InvalidPart"
    assert harness.complete(upload_id, [(1, new)]) == {"key": "obj"}
    assert harness.get().body == b"new"


def test_list_parts_pages_with_marker_and_truncation_flag(harness: Harness) -> None:
    upload_id = harness.initiate()
    for number in (5, 1, 3, 2, 4):
        harness.etag(upload_id, number, bytes([number]) * number)
    first = harness.list_parts(upload_id, "&max_parts=2").json()
    assert [p["part_number"] for p in first["parts"]] == [1, 2]
    assert first["is_truncated"] is True and first["next_part_number_marker"] == 2
    second = harness.list_parts(upload_id, "&max_parts=2&part_number_marker=2").json()
    assert [p["part_number"] for p in second["parts"]] == [3, 4]
    assert second["next_part_number_marker"] == 4
    last = harness.list_parts(upload_id, "&max_parts=2&part_number_marker=4").json()
    assert [p["part_number"] for p in last["parts"]] == [5]
    assert last["is_truncated"] is False and "next_part_number_marker" not in last
    everything = harness.list_parts(upload_id).json()
    assert [p["size"] for p in everything["parts"]] == [1, 2, 3, 4, 5]
    assert "next_part_number_marker" not in everything


def test_last_modified_is_rfc3339_utc_with_nine_fraction_digits(harness: Harness) -> None:
    upload_id = harness.initiate()
    harness.etag(upload_id, 1, b"x")
    harness.clock.value = START.replace(microsecond=0)
    harness.etag(upload_id, 2, b"y")
    first, second = harness.list_parts(upload_id).json()["parts"]
    assert first["last_modified"] == "2026-03-01T12:00:00.500000000Z"
    assert second["last_modified"] == "2026-03-01T12:00:00Z"


def test_complete_reports_invalid_part_for_missing_part_or_etag_mismatch(harness: Harness) -> None:
    upload_id = harness.initiate()
    etag = harness.etag(upload_id, 1, b"x")
    missing = harness.complete(upload_id, [(1, etag), (2, etag)])
    assert missing["error"]["code"] == "InvalidPart"
    assert "2" in missing["error"]["message"]
    mismatch = harness.complete(upload_id, [(1, '"etag-other"')])
    assert mismatch["error"]["code"] == "InvalidPart"
    assert harness.get().status == 404
    assert harness.complete(upload_id, [(1, etag)]) == {"key": "obj"}


def test_complete_twice_fails_the_second_time_with_internal_error(harness: Harness) -> None:
    upload_id = harness.initiate()
    etag = harness.etag(upload_id, 1, b"x")
    assert harness.complete(upload_id, [(1, etag)]) == {"key": "obj"}
    again = harness.complete(upload_id, [(1, etag)])
    assert again["error"]["code"] == "internal error"
    assert "not found" in again["error"]["message"]


def test_abort_is_idempotent_and_discards_the_upload(harness: Harness) -> None:
    upload_id = harness.initiate()
    harness.etag(upload_id, 1, b"x")
    assert harness.abort(upload_id).status == 204
    assert harness.abort(upload_id).status == 204
    assert harness.abort(str(uuid.uuid4())).status == 204
    assert harness.put_part(upload_id, 2, b"y").status == 404
    assert harness.list_parts(upload_id).status == 404


def test_unknown_upload_id_on_part_and_list_is_404_json(harness: Harness) -> None:
    unknown = str(uuid.uuid4())
    for reply in (harness.put_part(unknown, 1, b"x"), harness.list_parts(unknown)):
        assert reply.status == 404
        assert reply.headers["content-type"] == "application/json"
        assert "not found" in reply.json()["detail"]


def test_upload_id_is_bound_to_its_object(harness: Harness) -> None:
    upload_id = harness.initiate("one")
    assert harness.put_part(upload_id, 1, b"x", key="two").status == 404
    assert harness.abort(upload_id, key="two").status == 204
    assert harness.put_part(upload_id, 1, b"x", key="one").status == 200


@pytest.mark.parametrize("upload_id", ["", "/abs", "./x", "..", "a/../b", "../../etc"])
def test_unsafe_upload_ids_are_rejected_with_plain_text_400(
    harness: Harness, upload_id: str
) -> None:
    for reply in (
        harness.put_part(upload_id, 1, b"x"),
        harness.list_parts(upload_id),
        harness.abort(upload_id),
    ):
        assert reply.status == 400
        assert reply.headers["content-type"].startswith("text/plain")


def test_missing_upload_id_is_a_400(harness: Harness) -> None:
    assert harness.request("DELETE", "objects:multipart", "obj").status == 400
    reply = harness.request(
        "POST",
        "objects:multipart:complete",
        "obj",
        headers=[("content-type", "application/json")],
        body=b'{"parts": []}',
    )
    assert reply.status == 400


@pytest.mark.parametrize("number", ["0", "-1", "abc", "4294967296", ""])
def test_bad_part_numbers_are_rejected(harness: Harness, number: str) -> None:
    upload_id = harness.initiate()
    assert harness.send_part(upload_id, number, [("content-length", "1")], b"x").status == 400


def test_upload_part_requires_content_length(harness: Harness) -> None:
    upload_id = harness.initiate()
    reply = harness.send_part(upload_id, 1, [("transfer-encoding", "chunked")], b"x")
    assert reply.status == 400
    assert "Content-Length" in reply.json()["detail"]


def test_content_md5_is_verified_when_present(harness: Harness) -> None:
    upload_id = harness.initiate()
    good = base64.b64encode(hashlib.md5(b"data").digest()).decode()
    bad = base64.b64encode(hashlib.md5(b"other").digest()).decode()
    assert harness.put_part(upload_id, 1, b"data", content_md5=good).status == 200
    rejected = harness.put_part(upload_id, 2, b"data", content_md5=bad)
    assert rejected.status == 400 and "Content-MD5" in rejected.json()["detail"]
    assert harness.put_part(upload_id, 3, b"data", content_md5="not base64!").status == 400
    assert [p["part_number"] for p in harness.list_parts(upload_id).json()["parts"]] == [1]


def test_body_shorter_than_content_length_is_rejected_and_not_staged(harness: Harness) -> None:
    upload_id = harness.initiate()
    reply = harness.send_part(upload_id, 1, [("content-length", "10")], b"short")
    assert reply.status == 400
    assert harness.list_parts(upload_id).json()["parts"] == []


@pytest.mark.parametrize(
    ("content_type", "body", "status"),
    [
        (None, b'{"parts": []}', 415),
        ("text/plain", b'{"parts": []}', 415),
        ("application/json", b"{not json", 400),
        ("application/json", b'{"parts": [{"part_number": 0, "etag": "x"}]}', 422),
        ("application/json", b'{"parts": [{"part_number": true, "etag": "x"}]}', 422),
        ("application/json", b'{"parts": [{"part_number": 1}]}', 422),
        ("application/json", b'{"other": []}', 422),
    ],
)
def test_complete_rejects_bad_requests_before_streaming(
    harness: Harness, content_type: str | None, body: bytes, status: int
) -> None:
    upload_id = harness.initiate()
    headers = [("content-type", content_type)] if content_type else []
    reply = harness.request(
        "POST", "objects:multipart:complete", "obj", f"upload_id={upload_id}", headers, body
    )
    assert reply.status == status


def test_usecase_policy_is_validated_at_initiation() -> None:
    expiration = UsecaseExpiration(manual=PolicyRule(allowed=False))
    config = ServerConfig(
        auth=AuthConfig(enforce=False),
        usecases={"test-usecase": UsecaseConfig(expiration=expiration)},
    )
    harness = Harness(config=config)
    assert harness.request("PUT", "objects:multipart", "obj").status == 400
    assert harness.initiate(x_sn_expiration="ttl:1h")


def test_bad_metadata_headers_fail_initiation(harness: Harness) -> None:
    reply = harness.request(
        "PUT", "objects:multipart", "obj", headers=[("content-encoding", "gzip")]
    )
    assert reply.status == 400


class ReadOnly(AuthContext):
    def require(self, permission: str, location: ObjectLocation) -> None:
        if permission != "object.read":
            raise ProtocolError(403, "auth error: operation not allowed")


class ReadOnlyAuthenticator(Authenticator):
    def authenticate(self, request: Request) -> AuthContext:
        return ReadOnly()


def test_every_multipart_request_needs_write_permission(harness: Harness) -> None:
    upload_id = harness.initiate()
    etag = harness.etag(upload_id, 1, b"x")
    harness.app.auth = ReadOnlyAuthenticator(harness.config.auth)
    assert harness.request("PUT", "objects:multipart", "other").status == 403
    assert harness.put_part(upload_id, 2, b"y").status == 403
    assert harness.list_parts(upload_id).status == 403
    assert harness.abort(upload_id).status == 403
    reply = harness.request(
        "POST",
        "objects:multipart:complete",
        "obj",
        f"upload_id={upload_id}",
        [("content-type", "application/json")],
        json.dumps({"parts": [{"part_number": 1, "etag": etag}]}).encode(),
    )
    assert reply.status == 403


def part_files(root: Path) -> list[Path]:
    return [path for path in (root / "parts").rglob("*") if path.is_file()]


def test_staged_parts_are_files_under_parts_removed_on_completion(tmp_path: Path) -> None:
    backend = TieredBackend(tmp_path / "store")
    harness = Harness(backend)
    upload_id = harness.initiate()
    etag = harness.etag(upload_id, 1, b"x")
    (staged,) = part_files(tmp_path / "store")
    assert staged.read_bytes() == b"x"
    assert harness.complete(upload_id, [(1, etag)]) == {"key": "obj"}
    assert part_files(tmp_path / "store") == []
    assert backend.db.read("SELECT count(*) FROM uploads") == [(0,)]


def test_staged_uploads_survive_a_restart(tmp_path: Path) -> None:
    first = Harness(TieredBackend(tmp_path / "store"))
    upload_id = first.initiate(content_type="text/plain")
    etag = first.etag(upload_id, 1, b"persisted")
    second = Harness(TieredBackend(tmp_path / "store"))
    assert second.list_parts(upload_id).json()["parts"][0]["etag"] == etag
    assert second.complete(upload_id, [(1, etag)]) == {"key": "obj"}
    assert second.get().body == b"persisted"
    assert second.get().headers["content-type"] == "text/plain"


def test_sweep_removes_uploads_idle_for_more_than_seven_days(harness: Harness) -> None:
    idle = harness.initiate("idle")
    busy = harness.initiate("busy")
    harness.clock.value += timedelta(days=5)
    harness.etag(busy, 1, b"x", key="busy")
    harness.clock.value += timedelta(days=2, seconds=1)
    assert harness.app.engine.sweep_stale_uploads() == 1
    assert harness.list_parts(idle, key="idle").status == 404
    assert harness.list_parts(busy, key="busy").status == 200
    assert harness.app.engine.sweep_stale_uploads(harness.clock.value + timedelta(days=6)) == 1
    assert harness.list_parts(busy, key="busy").status == 404


def test_sweep_ignores_foreign_names_in_the_staging_directory(tmp_path: Path) -> None:
    harness = Harness(TieredBackend(tmp_path / "store"))
    harness.initiate()
    foreign = tmp_path / "store" / "parts" / "ab" / "not-a-part"
    foreign.parent.mkdir()
    foreign.write_bytes(b"x")
    os.utime(foreign, (0, 0))
    harness.clock.value += timedelta(days=8)
    assert harness.app.engine.sweep_stale_uploads() == 1
    assert os.listdir(foreign.parent) == ["not-a-part"]


# -- the official client over HTTP ----------------------------------------------


@pytest.fixture
def session(objectstore_server: str, objectstore_usecase: str) -> Any:
    client = Client(objectstore_server)
    return client.session(Usecase(objectstore_usecase, compression="none"), org=7, project=9)


def test_official_client_round_trip(session: Any) -> None:
    upload = session.initiate_multipart_upload(key="big/file.bin", content_type="text/plain")
    assert upload.key == "big/file.bin"
    chunks = [os.urandom(300_000), os.urandom(300_000), b"tail"]
    parts = [
        upload.put_part(data, part_number=n, content_length=len(data))
        for n, data in enumerate(chunks, start=1)
    ]
    listed = upload.list_parts()
    assert [(p.part_number, p.etag, p.size) for p in listed] == [
        (p.part_number, p.etag, len(c)) for p, c in zip(parts, chunks, strict=True)
    ]
    assert listed[0].last_modified.tzinfo is not None
    assert upload.complete(list(reversed(parts))) == "big/file.bin"
    result = session.get("big/file.bin")
    assert result.payload.read() == b"".join(chunks)
    assert result.metadata.content_type == "text/plain"


def test_official_client_with_server_key_md5_and_zstd_parts(
    objectstore_server: str, objectstore_usecase: str
) -> None:
    session = Client(objectstore_server).session(Usecase(objectstore_usecase), org=1)
    upload = session.initiate_multipart_upload(compression="zstd")
    assert re.fullmatch(r"[0-9a-f-]{36}", upload.key)
    texts = [b"first part " * 1000, b"second part " * 1000]
    parts = []
    for number, text in enumerate(texts, start=1):
        frame = zstandard.ZstdCompressor().compress(text)
        md5 = hashlib.md5(frame).digest()
        parts.append(
            upload.put_part(frame, part_number=number, content_length=len(frame), content_md5=md5)
        )
    assert upload.complete(parts) == upload.key
    result = session.get(upload.key)
    assert result is not None
    assert result.payload.read() == b"".join(texts)


def test_official_client_resume_abort_and_errors(session: Any) -> None:
    upload = session.initiate_multipart_upload(key="resumed")
    part = upload.put_part(b"abc", part_number=1, content_length=3)
    resumed = session.resume_multipart_upload("resumed", upload.upload_id)
    assert [p.etag for p in resumed.list_parts()] == [part.etag]
    with pytest.raises(MultipartCompleteError) as invalid:
        resumed.complete([type(part)(part_number=1, etag='"wrong"')])
    assert invalid.value.code == "InvalidPart"
    assert resumed.complete(resumed.list_parts()) == "resumed"
    with pytest.raises(MultipartCompleteError) as twice:
        resumed.complete([part])
    assert twice.value.code == "internal error"
    assert session.get("resumed").payload.read() == b"abc"
    other = session.initiate_multipart_upload(key="aborted")
    other.put_part(b"x", part_number=1, content_length=1)
    other.abort()
    other.abort()
    assert session.get("aborted") is None


def test_http_staging_sits_in_the_server_root(objectstore_server: Any, session: Any) -> None:
    upload = session.initiate_multipart_upload(key="staged")
    upload.put_part(b"x", part_number=1, content_length=1)
    (staged,) = part_files(Path(objectstore_server.path))
    assert staged.read_bytes() == b"x"
    upload.abort()
    assert part_files(Path(objectstore_server.path)) == []


class GatedPutBackend(MemoryBackend):
    """``put`` waits until the test allows it, to observe completion in progress."""

    def __init__(self) -> None:
        super().__init__()
        self.allow = threading.Event()

    def put(self, location: ObjectLocation, metadata: ObjectMetadata, body: BodyReader) -> int:
        assert self.allow.wait(10), "the test never allowed the write"
        return super().put(location, metadata, body)


def test_complete_writes_spaces_while_assembling_then_the_json(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(multipart, "KEEPALIVE_SECONDS", 0.01)
    backend = GatedPutBackend()
    harness = Harness(backend)
    upload_id = harness.initiate()
    etag = harness.etag(upload_id, 1, b"x")
    document = json.dumps({"parts": [{"part_number": 1, "etag": etag}]}).encode()
    request = Request(
        "POST",
        f"/v1/objects:multipart:complete/test-usecase/{SCOPE}/obj",
        f"upload_id={upload_id}",
        Headers([("content-type", "application/json")]),
        BytesBody(document),
    )
    response = harness.app.handle(request)
    assert response.status == 200
    chunks = iter(response.body)
    assert next(chunks) == b" "
    backend.allow.set()
    rest = b"".join(chunks)
    assert json.loads(rest.strip()) == {"key": "obj"}
    assert set(rest[: rest.index(b"{")]) <= {0x20}
