"""``POST /v1/objects:batch/{U}/{S}/`` (protocol-advanced.md §1)."""

from __future__ import annotations

import io
import json
import re
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import urllib3

from django_objectstore.server.app import App, create_app
from django_objectstore.server.auth.authenticator import AuthContext, Authenticator
from django_objectstore.server.backends.base import Backend
from django_objectstore.server.backends.memory import MemoryBackend, MemoryObject
from django_objectstore.server.backends.records import ObjectLocation
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

PATH = "/v1/objects:batch/test-usecase/org=42;project=1337/"
OBJECTS = "/v1/objects/test-usecase/org=42;project=1337"
SCOPES = (("org", "42"), ("project", "1337"))
START = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.value = START

    def now(self) -> datetime:
        return self.value


Op = tuple[list[tuple[str, str]], bytes]


def op(kind: str, key: str | None = None, body: bytes = b"", **headers: str) -> Op:
    pairs = [("content-disposition", 'form-data; name="part"'), ("x-sn-batch-operation-kind", kind)]
    if key is not None:
        pairs.append(("x-sn-batch-operation-key", key))
    pairs.extend((name.replace("_", "-"), value) for name, value in headers.items())
    return pairs, body


def encode(ops: list[Op], boundary: str = "test-boundary") -> bytes:
    out = []
    for headers, body in ops:
        out.append(f"--{boundary}\r\n".encode())
        out.extend(f"{name}: {value}\r\n".encode() for name, value in headers)
        out.append(b"\r\n" + body + b"\r\n")
    out.append(f"--{boundary}--\r\n".encode())
    return b"".join(out)


@dataclass
class Part:
    headers: dict[str, str]
    names: list[str]
    body: bytes

    @property
    def index(self) -> int:
        return int(self.headers["x-sn-batch-operation-index"])

    @property
    def status(self) -> int:
        return int(self.headers["x-sn-batch-operation-status"].split(" ", 1)[0])


def parse_response(content_type: str, body: bytes) -> list[Part]:
    """An independent, non-streaming parser of the response framing."""
    match = re.fullmatch(
        r'multipart/form-data; boundary="(os-boundary-[0-9a-f]{32})"', content_type
    )
    assert match, content_type
    boundary = match[1].encode()
    assert body.endswith(b"--" + boundary + b"--"), body[-80:]
    chunks = body[: -len(boundary) - 4].split(b"--" + boundary + b"\r\n")
    assert chunks[0] == b""
    parts = []
    for chunk in chunks[1:]:
        head, _, payload = chunk.partition(b"\r\n\r\n")
        assert payload.endswith(b"\r\n")
        lines = [line.decode() for line in head.split(b"\r\n")]
        pairs = [line.split(": ", 1) for line in lines]
        parts.append(Part(dict(pairs), [name for name, _ in pairs], payload[:-2]))
    return parts


class Harness:
    def __init__(self, backend: Backend | None = None, config: ServerConfig | None = None) -> None:
        self.clock = Clock()
        self.config = config or ServerConfig(auth=AuthConfig(enforce=False))
        self.app: App = create_app(
            self.config, clock=self.clock, backend=backend or MemoryBackend()
        )

    def raw(self, body: BodyReader, content_type: str) -> tuple[int, list[tuple[str, str]], bytes]:
        request = Request("POST", PATH, "", Headers([("content-type", content_type)]), body)
        response = self.app.handle(request)
        try:
            return response.status, response.headers, b"".join(response.body)
        finally:
            response.close()

    def batch(self, ops: list[Op]) -> list[Part]:
        status, headers, body = self.raw(
            BytesBody(encode(ops)), "multipart/form-data; boundary=test-boundary"
        )
        assert status == 200, body
        return parse_response(dict(headers)["content-type"], body)

    def by_index(self, ops: list[Op]) -> dict[int, Part]:
        parts = self.batch(ops)
        indexed = {part.index: part for part in parts}
        assert len(indexed) == len(parts) == len(ops)
        return indexed

    def put(self, key: str, body: bytes, **headers: str) -> None:
        pairs = [(name.replace("_", "-"), value) for name, value in headers.items()]
        request = Request("PUT", f"{OBJECTS}/{key}", "", Headers(pairs), BytesBody(body))
        assert self.app.handle(request).status == 200

    def head(self, key: str) -> dict[str, str]:
        response = self.app.handle(Request("HEAD", f"{OBJECTS}/{key}"))
        assert response.status in (200, 204)
        return dict(response.headers)


@pytest.fixture(params=["memory", "tiered"])
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Harness:
    if request.param == "memory":
        return Harness()
    return Harness(TieredBackend(tmp_path / "store"))


