"""``python -m django_objectstore.server``: in process for quick paths, as a process for run."""

from __future__ import annotations

import signal
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
import urllib3

from django_objectstore import __version__
from django_objectstore.pytest_plugin import ObjectstoreServer
from django_objectstore.server.hosting.cli import main
from tests.server.processes import listening_server, server_env

START_DEADLINE = 15.0


@pytest.fixture
def server_process(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str]]:
    env = server_env(
        OS__HTTP_ADDR="127.0.0.1:0",
        OS__STORAGE__PATH=str(tmp_path / "data"),
        OS__AUTH__ENFORCE="false",
    )
    with listening_server(env, START_DEADLINE) as (proc, url):
        yield proc, url


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_run_serves_until_a_signal_then_exits_cleanly(
    server_process: tuple[subprocess.Popen[str], str], signum: signal.Signals
) -> None:
    proc, url = server_process
    response = urllib3.request("GET", url + "/health", retries=False)
    assert response.status == 200
    put = urllib3.request("PUT", url + "/v1/objects/cli-test/_/k", body=b"v", retries=False)
    assert put.status == 200
    proc.send_signal(signum)
    assert proc.wait(15) == 0


def test_healthcheck_of_a_running_server_exits_0(
    objectstore_server: ObjectstoreServer, capsys: pytest.CaptureFixture[str]
) -> None:
    addr = objectstore_server.url.removeprefix("http://")
    assert main(["healthcheck"], {"OS__HTTP_ADDR": addr}) == 0
    assert capsys.readouterr().out == "OK\n"


def test_healthcheck_without_a_server_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert main(["healthcheck"], {"OS__HTTP_ADDR": f"127.0.0.1:{port}"}) == 1
    assert "healthcheck of" in capsys.readouterr().err


def test_version_prints_the_package_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["version"], {}) == 0
    assert __version__ in capsys.readouterr().out


def test_run_refuses_enforced_auth_without_keys(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run"], {}) == 1
    assert "OS__AUTH__ENFORCE" in capsys.readouterr().err


def test_run_reports_config_file_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "objectstore.yaml"
    config.write_text("auth: {enforce: false}\nstorage: {type: gcs}\n")
    assert main(["-c", str(config), "run"], {}) == 1
    assert "storage.type" in capsys.readouterr().err


def test_run_reports_an_address_in_use(
    objectstore_server: ObjectstoreServer, capsys: pytest.CaptureFixture[str]
) -> None:
    addr = objectstore_server.url.removeprefix("http://")
    environ = {"OS__HTTP_ADDR": addr, "OS__STORAGE__TYPE": "memory", "OS__AUTH__ENFORCE": "false"}
    assert main(["run"], environ) == 1
    assert "cannot listen on" in capsys.readouterr().err
