"""A minimal objectstore responder, so a client benchmark measures the clients.

Our own server spends 150-200 us of Python per small request (ASGI, routing, the
protocol core, the engine), about as much as either client; that shared constant dilutes
any ratio between two clients. The real objectstore is a Rust service that answers a
small request in tens of microseconds. This responder stands in for it: one asyncio
protocol with httptools' C parser, about 30-40 us of CPU per request.

It answers like objectstore for the requests the client benchmark makes, and nothing
else: ``PUT``/``POST`` to ``/v1/objects/{usecase}/{scopes}/{key}`` keeps the body and the
headers the real server keeps (``content-type``, ``content-encoding``, ``x-snme-*``
metadata) under that path, overwriting what was there, and answers ``{"key": ...}``;
``GET`` answers them back with ``x-sn-time-created`` and ``content-length``; ``DELETE``
drops it; ``GET /health`` answers 200. No auth, no expiry, no Range; a request it does
not know gets 400. Only small bodies belong here: each is held whole until overwritten.

``python -m benchmarks.responder`` prints ``listening on <url>`` when ready.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import sys
from datetime import UTC, datetime

import httptools

_KEPT = (b"content-type", b"content-encoding")


class _Store:
    def __init__(self) -> None:
        self.objects: dict[bytes, tuple[bytes, bytes]] = {}
        self.created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Protocol(asyncio.Protocol):
    def __init__(self, store: _Store) -> None:
        self.store = store
        self.parser = httptools.HttpRequestParser(self)
        self.transport: asyncio.Transport | None = None
        self.url = b""
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError:
            self._send(b"400 Bad Request", b"", b"")
            assert self.transport is not None
            self.transport.close()

    # httptools callbacks
    def on_message_begin(self) -> None:
        self.url = b""
        self.headers = []
        self.body = []

    def on_url(self, url: bytes) -> None:
        self.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.lower(), value))

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        method = self.parser.get_method()
        path = self.url.partition(b"?")[0]
        if path == b"/health":
            self._send(b"200 OK", b"", b"")
        elif not path.startswith(b"/v1/objects/") or path.count(b"/") < 5:
            self._send(b"400 Bad Request", b"", b"")
        elif method in (b"PUT", b"POST"):
            kept = b"".join(
                name + b": " + value + b"\r\n"
                for name, value in self.headers
                if name in _KEPT or name.startswith(b"x-snme-")
            )
            self.store.objects[path] = (kept, b"".join(self.body))
            key = path.rsplit(b"/", 1)[1].decode()
            body = json.dumps({"key": key}).encode()
            self._send(b"200 OK", b"content-type: application/json\r\n", body)
        elif method in (b"GET", b"HEAD"):
            found = self.store.objects.get(path)
            if found is None:
                self._send(b"404 Not Found", b"", b"")
                return
            kept, body = found
            created = b"x-sn-time-created: " + self.store.created.encode() + b"\r\n"
            self._send(b"200 OK", kept + created, body, head=method == b"HEAD")
        elif method == b"DELETE":
            self.store.objects.pop(path, None)
            self._send(b"204 No Content", b"", b"")
        else:
            self._send(b"405 Method Not Allowed", b"", b"")

    def _send(self, status: bytes, headers: bytes, body: bytes, head: bool = False) -> None:
        assert self.transport is not None
        length = b"content-length: " + str(len(body)).encode() + b"\r\n"
        self.transport.write(
            b"HTTP/1.1 " + status + b"\r\n" + headers + length + b"\r\n" + (b"" if head else body)
        )
        if not self.parser.should_keep_alive():
            self.transport.close()


async def _serve() -> None:
    store = _Store()
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: _Protocol(store), "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print(f"listening on http://127.0.0.1:{port}", flush=True)
    async with server:
        await server.serve_forever()


def main() -> int:
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
