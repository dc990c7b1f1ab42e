"""Uploads of known size declare their length; large compressed and unsized ones stream."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest

from django_objectstore.client import Client
from django_objectstore.client.compression import ONE_SHOT_LIMIT
from django_objectstore.server import (
    App,
    AuthConfig,
    Request,
    Response,
    ServerConfig,
    StorageConfig,
    create_app,
)
from django_objectstore.server.hosting import ServerThread


class RecordingApp:
    """The real app, remembering the framing headers of each request."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.engine = app.engine
        self.config = app.config
        self.framing: list[tuple[str | None, str | None]] = []

    def handle(self, request: Request) -> Response:
        self.framing.append(
            (request.headers.get("content-length"), request.headers.get("transfer-encoding"))
        )
        return self.app.handle(request)


@pytest.fixture
def recording() -> Iterator[tuple[RecordingApp, Client]]:
    config = ServerConfig(storage=StorageConfig(type="memory"), auth=AuthConfig(enforce=False))
    app = RecordingApp(create_app(config))
    with ServerThread(app) as server, Client(server.url) as client:
        yield app, client


def test_seekable_file_without_compression_is_sent_with_content_length(
    recording: tuple[RecordingApp, Client],
) -> None:
    app, client = recording
    session = client.session("files", org=1)
    source = io.BytesIO(b"0123456789" * 10_000)
    source.seek(10)
    key = session.put(source, compression="none")
    assert app.framing[-1] == ("99990", None)
    result = session.get(key)
    assert result is not None
    assert result.payload.read() == (b"0123456789" * 10_000)[10:]


def test_small_compressed_uploads_are_sent_in_one_shot_with_content_length(
    recording: tuple[RecordingApp, Client],
) -> None:
    app, client = recording
    session = client.session("files", org=1)
    key = session.put(io.BytesIO(b"x" * 5000), compression="zstd")
    length, chunked = app.framing[-1]
    assert chunked is None and length is not None and int(length) < 100
    result = session.get(key)
    assert result is not None and result.payload.read() == b"x" * 5000


def test_large_compressed_and_unsized_uploads_stay_chunked(
    recording: tuple[RecordingApp, Client],
) -> None:
    app, client = recording
    session = client.session("files", org=1)
    large = b"0123456789abcdef" * (ONE_SHOT_LIMIT // 16 + 1)
    key = session.put(io.BytesIO(large), compression="zstd")
    assert app.framing[-1] == (None, "chunked")
    result = session.get(key)
    assert result is not None and result.payload.read() == large
    session.put(iter([b"a" * 5000, b"b" * 5000]), compression="zstd")
    assert app.framing[-1] == (None, "chunked")
    session.put(iter([b"a", b"b"]), compression="none")
    assert app.framing[-1] == (None, "chunked")
