"""A batch ``get`` streams the object: server memory stays flat in object size.

A 256 MiB object is read back through one batch ``get`` while the test reads the
response a MiB at a time and samples the server process's resident memory
(``VmRSS``). The server may grow by less than 100 MiB over its size before the request.
"""

from __future__ import annotations

import hashlib
import http.client
import os
from collections.abc import Iterator

import pytest

from .hostile_support import ServerFactory, hostile, object_path, upload_streaming
from .test_hostile_batch_headers import BATCH_PATH, BOUNDARY, encode_batch

MIB = 1024 * 1024
SIZE = 256 * MIB
MAX_GROWTH = 100 * MIB
BLOCK = os.urandom(MIB)


def _blocks() -> Iterator[bytes]:
    for _ in range(SIZE // MIB):
        yield BLOCK


class _PayloadHash:
    """SHA-256 of the first part's body in a streamed one-part batch response."""

    def __init__(self) -> None:
        self._head = b""
        self._in_body = False
        self._left = SIZE
        self._hash = hashlib.sha256()

    def feed(self, chunk: bytes) -> None:
        if not self._in_body:
            self._head += chunk
            end = self._head.find(b"\r\n\r\n")
            if end < 0:
                return
            self._in_body = True
            chunk = self._head[end + 4 :]
        taken = chunk[: self._left]
        self._left -= len(taken)
        self._hash.update(taken)

    def digest(self) -> str:
        return self._hash.hexdigest()


@pytest.mark.slow
def test_batch_get_of_256_mib_object_keeps_server_memory_flat(
    server_factory: ServerFactory,
) -> None:
    server = server_factory()
    key = "big"
    stored = upload_streaming(server, object_path(key), _blocks(), SIZE, timeout=120.0)
    assert stored.status == 200, stored
    expected = hashlib.sha256()
    for block in _blocks():
        expected.update(block)
    baseline = server.rss_bytes()
    peak = baseline
    received = 0
    body = encode_batch(
        [([b"x-sn-batch-operation-kind: get", f"x-sn-batch-operation-key: {key}".encode()], b"")]
    )
    hostile()
    connection = http.client.HTTPConnection(server.host, server.port, timeout=60.0)
    try:
        connection.request(
            "POST",
            BATCH_PATH,
            body=body,
            headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        )
        response = connection.getresponse()
        assert response.status == 200
        payload = _PayloadHash()
        while chunk := response.read(MIB):
            received += len(chunk)
            payload.feed(chunk)
            peak = max(peak, server.rss_bytes())
    finally:
        connection.close()
        server.request("DELETE", object_path(key))

    growth = peak - baseline
    print(f"server RSS {baseline / MIB:.0f} MiB -> peak {peak / MIB:.0f} MiB during batch get")
    assert received >= SIZE
    assert payload.digest() == expected.hexdigest(), "the batch get returned other bytes"
    assert growth < MAX_GROWTH, f"the server grew by {growth / MIB:.0f} MiB"
