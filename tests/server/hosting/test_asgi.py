"""The ASGI adapter over real HTTP (uvicorn on loopback), with small stand-in cores."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import urllib3

from django_objectstore.server.app import App, create_app
from django_objectstore.server.config import AuthConfig, ServerConfig, StorageConfig
from django_objectstore.server.hosting.runner import ServerThread, never_blocks
from django_objectstore.server.messages import Request, Response

MIB = 1024 * 1024


class EchoCore:
    """Answers with what it received: method, raw path, raw query, headers, body size."""

    def __init__(self) -> None:
        self.reads: list[int] = []

    def handle(self, request: Request) -> Response:
        total = 0
        while chunk := request.body.read(8 * MIB):
            self.reads.append(len(chunk))
            total += len(chunk)
        document = {
            "method": request.method,
            "path": request.path,
            "query": request.query,
            "headers": request.headers.items,
            "size": total,
        }
        body = json.dumps(document).encode()
        return Response(200, [("content-type", "application/json")], [body])


class TrackedBody:
    """A response body streaming ``size`` bytes that records how far it got and closing."""

    def __init__(self, size: int, chunk: int = 64 * 1024) -> None:
        self.size = size
        self.chunk = chunk
        self.produced = 0
        self.closed = threading.Event()

    def __iter__(self) -> Iterator[bytes]:
        block = b"x" * self.chunk
        while self.produced < self.size:
            self.produced += self.chunk
            yield block

    def close(self) -> None:
        self.closed.set()


class StreamCore:
    def __init__(self, size: int) -> None:
        self.size = size
        self.bodies: list[TrackedBody] = []

    def handle(self, request: Request) -> Response:
        body = TrackedBody(self.size)
        self.bodies.append(body)
        return Response(200, [("content-length", str(self.size))], body)


@pytest.fixture
def echo() -> Iterator[tuple[EchoCore, str]]:
    core = EchoCore()
    with ServerThread(core) as server:
        yield core, server.url


@pytest.fixture
def http() -> Iterator[urllib3.PoolManager]:
    with urllib3.PoolManager(retries=False) as manager:
        yield manager


def test_header_names_with_underscore_reach_the_core(
    echo: tuple[EchoCore, str], http: urllib3.PoolManager
) -> None:
    _, url = echo
    response = http.request("GET", url + "/x", headers={"x-snme-my_key": "v", "X-Snme-Dash": "d"})
    headers = dict(response.json()["headers"])
    assert headers["x-snme-my_key"] == "v"
    assert headers["x-snme-dash"] == "d"


def test_raw_path_and_query_keep_their_percent_encoding(
    echo: tuple[EchoCore, str], http: urllib3.PoolManager
) -> None:
    _, url = echo
    target = "/v1/objects/u/org=1/a%2Fb/looks%2520encoded?os_kid=my%20kid&b=%2F"
    document = http.request("GET", url + target).json()
    assert document["path"] == "/v1/objects/u/org=1/a%2Fb/looks%2520encoded"
    assert document["query"] == "os_kid=my%20kid&b=%2F"


def test_small_and_chunked_bodies_arrive_whole(
    echo: tuple[EchoCore, str], http: urllib3.PoolManager
) -> None:
    _, url = echo
    small = http.request("PUT", url + "/s", body=b"a" * 1000).json()
    chunked = http.request("PUT", url + "/c", body=iter([b"b" * 70_000] * 5), chunked=True).json()
    assert small["size"] == 1000
    assert chunked["size"] == 350_000


def test_large_upload_is_streamed_not_buffered(
    echo: tuple[EchoCore, str], http: urllib3.PoolManager
) -> None:
    core, url = echo
    size = 48 * MIB
    block = b"z" * MIB
    document = http.request(
        "PUT", url + "/big", body=(block for _ in range(size // MIB)), chunked=True
    ).json()
    assert document["size"] == size
    # The core asked for 8 MiB at a time but got the body in small pieces as it arrived.
    assert len(core.reads) > 16
    assert max(core.reads) < 4 * MIB


def test_large_upload_with_content_length_is_streamed(
    echo: tuple[EchoCore, str], http: urllib3.PoolManager
) -> None:
    core, url = echo
    size = 16 * MIB
    document = http.request(
        "PUT",
        url + "/big",
        body=(b"q" * MIB for _ in range(16)),
        headers={"content-length": str(size)},
    ).json()
    assert document["size"] == size
    assert max(core.reads) < 4 * MIB


def test_download_is_streamed_and_closed_when_done(http: urllib3.PoolManager) -> None:
    core = StreamCore(64 * MIB)
    with ServerThread(core) as server:
        response = http.request("GET", server.url + "/d", preload_content=False)
        first = response.read(MIB)
        produced_early = core.bodies[0].produced
        rest = sum(len(chunk) for chunk in response.stream(MIB))
        response.release_conn()
        assert len(first) + rest == 64 * MIB
        # The core had produced only a fraction when the client had read 1 MiB.
        assert produced_early < 32 * MIB
        assert core.bodies[0].closed.wait(5)


def test_client_disconnect_during_download_closes_the_response() -> None:
    core = StreamCore(1024 * MIB)
    with ServerThread(core) as server:
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(b"GET /d HTTP/1.1\r\nhost: x\r\n\r\n")
            assert sock.recv(65536)
        assert core.bodies[0].closed.wait(5)
        assert core.bodies[0].produced < 1024 * MIB


def test_client_disconnect_during_upload_raises_in_the_core() -> None:
    failures: list[BaseException] = []
    done = threading.Event()

    class ReadingCore:
        def handle(self, request: Request) -> Response:
            try:
                while request.body.read(65536):
                    pass
            except ConnectionError as error:
                failures.append(error)
            finally:
                done.set()
            return Response(200)

    with ServerThread(ReadingCore()) as server:
        with socket.create_connection(("127.0.0.1", server.port)) as sock:
            sock.sendall(b"PUT /u HTTP/1.1\r\nhost: x\r\ncontent-length: 10000000\r\n\r\n")
            sock.sendall(b"x" * 500_000)
        assert done.wait(5)
    assert failures and isinstance(failures[0], ConnectionError)


def test_core_exception_becomes_500(http: urllib3.PoolManager) -> None:
    class BrokenCore:
        def handle(self, request: Request) -> Response:
            raise RuntimeError("boom")

    with ServerThread(BrokenCore()) as server:
        response = http.request("GET", server.url + "/x")
    assert response.status == 500


def test_response_headers_go_out_lowercase_with_server_header(
    echo: tuple[EchoCore, str], http: urllib3.PoolManager
) -> None:
    _, url = echo
    response = http.request("GET", url + "/x")
    names = [name for name, _ in response.headers.items()]
    assert "content-type" in names
    assert response.headers["server"].startswith("objectstore/")


def test_connections_are_kept_alive(echo: tuple[EchoCore, str]) -> None:
    _, url = echo
    with urllib3.PoolManager(maxsize=1, block=True) as manager:
        for _ in range(3):
            assert manager.request("GET", url + "/k").status == 200
        pool = manager.connection_from_url(url)
        assert pool.num_connections == 1
        assert pool.num_requests == 3


def test_inline_mode_runs_small_requests_and_still_streams_uploads(
    http: urllib3.PoolManager,
) -> None:
    core = EchoCore()
    with ServerThread(core, inline=True) as server:
        assert server.adapter.inline
        small = http.request("PUT", server.url + "/s", body=b"a" * 10, timeout=10).json()
        big = http.request(
            "PUT", server.url + "/b", body=(b"b" * MIB for _ in range(8)), chunked=True, timeout=10
        ).json()
    assert small["size"] == 10
    assert big["size"] == 8 * MIB


def test_inline_mode_streams_downloads(http: urllib3.PoolManager) -> None:
    core = StreamCore(8 * MIB)
    with ServerThread(core, inline=True) as server:
        response = http.request("GET", server.url + "/d", timeout=10)
    assert len(response.data) == 8 * MIB
    assert core.bodies[0].closed.is_set()


def test_memory_backend_apps_run_inline_and_filesystem_apps_do_not(tmp_path: Path) -> None:
    def app(storage: StorageConfig) -> App:
        return create_app(ServerConfig(storage=storage, auth=AuthConfig(enforce=False)))

    assert never_blocks(app(StorageConfig(type="memory")))
    assert not never_blocks(app(StorageConfig(type="filesystem", path=str(tmp_path))))
    assert not never_blocks(EchoCore())


@pytest.mark.parametrize("inline", [False, True])
def test_list_bodies_of_many_chunks_are_sent_once_in_order(
    http: urllib3.PoolManager, inline: bool
) -> None:
    parts = [bytes([65 + i]) * 100_000 for i in range(6)]

    class ListCore:
        def handle(self, request: Request) -> Response:
            return Response(200, [("content-length", str(600_000))], parts)

    with ServerThread(ListCore(), inline=inline) as server:
        response = http.request("GET", server.url + "/l", timeout=10)
    assert response.data == b"".join(parts)
