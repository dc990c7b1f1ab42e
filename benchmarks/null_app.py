"""A null ASGI app on the same uvicorn setup as the server: the baseline of the benchmarks.

PUT/POST read and discard the body, then answer a small JSON body; GET answers
``?size=N`` bytes streamed in 64 KiB chunks. Run ``python -m benchmarks.null_app`` and
read the ``listening on`` line for its URL.

``--durable PATH`` makes it a "durable null" app: each PUT/POST body is appended to the
file ``PATH`` and ``fdatasync``-ed before the answer, the least a server can do to keep
what it acknowledged (the baseline of the filesystem engine with ``fsync`` on).

``--core`` serves the same behaviour as a protocol core behind the server's own ASGI
adapter and runner instead, which separates the adapter's cost from the engine's.

``--granian`` serves on granian (``pip install granian``) instead of uvicorn, for the
comparison of HTTP servers in ``server_bench``: the null app, or with ``--objectstore``
the objectstore server configured by ``OS__*`` variables behind its ASGI adapter. Both
servers run the standard asyncio event loop, as the objectstore runner does.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from typing import Any
from urllib.parse import parse_qs

import uvicorn

from django_objectstore.server import Request, Response

Message = MutableMapping[str, Any]
CHUNK = b"n" * 65536
KEY_BODY = b'{"key":"k"}'


async def app(
    scope: Message,
    receive: Callable[[], Awaitable[Message]],
    send: Callable[[Message], Awaitable[None]],
) -> None:
    if scope["type"] != "http":
        return
    more = True
    while more:
        message = await receive()
        more = message.get("more_body", False)
    if scope["method"] in ("PUT", "POST"):
        headers = [(b"content-type", b"application/json"), (b"content-length", b"11")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": KEY_BODY})
        return
    query = parse_qs(scope.get("query_string", b"").decode())
    size = int(query.get("size", ["1024"])[0])
    headers = [(b"content-length", str(size).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    remaining = size
    while remaining > 0:
        chunk = CHUNK[: min(remaining, len(CHUNK))]
        remaining -= len(chunk)
        await send({"type": "http.response.body", "body": chunk, "more_body": remaining > 0})
    if size == 0:
        await send({"type": "http.response.body", "body": b""})


def durable_app(path: str) -> Callable[..., Awaitable[None]]:
    """The null app, but each PUT/POST body is appended to ``path`` and fdatasync-ed.

    The write and the sync run on the event loop: with one client connection nothing
    waits behind them, and a thread hop would only add to the baseline's cost.
    """
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)

    async def durable(
        scope: Message,
        receive: Callable[[], Awaitable[Message]],
        send: Callable[[Message], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http" or scope["method"] not in ("PUT", "POST"):
            await app(scope, receive, send)
            return
        chunks = []
        more = True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = memoryview(b"".join(chunks))
        while body:
            body = body[os.write(fd, body) :]
        os.fdatasync(fd)
        headers = [(b"content-type", b"application/json"), (b"content-length", b"11")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": KEY_BODY})

    return durable


class NullCore:
    """The null app's behaviour as a synchronous protocol core."""

    def handle(self, request: Request) -> Response:
        while request.body.read(1 << 20):
            pass
        if request.method in ("PUT", "POST"):
            return Response(200, [("content-type", "application/json")], [KEY_BODY])
        size = int(parse_qs(request.query).get("size", ["1024"])[0])
        return Response(200, [("content-length", str(size))], _stream(size))


def _stream(size: int) -> Iterator[bytes]:
    remaining = size
    while remaining > 0:
        chunk = CHUNK[: min(remaining, len(CHUNK))]
        remaining -= len(chunk)
        yield chunk


def objectstore_asgi() -> Any:
    """The objectstore server of the ``OS__*`` variables as an ASGI app (granian's factory)."""
    from django_objectstore.server import create_app
    from django_objectstore.server.hosting import load_config
    from django_objectstore.server.hosting.asgi import ASGIAdapter

    return ASGIAdapter(create_app(load_config()))


def _serve_granian(target: str, factory: bool) -> None:
    from granian import Granian  # type: ignore[import-not-found]
    from granian.constants import Interfaces, Loops  # type: ignore[import-not-found]

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # granian binds when it serves: the benchmark polls until the port answers.
    print(f"listening on http://127.0.0.1:{port}", flush=True)
    Granian(
        target,
        address="127.0.0.1",
        port=port,
        interface=Interfaces.ASGI,
        workers=1,
        loop=Loops.asyncio,
        log_level="warning",
        factory=factory,
    ).serve()


def main() -> int:
    if "--granian" in sys.argv[1:]:
        if "--objectstore" in sys.argv[1:]:
            _serve_granian("benchmarks.null_app:objectstore_asgi", factory=True)
        else:
            _serve_granian("benchmarks.null_app:app", factory=False)
        return 0
    if "--core" in sys.argv[1:]:
        from django_objectstore.server.hosting import serve

        serve(
            NullCore(),
            "127.0.0.1",
            0,
            ready_callback=lambda url: print(f"listening on {url}", flush=True),
        )
        return 0
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(2048)
    target: Callable[..., Awaitable[None]] = app
    if "--durable" in sys.argv[1:]:
        target = durable_app(sys.argv[sys.argv.index("--durable") + 1])
    config = uvicorn.Config(
        target,
        http="httptools",
        loop="asyncio",
        lifespan="off",
        log_level="warning",
        access_log=False,
        server_header=False,
    )
    print(f"listening on http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    uvicorn.Server(config).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
