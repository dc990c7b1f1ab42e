"""Transport selection, in-process stores, metrics and older-server fallbacks."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from django_objectstore.client import Client, Session, TimeToIdle, Usecase
from django_objectstore.client.transports import HttpTransport, InProcessTransport, embedded_path
from django_objectstore.pytest_plugin import ObjectstoreServer
from django_objectstore.server import (
    AuthConfig,
    Request,
    Response,
    ServerConfig,
    StorageConfig,
    create_app,
)


def test_memory_clients_with_the_same_name_share_a_store() -> None:
    usecase = Usecase("attachments")
    Client("memory://shared-store").session(usecase, org=1).put(b"shared", key="k")
    other = Client("memory://shared-store").session(usecase, org=1)
    assert other.get("k").payload.read() == b"shared"  # type: ignore[union-attr]
    assert Client("memory://another-store").session(usecase, org=1).get("k") is None


def test_embedded_stores_in_the_directory(tmp_path: Path) -> None:
    Client(f"embedded://{tmp_path}").session(Usecase("attachments"), org=1).put(b"disk", key="k")
    assert any(path.is_file() for path in tmp_path.rglob("*"))
    again = Client(f"embedded:{tmp_path}").session(Usecase("attachments"), org=1)
    assert again.get("k").payload.read() == b"disk"  # type: ignore[union-attr]


def test_embedded_url_forms(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert embedded_path("embedded:///abs/dir") == "/abs/dir"
    assert embedded_path("embedded:rel/dir") == str(tmp_path / "rel" / "dir")
    assert embedded_path("embedded:") == str(tmp_path)
    with pytest.raises(ValueError, match="embedded"):
        embedded_path("embedded://host/dir")


def test_http_transport_defaults(objectstore_server: ObjectstoreServer) -> None:
    client = Client(str(objectstore_server), timeout_ms=2500)
    transport = client.transport
    assert isinstance(transport, HttpTransport)
    timeout = transport.pool.timeout
    assert timeout.connect_timeout == 10.0
    assert timeout.read_timeout == 2.5
    assert transport.pool.pool is not None and transport.pool.pool.maxsize == 10
    assert transport.pool.block is False
    custom = Client(str(objectstore_server), connection_kwargs={"maxsize": 3})
    assert custom.transport.pool.pool.maxsize == 3  # type: ignore[attr-defined]
    custom.transport.ensure_pool_size(8)  # type: ignore[attr-defined]
    assert custom.transport.pool.pool.maxsize == 8  # type: ignore[attr-defined]


def test_base_url_with_trailing_slash(objectstore_server: ObjectstoreServer) -> None:
    session = Client(str(objectstore_server) + "/").session(Usecase("attachments"), org=3)
    session.put(b"slash", key="k")
    assert session.get("k").payload.read() == b"slash"  # type: ignore[union-attr]
    assert session.object_url("k") == f"{objectstore_server}/v1/objects/attachments/org=3/k"


class NoPatchApp:
    """A server from before PATCH existed: 405 for PATCH, counted."""

    def __init__(self) -> None:
        self.app = create_app(
            ServerConfig(storage=StorageConfig(type="memory"), auth=AuthConfig(enforce=False))
        )
        self.patches = 0
        self.heads = 0

    def handle(self, request: Request) -> Response:
        if request.method == "PATCH":
            self.patches += 1
            return Response(405)
        self.heads += request.method == "HEAD"
        return self.app.handle(request)


def test_keepalive_falls_back_to_head_on_servers_without_patch() -> None:
    app = NoPatchApp()
    client = Client("memory://old", transport=InProcessTransport("memory://old", app))  # type: ignore[arg-type]
    session = client.session(Usecase("attachments", expiration_policy=TimeToIdle(timedelta(1))))
    session.put(b"x", key="k")
    assert session.keepalive("k") is True
    assert session.keepalive("k") is True
    assert session.keepalive("missing") is False
    assert app.patches == 1  # remembered: later keepalives go straight to HEAD
    assert app.heads == 3


class Recorder:
    def __init__(self) -> None:
        self.records: list[tuple[str, float, dict[str, str], str | None]] = []

    def increment(self, name: str, value: float = 1, tags: Any = None) -> None:
        self.records.append((name, value, dict(tags or {}), None))

    def gauge(self, name: str, value: float, tags: Any = None) -> None:
        self.records.append((name, value, dict(tags or {}), None))

    def distribution(self, name: str, value: float, tags: Any = None, unit: Any = None) -> None:
        self.records.append((name, value, dict(tags or {}), unit))

    def named(self, name: str) -> list[tuple[str, float, dict[str, str], str | None]]:
        return [record for record in self.records if record[0] == name]


def test_metrics_report_latency_sizes_and_compression_ratio() -> None:
    recorder = Recorder()
    client = Client("memory://metrics", metrics_backend=recorder)
    session = client.session(Usecase("attachments"), org=1)
    data = b"a" * 100_000
    session.put(data, key="k")
    sizes = {record[2]["compression"]: record[1] for record in recorder.named("storage.put.size")}
    assert sizes["none"] == 100_000
    assert 0 < sizes["zstd"] < 1000
    (ratio,) = recorder.named("storage.put.compression_ratio")
    assert ratio[1] == sizes["zstd"] / 100_000
    assert ratio[2] == {"usecase": "attachments", "compression": "zstd"}
    assert len(recorder.named("storage.put.throughput")) == 2
    session.get("k").payload.close()  # type: ignore[union-attr]
    session.head("k")
    session.delete("k")
    for op in ("put", "get", "head", "delete"):
        (latency,) = recorder.named(f"storage.{op}.latency")
        assert latency[1] >= 0 and latency[2] == {"usecase": "attachments"}


def test_metrics_record_latency_of_failed_calls() -> None:
    recorder = Recorder()
    session = Client("memory://metrics-fail", metrics_backend=recorder).session(
        Usecase("attachments")
    )
    with pytest.raises(Exception, match="404"):
        session.extend_expiry("missing", from_now=timedelta(1))
    assert len(recorder.named("storage.extend_expiry.latency")) == 1


def test_uncompressed_put_of_bytes_sends_content_length(tmp_path: Path) -> None:
    seen: list[list[tuple[str, str]]] = []

    class Recording:
        def __init__(self) -> None:
            self.app = create_app(
                ServerConfig(storage=StorageConfig(type="memory"), auth=AuthConfig(enforce=False))
            )

        def handle(self, request: Request) -> Response:
            seen.append(list(request.headers))
            return self.app.handle(request)

    transport = InProcessTransport("memory://cl", Recording())  # type: ignore[arg-type]
    session = Client("memory://cl", transport=transport).session(Usecase("attachments"))
    session.put(b"12345", key="k", compression="none")
    assert ("content-length", "5") in seen[-1]
    session.put(b"compress me " * 100, key="k")
    assert ("content-encoding", "zstd") in seen[-1]


def test_session_repr_and_usecase_string(objectstore_server: ObjectstoreServer) -> None:
    session: Session = Client(str(objectstore_server)).session("attachments", org=1)
    assert session.usecase.name == "attachments"
    assert "attachments/org=1/" in repr(session)


def test_propagate_traces_adds_sentry_headers() -> None:
    import sentry_sdk

    seen: list[dict[str, str]] = []

    class Recording:
        def __init__(self) -> None:
            self.app = create_app(
                ServerConfig(storage=StorageConfig(type="memory"), auth=AuthConfig(enforce=False))
            )

        def handle(self, request: Request) -> Response:
            seen.append(dict(request.headers))
            return self.app.handle(request)

    transport = InProcessTransport("memory://traces", Recording())  # type: ignore[arg-type]
    client = Client("memory://traces", propagate_traces=True, transport=transport)
    sentry_sdk.init(traces_sample_rate=1.0)
    try:
        with sentry_sdk.start_transaction(name="t"):
            client.session(Usecase("attachments")).head("k")
    finally:
        # Back to no client at all, as before the test: a recording client left behind
        # makes the official client's tracing warn in later tests of the process.
        sentry_sdk.get_global_scope().set_client(None)
    assert "sentry-trace" in seen[-1]


def test_session_batch_delegates_to_the_batch_runner() -> None:
    from django_objectstore.client import Get, Head, Put

    session = Client("memory://batch-delegation").session(Usecase("attachments"), org=1)
    results = list(session.batch([Put(b"one", key="a"), Head("a")], concurrency=1))
    assert all(result.ok for result in results)
    (get,) = list(session.batch([Get("a")]))
    assert get.payload == b"one"
