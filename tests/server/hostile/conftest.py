"""Fixtures: server processes on loopback (killed at teardown) and the input count.

See :mod:`.hostile_support` for how a server is started and the raw HTTP helpers.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from . import hostile_support as support
from .hostile_support import (
    AuthServer,
    ServerFactory,
    ServerProcess,
    auth_env,
    make_key_pair,
    start_server,
)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for line in support.measurements():
        terminalreporter.write_line(f"hostile suite: {line}")
    if support.hostile_inputs_sent():
        terminalreporter.write_line(
            f"hostile suite: {support.hostile_inputs_sent()} hostile inputs sent"
        )


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[ServerFactory]:
    """``server_factory(root=None, **env)`` starts a server; all are killed at teardown."""
    started: list[ServerProcess] = []

    def factory(root: Path | None = None, **env: str) -> ServerProcess:
        number = len(started)
        data = root if root is not None else tmp_path / f"data{number}"
        data.mkdir(parents=True, exist_ok=True)
        server = start_server(data, tmp_path / f"server{number}.log", env)
        started.append(server)
        return server

    yield factory
    for server in started:
        server.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """A server without auth, shared by the tests of one module."""
    base = tmp_path_factory.mktemp("server")
    (base / "data").mkdir()
    process = start_server(base / "data", base / "server.log")
    yield process
    process.stop()


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AuthServer]:
    """A server enforcing auth with one Ed25519 key (``KID``), shared by a module."""
    base = tmp_path_factory.mktemp("auth-server")
    (base / "data").mkdir()
    keys = make_key_pair(base)
    process = start_server(base / "data", base / "server.log", auth_env(keys))
    yield AuthServer(process, keys)
    process.stop()
