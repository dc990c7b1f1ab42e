"""Small requests skip the crossing to a worker thread when the backend will not block,
and a small response leaves in one send.

The adapter is called directly as an ASGI app (no socket) with pools that count what
is submitted to them, so the tests see where a request ran, never how long it took.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any, cast

import urllib3

from django_objectstore.server.app import App, create_app
from django_objectstore.server.backends.memory import MemoryBackend
from django_objectstore.server.config import AuthConfig, ServerConfig
from django_objectstore.server.hosting.asgi import ASGIAdapter
from django_objectstore.server.hosting.connection import COALESCE_BYTES, CoalescingTransport
from django_objectstore.server.hosting.runner import ServerThread
from django_objectstore.server.messages import Request

PATH = "/v1/objects/fast/org=1/k"
MIB = 1024 * 1024


class ReadsNeverBlock(MemoryBackend):
    """A backend that answers per operation: reads never block, everything else may."""

    nonblocking = False

    def nonblocking_for(self, operation: str) -> bool:
        return operation == "read"


class CountingPool(ThreadPoolExecutor):
    def __init__(self) -> None:
        super().__init__(2)
        self.submitted = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.submitted += 1
        return super().submit(fn, *args, **kwargs)


def app_over(backend: MemoryBackend) -> App:
    return create_app(ServerConfig(auth=AuthConfig(enforce=False)), backend=backend)


def counting_adapter(app: App, inline: bool | None = None) -> ASGIAdapter:
    adapter = ASGIAdapter(app, inline=inline)
    adapter.close()
    adapter.executor = CountingPool()
    adapter.uploads = CountingPool()
    return adapter


async def call(
    adapter: ASGIAdapter,
    method: str,
    path: str = PATH,
    body: Iterable[bytes] = (),
    headers: Iterable[tuple[bytes, bytes]] = (),
) -> tuple[int, dict[bytes, bytes], bytes]:
    """One request through the adapter; ``body`` arrives as one ASGI message per item."""
    parts = list(body) or [b""]
    messages = [
        {"type": "http.request", "body": part, "more_body": index < len(parts) - 1}
        for index, part in enumerate(parts)
    ]

    async def receive() -> dict[str, Any]:
        if messages:
            return messages.pop(0)
        await asyncio.Future()  # the client stays connected
        raise AssertionError("unreachable")

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": list(headers),
        "client": ("127.0.0.1", 1),
    }
    await adapter(scope, receive, send)
    start = sent[0]
    payload = b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], dict(start["headers"]), payload


def run(coroutine: Awaitable[Any]) -> Any:
    async def main() -> Any:
        return await coroutine

    return asyncio.run(main())


def test_small_get_over_a_backend_whose_reads_never_block_runs_on_the_event_loop() -> None:
    adapter = counting_adapter(app_over(ReadsNeverBlock()))
    assert isinstance(adapter.executor, CountingPool)

    async def scenario() -> None:
        status, _, _ = await call(adapter, "PUT", body=[b"d" * 1024])
        assert status == 200
        assert adapter.executor.submitted == 1  # a write may block: a worker thread
        status, headers, payload = await call(adapter, "GET")
        assert (status, payload) == (200, b"d" * 1024)
        status, headers, payload = await call(adapter, "HEAD")
        assert (status, headers[b"content-length"]) == (200, b"1024")

    run(scenario())
    assert adapter.executor.submitted == 1  # the GET and the HEAD did not cross
    assert adapter.uploads.submitted == 0


def test_a_small_chunked_body_is_read_on_the_loop_whatever_its_framing() -> None:
    adapter = counting_adapter(app_over(MemoryBackend()))
    parts = [b"a" * 300, b"b" * 400, b"c" * 324]  # one ASGI message per chunk

    async def scenario() -> bytes:
        status, _, _ = await call(adapter, "PUT", body=parts)
        assert status == 200
        return (await call(adapter, "GET"))[2]

    assert run(scenario()) == b"".join(parts)
    assert adapter.executor.submitted == 0
    assert adapter.uploads.submitted == 0


def test_a_small_chunked_upload_to_a_blocking_backend_uses_no_upload_thread() -> None:
    adapter = counting_adapter(app_over(ReadsNeverBlock()))
    run(call(adapter, "PUT", body=[b"x" * 1000, b"y" * 24]))
    assert adapter.executor.submitted == 1
    assert adapter.uploads.submitted == 0


def test_a_long_response_started_on_the_loop_is_read_on_in_a_worker_thread() -> None:
    backend = ReadsNeverBlock()
    app = app_over(backend)
    adapter = counting_adapter(app)
    body = bytes(range(256)) * (4 * MIB // 256)

    async def scenario() -> tuple[int, bytes]:
        await call(adapter, "PUT", body=[body[i : i + MIB] for i in range(0, len(body), MIB)])
        before = adapter.executor.submitted
        return before, (await call(adapter, "GET"))[2]

    before, received = run(scenario())
    assert received == body
    assert adapter.uploads.submitted == 1  # 4 MiB stream in
    assert adapter.executor.submitted > before  # batches after the first, in a thread


def test_explicit_inline_false_always_uses_a_worker_thread() -> None:
    adapter = counting_adapter(app_over(MemoryBackend()), inline=False)
    run(call(adapter, "GET"))
    assert adapter.executor.submitted == 1


def test_runs_inline_asks_the_backend_per_operation() -> None:
    app = app_over(ReadsNeverBlock())
    asks = {
        ("GET", PATH): True,
        ("HEAD", PATH): True,
        ("PUT", PATH): False,
        ("POST", "/v1/objects/fast/org=1/"): False,
        ("DELETE", PATH): False,
        ("PATCH", PATH): False,
        ("POST", "/v1/objects:batch/fast/org=1/"): False,
        ("GET", "/v1/objects:multipart:parts/fast/org=1/k"): False,
        ("GET", "/elsewhere"): False,
    }
    for (method, path), expected in asks.items():
        assert app.runs_inline(Request(method, path)) is expected, (method, path)
    memory = app_over(MemoryBackend())
    assert memory.runs_inline(Request("POST", "/v1/objects:batch/fast/org=1/"))


def test_underscore_metadata_round_trips_through_the_server_on_the_fast_path() -> None:
    app = app_over(MemoryBackend())
    with ServerThread(app, sweep_interval=0) as server, urllib3.PoolManager() as http:
        url = server.url + PATH
        put = http.request(
            "PUT", url, body=iter([b"m" * 1024]), chunked=True, headers={"x-snme-my_key": "v1"}
        )
        assert put.status == 200
        got = http.request("GET", url)
    assert got.status == 200
    assert got.headers["x-snme-my_key"] == "v1"
    assert "x-snme-my-key" not in got.headers


class RecordingTransport:
    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False
        self.aborted = False

    def write(self, data: bytes) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.aborted = True


def test_small_writes_in_one_loop_turn_leave_in_one_send() -> None:
    async def scenario() -> RecordingTransport:
        inner = RecordingTransport()
        transport = CoalescingTransport(cast(asyncio.Transport, inner), asyncio.get_running_loop())
        transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n")
        transport.write(b"ok")
        assert inner.writes == []
        await asyncio.sleep(0)  # the end of this turn of the loop
        transport.write(b"x" * COALESCE_BYTES)  # large: at once
        transport.write(b"a")
        transport.close()  # flushes first
        return inner

    inner = run(scenario())
    assert inner.writes == [
        b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok",
        b"x" * COALESCE_BYTES,
        b"a",
    ]
    assert inner.closed


def test_held_writes_beyond_the_limit_are_sent_at_once() -> None:
    async def scenario() -> RecordingTransport:
        inner = RecordingTransport()
        transport = CoalescingTransport(cast(asyncio.Transport, inner), asyncio.get_running_loop())
        transport.write(b"h" * 100)
        transport.write(b"b" * COALESCE_BYTES)
        assert len(inner.writes) == 1  # not held until the end of the turn
        transport.write(b"c")
        transport.abort()
        await asyncio.sleep(0)
        return inner

    inner = run(scenario())
    assert inner.writes == [b"h" * 100 + b"b" * COALESCE_BYTES]
    assert inner.aborted