def test_mixed_operations_get_one_part_each_with_their_request_index(harness: Harness) -> None:
    harness.put("existing", b"stored bytes", content_type="text/plain", x_snme_color="blue")
    parts = harness.by_index(
        [
            op("insert", "new", b"inserted", content_type="text/csv", x_sn_expiration="ttl:1d"),
            op("insert", None, b"generated"),
            op("get", "existing"),
            op("get", "missing"),
            op("head", "existing"),
            op("head", "missing"),
            op("delete", "gone"),
            op("frobnicate", "x"),
            op("get"),
        ]
    )
    assert [parts[i].status for i in range(9)] == [201, 201, 200, 404, 204, 404, 204, 400, 400]
    assert parts[0].headers["x-sn-batch-operation-key"] == "new"
    assert parts[0].headers["x-sn-batch-operation-kind"] == "insert"
    generated = parts[1].headers["x-sn-batch-operation-key"].replace("%2D", "-")
    assert str(uuid.UUID(generated)) == generated and uuid.UUID(generated).version == 4
    got = parts[2]
    assert got.body == b"stored bytes"
    assert got.headers["content-type"] == "text/plain"
    assert got.headers["x-snme-color"] == "blue"
    assert got.headers["x-sn-time-created"] == "2026-03-01T12:00:00Z"
    assert got.headers["x-sn-batch-operation-status"] == "200 OK"
    assert parts[3].headers["x-sn-batch-operation-status"] == "404 Not Found"
    assert parts[3].body == b""
    assert parts[4].headers["x-sn-batch-operation-status"] == "204 No Content"
    assert parts[4].headers["content-type"] == "text/plain"
    assert parts[4].body == b""
    assert parts[6].headers["x-sn-batch-operation-kind"] == "delete"
    stored = harness.by_index([op("get", "new"), op("get", generated)])
    assert stored[0].body == b"inserted"
    assert stored[0].headers["x-sn-expiration"] == "ttl:1d"
    assert stored[0].headers["content-type"] == "text/csv"
    assert stored[1].body == b"generated"


def test_parts_carry_content_disposition_and_lowercase_header_names(harness: Harness) -> None:
    harness.put("k", b"v")
    for part in harness.batch([op("get", "k"), op("head", "k"), op("bogus")]):
        assert part.headers["content-disposition"] == "form-data; name=part"
        assert all(name == name.lower() for name in part.names)


def test_error_parts_have_only_index_status_and_disposition_with_a_json_body(
    harness: Harness,
) -> None:
    (part,) = harness.batch([op("unknown-kind", "k")])
    assert sorted(part.names) == [
        "content-disposition",
        "x-sn-batch-operation-index",
        "x-sn-batch-operation-status",
    ]
    assert part.headers["x-sn-batch-operation-status"] == "400 Bad Request"
    detail = json.loads(part.body)["detail"]
    assert detail.startswith("batch error:") and "unknown-kind" in detail


@pytest.mark.parametrize(
    ("ops", "words"),
    [
        ([([("x-sn-batch-operation-key", "k")], b"")], "missing x-sn-batch-operation-kind"),
        ([op("delete")], "missing x-sn-batch-operation-key"),
        ([op("head", "%FF")], "percent-decode"),
        ([op("insert", "k", b"x", content_encoding="gzip")], "metadata error"),
        ([op("insert", "k", b"x", x_sn_expiration="soon")], "metadata error"),
    ],
)
def test_malformed_operations_become_400_parts(harness: Harness, ops: list[Op], words: str) -> None:
    (part,) = harness.batch(ops)
    assert part.status == 400
    assert words in json.loads(part.body)["detail"]


def test_kind_is_matched_case_insensitively_and_echoed_lowercase(harness: Harness) -> None:
    harness.put("k", b"v")
    (part,) = harness.batch([op("GeT", "k")])
    assert part.status == 200
    assert part.headers["x-sn-batch-operation-kind"] == "get"


def test_keys_are_percent_decoded_and_echoed_with_every_non_alphanumeric_byte_escaped(
    harness: Harness,
) -> None:
    parts = harness.by_index(
        [op("insert", "a-b%2Fc", b"1"), op("insert", "caf%C3%A9 100%25", b"2")]
    )
    assert parts[0].headers["x-sn-batch-operation-key"] == "a%2Db%2Fc"
    assert parts[1].headers["x-sn-batch-operation-key"] == "caf%C3%A9%20100%25"
    assert harness.by_index([op("get", "a-b/c")])[0].body == b"1"
    request = Request("GET", f"{OBJECTS}/caf%C3%A9%20100%25")
    assert b"".join(harness.app.handle(request).body) == b"2"


