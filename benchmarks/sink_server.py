"""The benchmark server: our server (memory backend) that keeps nothing large.

Small objects go to the real protocol core and memory engine; the same few keys are
overwritten, so memory stays bounded. Keys starting with ``sink`` never reach the
engine: uploads are read to the end and dropped, downloads stream one prepared zstd
frame of JSON lines (``--download-mib`` MiB decoded). So a large-transfer benchmark
measures the clients and the transport, not a server filling its memory.

``python -m benchmarks.sink_server [--download-mib N] [--auth-key-file PEM --kid KID]``
prints ``listening on <url>`` when ready.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from datetime import timedelta

import zstandard

from benchmarks.support import MIB, JsonStream, json_block
from django_objectstore.server import (
    AuthConfig,
    KeyConfig,
    Request,
    Response,
    ServerConfig,
    StorageConfig,
    create_app,
)
from django_objectstore.server.hosting import serve

PERMISSIONS = ["object.read", "object.write", "object.delete"]


class SinkCore:
    def __init__(self, app: object, frame: bytes) -> None:
        self.app = app
        self.frame = frame

    def handle(self, request: Request) -> Response:
        key = request.path.rsplit("/", 1)[-1]
        if not key.startswith("sink"):
            return self.app.handle(request)  # type: ignore[attr-defined,no-any-return]
        if request.method in ("PUT", "POST"):
            while request.body.read(1 << 20):
                pass
            body = json.dumps({"key": key}).encode()
            return Response(200, [("content-type", "application/json")], [body])
        headers = [
            ("content-encoding", "zstd"),
            ("content-length", str(len(self.frame))),
            ("content-type", "application/x-ndjson"),
        ]
        return Response(200, headers, self._chunks() if request.method == "GET" else [])

    def _chunks(self) -> Iterator[bytes]:
        view = memoryview(self.frame)
        for start in range(0, len(view), 256 * 1024):
            yield bytes(view[start : start + 256 * 1024])


def prepared_frame(size: int) -> bytes:
    """``size`` bytes of the benchmark's JSON lines as one zstd frame (level 3)."""
    compressor = zstandard.ZstdCompressor(level=3).compressobj()
    stream = JsonStream(size, json_block())
    parts = []
    while chunk := stream.read(1 << 20):
        parts.append(compressor.compress(chunk))
    parts.append(compressor.flush())
    return b"".join(parts)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--download-mib", type=int, default=0)
    parser.add_argument("--auth-key-file")
    parser.add_argument("--kid", default="bench")
    args = parser.parse_args(argv)
    auth = AuthConfig(enforce=False)
    if args.auth_key_file:
        key = KeyConfig(key_files=[args.auth_key_file], max_permissions=PERMISSIONS)
        auth = AuthConfig(enforce=True, keys={args.kid: key})
    config = ServerConfig(
        storage=StorageConfig(type="memory"), auth=auth, sweep_interval=timedelta(0)
    )
    core = SinkCore(create_app(config), prepared_frame(args.download_mib * MIB))
    serve(
        core,  # type: ignore[arg-type]
        "127.0.0.1",
        0,
        ready_callback=lambda url: print(f"listening on {url}", flush=True),
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
