from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from django_objectstore.client import Client, InProcessTransport, Session, Usecase
from django_objectstore.pytest_plugin import ObjectstoreServer
from django_objectstore.server import (
    AuthConfig,
    OffsetClock,
    ServerConfig,
    StorageConfig,
    create_app,
)

TRANSPORTS = ["http", "embedded", "memory"]


def client_for(
    kind: str, server: ObjectstoreServer, tmp_path: Path, clock: OffsetClock | None = None
) -> Client:
    """A client of ``kind``; with ``clock``, in-process servers use that clock too."""
    if kind == "http":
        return Client(str(server))
    url = f"embedded://{tmp_path}" if kind == "embedded" else f"memory://{uuid.uuid4().hex}"
    if clock is None:
        return Client(url)
    storage = (
        StorageConfig(type="filesystem", path=str(tmp_path))
        if kind == "embedded"
        else StorageConfig(type="memory")
    )
    config = ServerConfig(
        storage=storage, auth=AuthConfig(enforce=False), sweep_interval=timedelta(0)
    )
    return Client(url, transport=InProcessTransport(url, create_app(config, clock=clock)))


@pytest.fixture(params=TRANSPORTS)
def client(
    request: pytest.FixtureRequest, objectstore_server: ObjectstoreServer, tmp_path: Path
) -> Iterator[Client]:
    with client_for(request.param, objectstore_server, tmp_path) as created:
        yield created


@pytest.fixture(params=TRANSPORTS)
def clocked_client(
    request: pytest.FixtureRequest,
    objectstore_server: ObjectstoreServer,
    tmp_path: Path,
    objectstore_clock: OffsetClock,
) -> Iterator[Client]:
    with client_for(request.param, objectstore_server, tmp_path, objectstore_clock) as created:
        yield created


@pytest.fixture
def make_session(
    client: Client, objectstore_usecase: str, objectstore_scope: dict[str, str]
) -> Callable[..., Session]:
    def make(**usecase_options: object) -> Session:
        return client.session(Usecase(objectstore_usecase, **usecase_options), **objectstore_scope)  # type: ignore[arg-type]

    return make


@pytest.fixture
def session(make_session: Callable[..., Session]) -> Session:
    return make_session()
