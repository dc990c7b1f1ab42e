"""pytest fixtures that run a real objectstore server on loopback for your tests.

Registered automatically (``pytest11`` entry point) when django-objectstore is
installed, so every pytest run of every project using the package imports this module:
it stays cheap. The protocol core (:mod:`django_objectstore.server`) is imported here;
the HTTP runner (:mod:`django_objectstore.server.hosting`, which loads uvicorn) only
when a server fixture is first used. See ``docs/testing.md``.

- ``objectstore_server`` (session): the server's base URL, a ``str`` with ``.url``,
  ``.clock``, ``.app``, ``.path`` and ``.config``; auth off, filesystem storage in a
  temporary directory, an :class:`~django_objectstore.server.OffsetClock`.
- ``objectstore_auth_server`` (session): the same with auth enforced by a generated
  Ed25519 key: also ``.kid``, ``.private_key_pem`` and ``.public_key_path``.
- ``objectstore_clock`` (function): the clock both servers share, reset after the test.
- ``objectstore_usecase`` / ``objectstore_scope`` (function): fresh names, so tests
  sharing the session server never see each other's objects.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from django_objectstore.server import (
    App,
    AuthConfig,
    KeyConfig,
    OffsetClock,
    ServerConfig,
    StorageConfig,
    create_app,
)

if TYPE_CHECKING:
    # Imported when a server starts (see _start): hosting loads uvicorn, which every
    # pytest run would otherwise pay for.
    from django_objectstore.server.hosting import ServerThread

AUTH_KID = "test_kid"
ALL_PERMISSIONS = ["object.read", "object.write", "object.delete"]
_counter = itertools.count(1)


class ObjectstoreServer(str):
    """A running test server; the string itself is its base URL."""

    url: str
    clock: OffsetClock
    app: App
    path: Path
    """The filesystem backend's storage root."""
    config: ServerConfig
    thread: ServerThread

    def __new__(
        cls,
        thread: ServerThread,
        *,
        clock: OffsetClock,
        app: App,
        path: Path,
        config: ServerConfig,
    ) -> ObjectstoreServer:
        server = super().__new__(cls, thread.url)
        server.url = thread.url
        server.thread = thread
        server.clock = clock
        server.app = app
        server.path = path
        server.config = config
        return server


class ObjectstoreAuthServer(ObjectstoreServer):
    """A test server that enforces auth with one generated Ed25519 key."""

    kid: str
    private_key_pem: str
    """PKCS#8 PEM, as ``objectstore_client.SecretKey(kid, pem)`` takes it."""
    public_key_path: Path


def _start(
    root: Path, auth: AuthConfig, clock: OffsetClock
) -> tuple[ServerThread, App, ServerConfig]:
    # Lazy: hosting loads uvicorn (see the module docstring).
    from django_objectstore.server.hosting import ServerThread

    config = ServerConfig(
        http_addr="127.0.0.1:0",
        # No fsync: writes stay atomic, and a test store need not survive a power loss.
        storage=StorageConfig(type="filesystem", path=str(root), fsync=False),
        auth=auth,
        # Tests decide when to sweep (``server.app.engine.sweep()``), so moving the
        # clock never deletes objects behind a test's back.
        sweep_interval=timedelta(0),
    )
    app = create_app(config, clock=clock)
    thread = ServerThread(app, "127.0.0.1", 0, sweep_interval=0).start()
    return thread, app, config


def _generate_key(directory: Path) -> tuple[str, Path]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public_path = directory / f"{AUTH_KID}.public.pem"
    public_path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private_pem, public_path


@pytest.fixture(scope="session")
def objectstore_session_clock() -> OffsetClock:
    """The one clock every test server of the session uses (see ``objectstore_clock``)."""
    return OffsetClock()


@pytest.fixture(scope="session")
def objectstore_server(
    tmp_path_factory: pytest.TempPathFactory, objectstore_session_clock: OffsetClock
) -> Iterator[ObjectstoreServer]:
    """A session-wide objectstore server without auth; the value is its base URL."""
    root = tmp_path_factory.mktemp("objectstore")
    clock = objectstore_session_clock
    thread, app, config = _start(root, AuthConfig(enforce=False), clock)
    try:
        yield ObjectstoreServer(thread, clock=clock, app=app, path=root, config=config)
    finally:
        thread.stop()


@pytest.fixture(scope="session")
def objectstore_auth_server(
    tmp_path_factory: pytest.TempPathFactory, objectstore_session_clock: OffsetClock
) -> Iterator[ObjectstoreAuthServer]:
    """A session-wide objectstore server enforcing auth with a generated Ed25519 key."""
    root = tmp_path_factory.mktemp("objectstore-auth")
    keys = tmp_path_factory.mktemp("objectstore-keys")
    private_pem, public_path = _generate_key(keys)
    auth = AuthConfig(
        enforce=True,
        keys={AUTH_KID: KeyConfig(key_files=[str(public_path)], max_permissions=ALL_PERMISSIONS)},
    )
    clock = objectstore_session_clock
    thread, app, config = _start(root, auth, clock)
    try:
        server = ObjectstoreAuthServer(thread, clock=clock, app=app, path=root, config=config)
        server.kid = AUTH_KID
        server.private_key_pem = private_pem
        server.public_key_path = public_path
        yield server
    finally:
        thread.stop()


@pytest.fixture
def objectstore_clock(objectstore_session_clock: OffsetClock) -> Iterator[OffsetClock]:
    """The test servers' clock; ``advance()`` it freely, it is reset after the test."""
    clock = objectstore_session_clock
    clock.reset()
    try:
        yield clock
    finally:
        clock.reset()


@pytest.fixture
def objectstore_usecase() -> str:
    """A fresh usecase name (``t-`` and 12 hex digits), valid for every client."""
    return f"t-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def objectstore_scope() -> dict[str, str]:
    """A fresh scope, e.g. ``{"org": "17", "project": "3c9a..."}``."""
    return {"org": str(next(_counter)), "project": uuid.uuid4().hex[:12]}
