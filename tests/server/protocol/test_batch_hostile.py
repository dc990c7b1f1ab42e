"""Batch requests over a real socket: illegal part headers, poisoned objects, large gets.

A batch part's headers never pass an HTTP parser, so the protocol checks them itself,
exactly as the HTTP parser checks a single-object request's. And a batch ``get`` of a
large object streams its part from the stored bytes with flat server memory.
"""

from __future__ import annotations

import re
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from django_objectstore.server.app import create_app
from django_objectstore.server.backends.memory import MemoryBackend
from django_objectstore.server.backends.records import ObjectLocation, ObjectMetadata
from django_objectstore.server.backends.tiered import TieredBackend
from django_objectstore.server.config import AuthConfig, ServerConfig
from django_objectstore.server.messages import BytesBody, Headers, Request
from tests.server.protocol.live import (
    BASE,
    BATCH,
    BATCH_HEADERS,
    LiveServer,
    batch_body,
    live,
    send_batch,
)

SCOPES = (("org", "42"), ("project", "1337"))
MIB = 1024 * 1024


def statuses(body: bytes) -> dict[int, int]:
    """Operation index -> status code, from the response parts."""
    found = {}
    for part in body.split(b"--os-boundary-")[1:]:
        index = re.search(rb"x-sn-batch-operation-index: (\d+)", part)
        status = re.search(rb"x-sn-batch-operation-status: (\d+)", part)
        if index and status:
            found[int(index[1])] = int(status[1])
    return found


def insert(key: str, *extra: bytes) -> tuple[list[bytes], bytes]:
    lines = [b"x-sn-batch-operation-kind: insert", b"x-sn-batch-operation-key: " + key.encode()]
    return [*lines, *extra], b"payload"


@pytest.fixture
def store(tmp_path: Path) -> Iterator[tuple[LiveServer, TieredBackend]]:
    backend = TieredBackend(tmp_path / "store", fsync=False)
    app = create_app(ServerConfig(auth=AuthConfig(enforce=False)), backend=backend)
    with live(app) as server:
        yield server, backend


ILLEGAL = [
    b"x-snme-a b: v",
    b'x-snme-a"b: v',
    b"x-snme-a(b): v",
    b"x-snme-a,b: v",
    b"x-snme-a\x00b: v",
    b"x-snme-a\rb: v",
    b"x-snme-a\xe9: v",
    b"x-snme-ok: v\x00w",
    b"x-snme-ok: v\rw",
    b"x-snme-ok: v\nw",
    b"x-sn-origin: a\x00b",
    b"x-sn-filename: a\x1bb",
    b'content-type: text/plain; q="a\rb"',
    b'content-type: text/plain; q="caf\xe9"',
    b"x-unrelated header: v",
]


@pytest.mark.parametrize("line", ILLEGAL, ids=[repr(line)[2:-1] for line in ILLEGAL])
def test_batch_insert_with_an_illegal_header_is_400_and_stores_nothing(
    store: tuple[LiveServer, TieredBackend], line: bytes
) -> None:
    server, _backend = store
    body = send_batch(server, batch_body(insert("poison", line), insert("fine")))

    assert statuses(body) == {0: 400, 1: 201}
    assert server.request("HEAD", f"{BASE}/poison").status == 404
    assert server.request("GET", f"{BASE}/fine").body == b"payload"


def test_legal_header_names_with_token_punctuation_are_stored(
    store: tuple[LiveServer, TieredBackend],
) -> None:
    server, _backend = store
    body = send_batch(server, batch_body(insert("odd", b"x-snme-a_b.c!#$%&'*+^`|~: v\tw")))
    assert statuses(body) == {0: 201}
    reply = server.request("GET", f"{BASE}/odd")
    assert reply.status == 200
    assert reply.headers["x-snme-a_b.c!#$%&'*+^`|~"] == "v%09w"


def test_objects_stored_with_illegal_names_before_the_fix_are_served_without_them(
    store: tuple[LiveServer, TieredBackend],
) -> None:
    server, backend = store
    poisoned = ObjectMetadata(
        content_type='text/plain; q="a\r\nb"',
        custom={"a b": "1", 'a"b': "2", "a\x00b": "3", "fine": "4"},
    )
    backend.put(ObjectLocation("test-usecase", SCOPES, "legacy"), poisoned, BytesBody(b"old"))

    for method in ("GET", "HEAD"):
        reply = server.request(method, f"{BASE}/legacy")
        assert reply.status == 200
        assert reply.headers["x-snme-fine"] == "4"
        assert reply.headers["content-type"] == "application/octet-stream"
        assert not [name for name in reply.headers if name.startswith("x-snme-a")]
    body = send_batch(
        server,
        batch_body(
            ([b"x-sn-batch-operation-kind: get", b"x-sn-batch-operation-key: legacy"], b""),
            ([b"x-sn-batch-operation-kind: head", b"x-sn-batch-operation-key: legacy"], b""),
        ),
    )
    assert statuses(body) == {0: 200, 1: 204}
    head_blocks = [part.split(b"\r\n\r\n", 1)[0] for part in body.split(b"--os-boundary-")[1:]]
    for block in head_blocks:
        for line in block.split(b"\r\n")[1:]:
            name, sep, value = line.partition(b": ")
            assert sep and re.fullmatch(rb"[!#$%&'*+\-.^_`|~0-9A-Za-z]+", name), line
            assert not re.search(rb"[\x00-\x08\x0a-\x1f\x7f-\xff]", value), line


def test_single_object_headers_are_checked_the_same_way_in_process() -> None:
    app = create_app(ServerConfig(auth=AuthConfig(enforce=False)), backend=MemoryBackend())
    for name, value in [("x-snme-a b", "v"), ("x-snme-ok", "v\r\nw"), ("x-snme-ok", "v\x00")]:
        request = Request("PUT", f"{BASE}/k", "", Headers([(name, value)]), BytesBody(b"x"))
        assert app.handle(request).status == 400


# -- batch get of a large object ---------------------------------------------------------------

SIZE = 256 * MIB


class Blocks:
    """``count`` blocks of 1 MiB as a body reader, without holding them all."""

    def __init__(self, count: int) -> None:
        self.left = count
        self.block = b"g" * MIB

    def read(self, n: int = -1, /) -> bytes:
        if not self.left:
            return b""
        self.left -= 1
        return self.block


@pytest.mark.slow
def test_batch_get_of_a_large_object_streams_with_flat_server_memory(
    store: tuple[LiveServer, TieredBackend],
) -> None:
    server, backend = store
    location = ObjectLocation("test-usecase", SCOPES, "large")
    backend.put(location, ObjectMetadata(), Blocks(SIZE // MIB))
    body = batch_body(
        ([b"x-sn-batch-operation-kind: get", b"x-sn-batch-operation-key: large"], b""),
    )
    tracemalloc.start()
    try:
        response = server.stream(
            "POST",
            BATCH,
            body=body,
            headers=BATCH_HEADERS,
        )
        assert response.status == 200
        received = 0
        tail = b""
        for chunk in response.stream(MIB):
            received += len(chunk)
            tail = (tail + chunk)[-200:]
        response.release_conn()
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert received > SIZE
    assert re.search(rb"g{100}\r\n--os-boundary-[0-9a-f]{32}--$", tail), tail[-80:]
    assert peak < 32 * MIB, f"peak traced memory {peak / MIB:.0f} MiB for a 256 MiB object"