def test_insert_of_exactly_one_mib_is_accepted_and_one_byte_more_is_413(harness: Harness) -> None:
    mib = 1024 * 1024
    parts = harness.by_index(
        [
            op("insert", "exact", b"e" * mib),
            op("insert", "over", b"o" * (mib + 1)),
            op("delete", "z"),
        ]
    )
    assert parts[0].status == 201
    assert parts[1].status == 413
    assert parts[1].headers["x-sn-batch-operation-status"] == "413 Payload Too Large"
    assert "1048576" in json.loads(parts[1].body)["detail"]
    assert parts[2].status == 204
    after = harness.by_index([op("get", "exact"), op("head", "over")])
    assert after[0].status == 200 and len(after[0].body) == mib
    assert after[1].status == 404


def test_operations_beyond_1000_each_get_a_413_part(harness: Harness) -> None:
    ops = [op("delete", f"k{i}") for i in range(1002)]
    parts = harness.by_index(ops)
    assert all(parts[i].status == 204 for i in range(1000))
    assert parts[1000].status == 413 and parts[1001].status == 413
    assert "1000 operations" in json.loads(parts[1001].body)["detail"]
    assert "x-sn-batch-operation-key" not in parts[1000].headers


def test_zero_operations_produce_only_the_closing_delimiter(harness: Harness) -> None:
    status, headers, body = harness.raw(BytesBody(b"--b--\r\n"), "multipart/form-data; boundary=b")
    assert status == 200
    boundary = re.fullmatch(r'multipart/form-data; boundary="(.+)"', dict(headers)["content-type"])
    assert boundary is not None
    assert body == f"--{boundary[1]}--".encode()


def test_response_ends_with_closing_delimiter_without_trailing_crlf(harness: Harness) -> None:
    _, headers, body = harness.raw(
        BytesBody(encode([op("get", "x")])), "multipart/form-data; boundary=test-boundary"
    )
    assert re.fullmatch(
        r'multipart/form-data; boundary="os-boundary-[0-9a-f]{32}"', dict(headers)["content-type"]
    )
    assert body.endswith(b"--") and not body.endswith(b"\r\n")


@pytest.mark.parametrize(
    "content_type",
    [
        'multipart/form-data; boundary="test-boundary"',
        "multipart/form-data; boundary=test-boundary",
    ],
)
def test_quoted_and_unquoted_request_boundaries_parse(harness: Harness, content_type: str) -> None:
    status, headers, body = harness.raw(BytesBody(encode([op("get", "x")])), content_type)
    assert status == 200
    assert parse_response(dict(headers)["content-type"], body)[0].status == 404


@pytest.mark.parametrize(
    "content_type", [None, "multipart/mixed; boundary=test-boundary", "application/octet-stream"]
)
def test_wrong_content_type_is_a_whole_request_400_in_plain_text(
    harness: Harness, content_type: str | None
) -> None:
    headers = Headers([("content-type", content_type)] if content_type else [])
    request = Request("POST", PATH, "", headers, BytesBody(encode([op("get", "x")])))
    response = harness.app.handle(request)
    assert response.status == 400
    assert response.header("content-type") == "text/plain; charset=utf-8"


def test_batch_route_requires_the_trailing_slash(harness: Harness) -> None:
    request = Request("POST", PATH.rstrip("/"), "", Headers(), BytesBody(b""))
    assert harness.app.handle(request).status == 404


def test_a_truncated_body_yields_the_finished_parts_then_a_400_part(harness: Harness) -> None:
    body = encode([op("insert", "ok", b"1")])[: -len("--test-boundary--\r\n")]
    body += b"--test-boundary\r\nx-sn-batch-operation-kind: insert\r\n\r\nunterminated"
    status, headers, raw = harness.raw(
        BytesBody(body), "multipart/form-data; boundary=test-boundary"
    )
    parts = {p.index: p for p in parse_response(dict(headers)["content-type"], raw)}
    assert status == 200
    assert parts[0].status == 201
    assert parts[1].status == 400
    assert "multipart error" in json.loads(parts[1].body)["detail"]


def test_insert_violating_the_usecase_policy_is_a_400_part() -> None:
    expiration = UsecaseExpiration(manual=PolicyRule(allowed=False))
    config = ServerConfig(
        auth=AuthConfig(enforce=False),
        usecases={"test-usecase": UsecaseConfig(expiration=expiration)},
    )
    harness = Harness(config=config)
    parts = harness.by_index(
        [op("insert", "manual", b"x"), op("insert", "ttl", b"y", x_sn_expiration="ttl:1h")]
    )
    assert parts[0].status == 400
    assert "manual" in json.loads(parts[0].body)["detail"]
    assert parts[1].status == 201


class DenyDelete(AuthContext):
    def require(self, permission: str, location: ObjectLocation) -> None:
        if permission == "object.delete":
            raise ProtocolError(403, "auth error: operation not allowed")


