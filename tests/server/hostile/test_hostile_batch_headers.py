"""Batch insert parts get exactly the header validation of single-object requests.

A part whose metadata header has an illegal name (space, ``"``, ``(``, NUL or CR) or a
control character in its value is answered 400 in its own response part and nothing is
stored: GET and HEAD of that key answer 404 on a connection that stays usable, a batch
get finds nothing, and the server stays healthy. A valid insert in the same batch is
still stored.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass

import pytest

from .hostile_support import Response, ServerProcess, hostile, object_path

BATCH_PATH = "/v1/objects:batch/hostile/_/"
BOUNDARY = "hostile-batch-boundary"


@dataclass
class Part:
    headers: dict[str, str]
    body: bytes

    @property
    def status(self) -> int:
        return int(self.headers["x-sn-batch-operation-status"].split()[0])

    @property
    def index(self) -> int:
        return int(self.headers["x-sn-batch-operation-index"])


def encode_batch(parts: list[tuple[list[bytes], bytes]]) -> bytes:
    """A ``multipart/form-data`` body; each part is ``(raw header lines, body)``."""
    chunks = []
    for header_lines, body in parts:
        chunks.append(f"--{BOUNDARY}\r\n".encode())
        chunks.append(b"content-disposition: form-data; name=part\r\n")
        chunks.extend(line + b"\r\n" for line in header_lines)
        chunks.append(b"\r\n" + body + b"\r\n")
    chunks.append(f"--{BOUNDARY}--\r\n".encode())
    return b"".join(chunks)


def decode_batch(response: Response) -> list[Part]:
    content_type = response.header("content-type") or ""
    match = re.search(r'boundary="?([^";]+)"?', content_type)
    assert match is not None, response
    delimiter = b"--" + match.group(1).encode()
    parts = []
    for chunk in response.body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        head, _, body = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        headers = {}
        for line in head.split(b"\r\n"):
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        parts.append(Part(headers, body.removesuffix(b"\r\n")))
    return parts


def send_batch(server: ServerProcess, parts: list[tuple[list[bytes], bytes]]) -> list[Part]:
    response = server.request(
        "POST",
        BATCH_PATH,
        headers={"Content-Type": f"multipart/form-data; boundary={BOUNDARY}"},
        body=encode_batch(parts),
    )
    assert response.status == 200, response
    return decode_batch(response)


def insert(key: str, *extra: bytes) -> tuple[list[bytes], bytes]:
    lines = [b"x-sn-batch-operation-kind: insert", b"x-sn-batch-operation-key: " + key.encode()]
    return [*lines, *extra], b"payload of " + key.encode()


BAD_HEADERS = [
    pytest.param(b"x-snme-a b: v", id="space-in-name"),
    pytest.param(b'x-snme-a"b: v', id="quote-in-name"),
    pytest.param(b"x-snme-a(b): v", id="parenthesis-in-name"),
    pytest.param(b"x-snme-a\x00b: v", id="nul-in-name"),
    pytest.param(b"x-snme-a\rb: v", id="cr-in-name"),
    pytest.param(b"x-snme-a: v\x00w", id="nul-in-value"),
    pytest.param(b"x-snme-a: v\rw", id="cr-in-value"),
    pytest.param(b"x-sn-filename: a\x00b", id="nul-in-filename"),
]


@pytest.mark.parametrize("bad_header", BAD_HEADERS)
def test_batch_insert_with_illegal_metadata_header_is_refused_and_stores_nothing(
    server: ServerProcess, bad_header: bytes
) -> None:
    bad_key = f"bad-{uuid.uuid4().hex}"
    good_key = f"good-{uuid.uuid4().hex}"
    hostile()

    parts = {
        part.index: part
        for part in send_batch(server, [insert(bad_key, bad_header), insert(good_key)])
    }

    assert parts[0].status == 400, parts[0]
    assert parts[1].status == 201, parts[1]
    assert server.request("GET", object_path(good_key)).status == 200
    assert server.request("GET", object_path(bad_key)).status == 404
    assert server.request("HEAD", object_path(bad_key)).status == 404
    lookup = send_batch(
        server,
        [
            (
                [
                    b"x-sn-batch-operation-kind: get",
                    f"x-sn-batch-operation-key: {bad_key}".encode(),
                ],
                b"",
            )
        ],
    )
    assert [part.status for part in lookup] == [404]
    assert server.healthy()
