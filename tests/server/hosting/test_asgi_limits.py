"""Header limits and early flushing of the ASGI adapter, over real HTTP."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
import urllib3

from django_objectstore.server.hosting.runner import ServerThread
from django_objectstore.server.messages import FLUSH, Request, Response


class CountingCore:
    def __init__(self) -> None:
        self.calls = 0

    def handle(self, request: Request) -> Response:
        self.calls += 1
        return Response(200, [("content-length", "2")], [b"ok"])


@pytest.fixture
def counting() -> Iterator[tuple[CountingCore, str]]:
    core = CountingCore()
    with ServerThread(core) as server:
        yield core, server.url


def test_more_than_100_request_headers_get_431_before_the_core_runs(
    counting: tuple[CountingCore, str],
) -> None:
    core, url = counting
    headers = {f"x-snme-k{i}": "v" for i in range(101)}
    response = urllib3.request("PUT", f"{url}/v1/objects/usecase/_/key", headers=headers, body=b"x")
    assert response.status == 431
    assert core.calls == 0


def test_header_bytes_beyond_the_limit_get_431(counting: tuple[CountingCore, str]) -> None:
    core, url = counting
    headers = {"x-snme-big": "a" * (401 * 1024)}
    response = urllib3.request("PUT", f"{url}/v1/objects/usecase/_/key", headers=headers, body=b"x")
    assert response.status == 431
    assert core.calls == 0


def test_requests_within_the_limits_reach_the_core(counting: tuple[CountingCore, str]) -> None:
    core, url = counting
    headers = {f"x-snme-k{i}": "v" * 1000 for i in range(90)}
    response = urllib3.request("PUT", f"{url}/v1/objects/usecase/_/key", headers=headers, body=b"x")
    assert response.status == 200
    assert core.calls == 1


class FlushingCore:
    """Sends one byte, flushes, then waits until the test saw that byte."""

    def __init__(self) -> None:
        self.seen = threading.Event()

    def handle(self, request: Request) -> Response:
        def body() -> Iterator[bytes]:
            yield b" "
            yield FLUSH
            if not self.seen.wait(10):
                raise AssertionError("the flushed byte never reached the client")
            yield b"done"

        return Response(200, [("content-type", "application/json")], body())


def test_flush_sends_gathered_bytes_before_the_body_continues() -> None:
    core = FlushingCore()
    with ServerThread(core) as server:
        response = urllib3.request(
            "GET", f"{server.url}/anything", preload_content=False, timeout=10.0
        )
        assert response.read(1) == b" "
        core.seen.set()
        assert response.read() == b"done"
