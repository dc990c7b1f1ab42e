"""ServerThread and the periodic sweep."""

from __future__ import annotations

import json
import socket
import threading
from datetime import timedelta
from pathlib import Path

import pytest
import urllib3

from django_objectstore.server.app import create_app
from django_objectstore.server.backends.tiered import TieredBackend
from django_objectstore.server.clock import OffsetClock
from django_objectstore.server.config import AuthConfig, ServerConfig, StorageConfig
from django_objectstore.server.hosting.runner import ServerThread, Sweeper
from django_objectstore.server.messages import Request, Response


class Ok:
    def handle(self, request: Request) -> Response:
        return Response(200, [("content-length", "2")], [b"ok"])


def test_port_zero_picks_a_free_port_known_after_start() -> None:
    with ServerThread(Ok()) as server:
        assert server.port != 0
        assert server.url == f"http://127.0.0.1:{server.port}"
        assert urllib3.request("GET", server.url + "/", retries=False).data == b"ok"


def test_stop_closes_the_listening_socket() -> None:
    server = ServerThread(Ok()).start()
    port = server.port
    server.stop()
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port)):
        pass


def test_a_port_in_use_is_reported_with_the_address() -> None:
    with (
        ServerThread(Ok()) as server,
        pytest.raises(OSError, match=r"cannot listen on 127\.0\.0\.1"),
    ):
        ServerThread(Ok(), port=server.port).start()


class FakeEngine:
    def __init__(self) -> None:
        self.calls = 0
        self.swept = threading.Event()

    def sweep(self) -> int:
        self.calls += 1
        self.swept.set()
        return 1


class EngineApp(Ok):
    def __init__(self) -> None:
        self.engine = FakeEngine()


def test_sweeper_calls_engine_sweep_periodically() -> None:
    app = EngineApp()
    with ServerThread(app, sweep_interval=0.01):
        assert app.engine.swept.wait(5)
    assert app.engine.calls >= 1


def test_sweeper_without_an_engine_sweep_does_nothing() -> None:
    assert Sweeper(Ok(), 1).sweep_once() == 0


def test_sweeper_survives_a_failing_sweep() -> None:
    class Failing:
        def sweep(self) -> int:
            raise OSError("disk gone")

    app = Ok()
    app.engine = Failing()  # type: ignore[attr-defined]
    assert Sweeper(app, 1).sweep_once() == 0


def test_sweep_interval_defaults_to_the_app_config(tmp_path: Path) -> None:
    config = ServerConfig(
        storage=StorageConfig(type="memory"),
        auth=AuthConfig(enforce=False),
        sweep_interval=timedelta(seconds=42),
    )
    server = ServerThread(create_app(config, clock=OffsetClock()))
    assert server.sweeper.interval == 42.0
    assert ServerThread(Ok()).sweeper.interval == 0.0


def test_sweep_removes_expired_objects_from_disk(tmp_path: Path) -> None:
    clock = OffsetClock()
    config = ServerConfig(
        storage=StorageConfig(type="filesystem", path=str(tmp_path)),
        auth=AuthConfig(enforce=False),
    )
    app = create_app(config, clock=clock)
    with ServerThread(app, sweep_interval=0) as server:
        url = server.url + "/v1/objects/sweep-test/_/k"
        headers = {"x-sn-expiration": "ttl:1h"}
        assert urllib3.request("PUT", url, body=b"v", headers=headers).status == 200
        stored = TieredBackend(tmp_path, fsync=False)
        before = list(stored.iter_objects("sweep-test"))
        clock.advance(timedelta(hours=2))
        assert server.sweeper.sweep_once() == 1
        after = list(stored.iter_objects("sweep-test"))
        stored.close()
    assert before
    assert not after


def test_sweeper_removes_multipart_uploads_abandoned_for_a_week() -> None:
    clock = OffsetClock()
    app = create_app(
        ServerConfig(storage=StorageConfig(type="memory"), auth=AuthConfig(enforce=False)),
        clock=clock,
    )
    started = app.handle(Request("PUT", "/v1/objects:multipart/usecase/_/big"))
    assert started.status == 200
    upload_id = json.loads(b"".join(started.body))["upload_id"]
    parts = "/v1/objects:multipart:parts/usecase/_/big"
    assert app.handle(Request("GET", parts, query=f"upload_id={upload_id}")).status == 200

    clock.advance(timedelta(days=8))
    assert Sweeper(app, 1).sweep_once() >= 1
    assert app.handle(Request("GET", parts, query=f"upload_id={upload_id}")).status == 404
