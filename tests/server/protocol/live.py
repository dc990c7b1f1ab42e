"""An app served over a real socket (uvicorn on loopback), for defects visible on the wire.

``LiveServer(app)`` starts a :class:`~django_objectstore.server.hosting.ServerThread`
and sends requests with urllib3 exactly as given: raw paths and queries, header names
as written, bodies as bytes or streamed chunks.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import urllib3

from django_objectstore.server.app import App
from django_objectstore.server.hosting import ServerThread

BASE = "/v1/objects/test-usecase/org=42;project=1337"
BATCH = "/v1/objects:batch/test-usecase/org=42;project=1337/"
BOUNDARY = "b0undary"
BATCH_HEADERS = {"content-type": f"multipart/form-data; boundary={BOUNDARY}"}
"""Headers of a batch request whose form-data parts are separated by :data:`BOUNDARY`."""


@dataclass
class Reply:
    status: int
    headers: urllib3.HTTPHeaderDict
    body: bytes

    def json(self) -> object:
        import json

        return json.loads(self.body)


class LiveServer:
    """Requests to ``app`` over HTTP; one connection pool, no retries, 30 s timeout."""

    def __init__(self, server: ServerThread) -> None:
        self.server = server
        self.pool = urllib3.HTTPConnectionPool(
            server.host, server.port, retries=False, timeout=30.0, maxsize=4
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        body: bytes | Iterable[bytes] | None = None,
        headers: dict[str, str] | None = None,
        query: str = "",
    ) -> Reply:
        url = f"{path}?{query}" if query else path
        response = self.pool.urlopen(
            method,
            url,
            body=body,
            headers=headers or {},
            preload_content=True,
            redirect=False,
            assert_same_host=False,
        )
        return Reply(response.status, response.headers, response.data)

    def stream(
        self, method: str, path: str, *, body: bytes | None = None, headers: dict[str, str]
    ) -> urllib3.BaseHTTPResponse:
        """A response whose body is left unread (release it with ``release_conn``)."""
        return self.pool.urlopen(
            method, path, body=body, headers=headers, preload_content=False, retries=False
        )


def batch_body(*parts: tuple[list[bytes], bytes]) -> bytes:
    """A form-data body from raw header lines and bodies (bytes exactly as given)."""
    chunks = []
    for lines, body in parts:
        chunks.append(b"--" + BOUNDARY.encode() + b"\r\n")
        chunks.extend(line + b"\r\n" for line in lines)
        chunks.append(b"\r\n" + body + b"\r\n")
    chunks.append(b"--" + BOUNDARY.encode() + b"--")
    return b"".join(chunks)


def send_batch(server: LiveServer, body: bytes) -> bytes:
    """The response body of a batch request, which must answer 200."""
    reply = server.request("POST", BATCH, body=body, headers=BATCH_HEADERS)
    assert reply.status == 200, reply.body[:300]
    return reply.body


@contextmanager
def live(app: App) -> Iterator[LiveServer]:
    """``app`` served on a free loopback port for the duration of the block."""
    with ServerThread(app, sweep_interval=0) as server:
        client = LiveServer(server)
        try:
            yield client
        finally:
            client.pool.close()