class DenyDeleteAuthenticator(Authenticator):
    def authenticate(self, request: Request) -> AuthContext:
        return DenyDelete()


def test_permission_is_checked_per_operation() -> None:
    harness = Harness()
    harness.app.auth = DenyDeleteAuthenticator(harness.config.auth)
    harness.put("keep", b"v")
    parts = harness.by_index([op("delete", "keep"), op("get", "keep"), op("insert", "n", b"1")])
    assert parts[0].status == 403
    assert parts[0].headers["x-sn-batch-operation-status"] == "403 Forbidden"
    assert parts[1].status == 200 and parts[1].body == b"v"
    assert parts[2].status == 201


def test_batch_get_and_head_hide_expired_objects() -> None:
    harness = Harness()
    harness.put("short", b"v", x_sn_expiration="ttl:1m")
    harness.clock.value += timedelta(minutes=2)
    parts = harness.by_index([op("get", "short"), op("head", "short")])
    assert parts[0].status == 404 and parts[1].status == 404


def test_batch_get_counts_as_a_read_and_renews_tti() -> None:
    harness = Harness()
    harness.put("idle", b"v", x_sn_expiration="tti:1h")
    harness.clock.value += timedelta(minutes=50)
    (part,) = harness.batch([op("get", "idle")])
    assert part.headers["x-sn-time-expires"] == "2026-03-01T13:00:00Z"
    assert harness.head("idle")["x-sn-time-expires"] == "2026-03-01T13:50:00Z"


class GatedBackend(MemoryBackend):
    """Writing ``slow`` waits until ``fast`` has been read."""

    def __init__(self) -> None:
        super().__init__()
        self.fast_read = threading.Event()

    def get(self, location: ObjectLocation) -> MemoryObject | None:
        found = super().get(location)
        if location.key == "fast":
            self.fast_read.set()
        return found

    def put(self, location: ObjectLocation, metadata: object, body: BodyReader) -> int:
        if location.key == "slow":
            assert self.fast_read.wait(10), "the later read never ran"
        return super().put(location, metadata, body)  # type: ignore[arg-type]


def test_parts_are_emitted_in_completion_order_with_request_indices() -> None:
    harness = Harness(GatedBackend())
    parts = harness.batch([op("insert", "slow", b"s"), op("get", "fast")])
    assert [(p.index, p.status) for p in parts] == [(1, 404), (0, 201)]
    assert parts[0].headers["x-sn-batch-operation-key"] == "fast"
    assert parts[1].headers["x-sn-batch-operation-key"] == "slow"


class CountingBody:
    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)
        self.consumed = 0

    def read(self, n: int = -1, /) -> bytes:
        chunk = self._data.read(min(n, 8192) if n >= 0 else 8192)
        self.consumed += len(chunk)
        return chunk


def test_request_body_is_read_lazily_while_results_stream_out() -> None:
    harness = Harness()
    data = encode([op("insert", f"k{i}", b"x" * 10_000) for i in range(300)])
    body = CountingBody(data)
    request = Request(
        "POST",
        PATH,
        "",
        Headers([("content-type", "multipart/form-data; boundary=test-boundary")]),
        body,
    )
    response = harness.app.handle(request)
    chunks: Iterator[bytes] = iter(response.body)
    first = next(chunks)
    assert first.startswith(b"--os-boundary-")
    assert body.consumed < len(data) // 2
    rest = b"".join(chunks)
    assert body.consumed == len(data)
    assert rest.count(b"201 Created") + first.count(b"201 Created") == 300


def test_batch_over_http_through_the_test_server(objectstore_server: str) -> None:
    http = urllib3.PoolManager()
    base = f"{objectstore_server}/v1/objects:batch/{'batch-http'}/org=1/"
    ops = [op("insert", "a/b", b"payload", content_type="text/plain"), op("bogus")]
    ops += [op("insert", f"n{i}", bytes([i]) * 1000) for i in range(50)]
    response = http.request(
        "POST",
        base,
        body=encode(ops),
        headers={"content-type": "multipart/form-data; boundary=test-boundary"},
    )
    assert response.status == 200
    parts = {p.index: p for p in parse_response(response.headers["content-type"], response.data)}
    assert len(parts) == 52
    assert parts[0].status == 201 and parts[1].status == 400
    got = http.request(
        "POST",
        base,
        body=encode([op("get", "a%2Fb")]),
        headers={"content-type": "multipart/form-data; boundary=test-boundary"},
    )
    (part,) = parse_response(got.headers["content-type"], got.data)
    assert part.body == b"payload"
    assert part.headers["content-type"] == "text/plain"
    assert part.headers["x-sn-batch-operation-key"] == "a%2Fb"
