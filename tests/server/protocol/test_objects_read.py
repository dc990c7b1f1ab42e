"""GET, HEAD and DELETE (protocol.md §3.2-3.4, ranges per protocol-advanced.md §4)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest

from django_objectstore.server.app import create_app
from django_objectstore.server.backends.memory import MemoryUploadStore
from django_objectstore.server.backends.records import ObjectLocation, ObjectMetadata
from django_objectstore.server.messages import BodyReader, Headers, Request
from tests.server.harness import BACKENDS, BASE, Harness, make_backend

BODY = bytes(range(256)) * 4  # 1024 bytes


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Harness:
    store = Harness(backend=make_backend(request.param, tmp_path))
    store.put("obj", BODY, x_sn_filename="a.bin")
    return store


def test_get_missing_returns_404_empty(store: Harness) -> None:
    result = store.get("missing")
    assert (result.status, result.body) == (404, b"")


def test_head_missing_returns_404_empty(store: Harness) -> None:
    result = store.head("missing")
    assert (result.status, result.body) == (404, b"")


def test_delete_of_missing_object_returns_204(store: Harness) -> None:
    result = store.request("DELETE", f"{BASE}/missing")
    assert (result.status, result.body) == (204, b"")


def test_delete_removes_the_object(store: Harness) -> None:
    assert store.request("DELETE", f"{BASE}/obj").status == 204
    assert store.get("obj").status == 404


def test_delete_ignores_the_request_body(store: Harness) -> None:
    class ExplodingBody:
        def read(self, n: int = -1, /) -> bytes:
            raise AssertionError("DELETE must not read a body")

    response = store.app.handle(Request("DELETE", f"{BASE}/obj", "", Headers(), ExplodingBody()))
    assert response.status == 204


def test_get_returns_exact_bytes_with_length_and_size(store: Harness) -> None:
    result = store.get("obj")
    assert result.status == 200
    assert result.body == BODY
    assert result.header("content-length") == "1024"
    assert result.header("x-sn-size") == "1024"
    assert result.header("accept-ranges") == "bytes"
    assert "content-range" not in result.names


def test_head_returns_200_with_get_headers_and_no_body(store: Harness) -> None:
    head, get = store.head("obj"), store.get("obj")
    assert head.status == 200
    assert head.body == b""
    assert head.header("content-length") == "1024"
    assert head.header("x-sn-size") == "1024"
    assert head.headers == get.headers


def test_empty_object_round_trips(store: Harness) -> None:
    store.put("empty", b"")
    result = store.get("empty")
    assert (result.status, result.body, result.header("content-length")) == (200, b"", "0")
    assert store.head("empty").header("x-sn-size") == "0"


def test_accept_encoding_is_ignored(store: Harness) -> None:
    plain = store.get("obj", headers=[("accept-encoding", "zstd, gzip")])
    assert plain.body == BODY
    assert "content-encoding" not in plain.names


@pytest.mark.parametrize(
    "header, start, end",
    [
        ("bytes=0-9", 0, 9),
        ("bytes=1000-", 1000, 1023),
        ("bytes=1000-5000", 1000, 1023),
        ("bytes=-24", 1000, 1023),
        ("bytes=-5000", 0, 1023),
        ("BYTES=5-5", 5, 5),
    ],
)
def test_single_range_returns_206(store: Harness, header: str, start: int, end: int) -> None:
    result = store.get("obj", headers=[("range", header)])
    assert result.status == 206
    assert result.body == BODY[start : end + 1]
    assert result.header("content-range") == f"bytes {start}-{end}/1024"
    assert result.header("content-length") == str(end - start + 1)
    assert result.header("x-sn-size") == "1024"
    assert result.header("accept-ranges") == "bytes"
    assert result.header("content-disposition") == 'attachment; filename="a.bin"'


@pytest.mark.parametrize("header", ["bytes=1024-", "bytes=5000-6000"])
def test_unsatisfiable_range_returns_416(store: Harness, header: str) -> None:
    result = store.get("obj", headers=[("range", header)])
    assert result.status == 416
    assert result.body == b""
    assert result.header("content-range") == "bytes */1024"
    assert result.header("accept-ranges") == "bytes"


def test_any_range_of_an_empty_object_is_unsatisfiable(store: Harness) -> None:
    store.put("empty", b"")
    for header in ("bytes=0-", "bytes=-1", "bytes=0-0"):
        result = store.get("empty", headers=[("range", header)])
        assert (result.status, result.header("content-range")) == (416, "bytes */0")


def test_multiple_ranges_are_ignored(store: Harness) -> None:
    result = store.get("obj", headers=[("range", "bytes=0-1,5-6")])
    assert (result.status, result.body) == (200, BODY)


@pytest.mark.parametrize(
    "header", ["items=0-10", "bytes=abc-def", "bytes=5-1", "bytes=-0", "bytes=5", "bytes= 0-1",
               "bytes=0-1é", "bytes", "bytes=-"]
)  # fmt: skip
def test_malformed_range_returns_400_json(store: Harness, header: str) -> None:
    result = store.get("obj", headers=[("range", header)])
    assert result.status == 400
    assert result.header("content-type") == "application/json"


def test_malformed_range_on_missing_object_is_still_400(store: Harness) -> None:
    assert store.get("missing", headers=[("range", "bytes=9-1")]).status == 400


def test_range_on_missing_object_returns_404(store: Harness) -> None:
    assert store.get("missing", headers=[("range", "bytes=0-1")]).status == 404


def test_range_of_zstd_object_slices_the_stored_bytes(store: Harness) -> None:
    import zstandard

    compressed = zstandard.ZstdCompressor().compress(b"abc" * 1000)
    store.request("PUT", f"{BASE}/z", headers=[("content-encoding", "zstd")], body=compressed)
    result = store.get("z", headers=[("range", "bytes=0-3")])
    assert result.body == compressed[:4]
    assert result.header("content-encoding") == "zstd"
    assert result.header("content-range") == f"bytes 0-3/{len(compressed)}"


def test_head_ignores_range(store: Harness) -> None:
    head = store.request("HEAD", f"{BASE}/obj", headers=[("range", "bytes=0-1")])
    assert (head.status, head.header("content-length")) == (200, "1024")


class TrackingObject:
    """A stored object that records whether it was closed and how far it was read."""

    def __init__(self, size: int) -> None:
        self.metadata = ObjectMetadata()
        self.size = size
        self.closed = False
        self.chunks_read = 0

    def iter_bytes(self, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        end = self.size if end is None else end
        for offset in range(start, end, 65536):
            self.chunks_read += 1
            yield b"\0" * min(65536, end - offset)

    def close(self) -> None:
        self.closed = True


class TrackingBackend:
    """Serves one :class:`TrackingObject` for every key; nothing else is needed here."""

    def __init__(self, tracked: TrackingObject) -> None:
        self.tracked = tracked
        self.uploads = MemoryUploadStore()

    def put(self, location: ObjectLocation, metadata: ObjectMetadata, body: BodyReader) -> int:
        raise NotImplementedError

    def get(self, location: ObjectLocation) -> TrackingObject:
        return self.tracked

    def update_metadata(
        self,
        location: ObjectLocation,
        update: Callable[[ObjectMetadata], ObjectMetadata | None],
    ) -> ObjectMetadata | None:
        raise NotImplementedError

    def delete(self, location: ObjectLocation) -> None:
        raise NotImplementedError

    def sweep(self, now: datetime) -> int:
        raise NotImplementedError


def _serve_tracking(store: Harness, size: int) -> TrackingObject:
    tracked = TrackingObject(size)
    store.app = create_app(store.config, clock=store.clock, backend=TrackingBackend(tracked))
    return tracked


def test_get_streams_without_reading_ahead_and_closes_on_early_close(store: Harness) -> None:
    tracked = _serve_tracking(store, 1 << 30)  # 1 GiB, never materialized
    response = store.app.handle(Request("GET", f"{BASE}/big"))
    assert response.header("content-length") == str(1 << 30)
    chunks = iter(response.body)
    assert len(next(chunks)) == 65536
    assert tracked.chunks_read == 1
    assert not tracked.closed
    response.close()
    assert tracked.closed


def test_get_body_closes_the_object_when_exhausted(store: Harness) -> None:
    tracked = _serve_tracking(store, 200_000)
    response = store.app.handle(Request("GET", f"{BASE}/big"))
    assert sum(len(chunk) for chunk in response.body) == 200_000
    assert tracked.closed


def test_head_and_416_close_the_object_immediately(store: Harness) -> None:
    tracked = _serve_tracking(store, 10)
    store.app.handle(Request("HEAD", f"{BASE}/big"))
    assert tracked.closed
    tracked = _serve_tracking(store, 10)
    store.app.handle(Request("GET", f"{BASE}/big", headers=Headers([("range", "bytes=50-")])))
    assert tracked.closed


def test_backend_failure_returns_500_json(store: Harness) -> None:
    def failing(location: ObjectLocation) -> None:
        raise OSError("disk on fire")

    store.backend.get = failing  # type: ignore[method-assign]
    result = store.get("obj")
    assert result.status == 500
    assert result.header("content-type") == "application/json"


def test_client_disconnect_during_upload_propagates_and_keeps_old_object(store: Harness) -> None:
    class DisconnectingBody:
        def __init__(self) -> None:
            self.sent = False

        def read(self, n: int = -1, /) -> bytes:
            if self.sent:
                raise ConnectionResetError("client went away")
            self.sent = True
            return b"partial"

    request = Request("PUT", f"{BASE}/obj", "", Headers(), DisconnectingBody())
    with pytest.raises(ConnectionResetError):
        store.app.handle(request)
    assert store.get("obj").body == BODY
