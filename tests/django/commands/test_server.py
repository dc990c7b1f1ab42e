"""``manage.py objectstore_server``: started as a real process, used, stopped with SIGTERM."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import pytest
import urllib3
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from django_objectstore.client import Client
from django_objectstore.jobs.embedded import embedded_roots
from tests.django.commands.configs import storage_config

ROOT = Path(__file__).resolve().parents[3]
STARTUP_DEADLINE = 30.0


def read_url(stdout: IO[str], deadline: float) -> str:
    """The URL from the command's first line, ``objectstore listening on <url>``."""
    line = stdout.readline()
    assert time.monotonic() < deadline, "the server did not start in time"
    match = re.match(r"objectstore listening on (http://\S+)$", line.strip())
    assert match, f"unexpected first line: {line!r}"
    return match.group(1)


def wait_healthy(url: str, deadline: float) -> None:
    while True:
        try:
            if urllib3.request("GET", f"{url}/health", retries=False, timeout=2).status == 200:
                return
        except urllib3.exceptions.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{url}/health never answered 200")


@pytest.fixture
def server_process(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str, Path]]:
    data = tmp_path / "data"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "testproject.settings", "PYTHONPATH": str(ROOT)}
    env = {k: v for k, v in env.items() if not k.startswith("OS__")}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "django",
            "objectstore_server",
            "--addr",
            "127.0.0.1:0",
            "--path",
            str(data),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        url = read_url(process.stdout, time.monotonic() + STARTUP_DEADLINE)
        wait_healthy(url, time.monotonic() + STARTUP_DEADLINE)
        yield process, url, data
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=30)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def test_serves_the_directory_and_stops_cleanly_on_sigterm(
    server_process: tuple[subprocess.Popen[str], str, Path],
) -> None:
    process, url, data = server_process
    with Client(url) as client:
        session = client.session("served", org=1)
        key = session.put(b"over http", key="hello")
        result = session.get(key)
        assert result is not None
        with result.payload as payload:
            assert payload.read() == b"over http"
    with Client(f"embedded://{data}") as embedded:
        found = embedded.session("served", org=1).get("hello")
        assert found is not None
        with found.payload as payload:
            assert payload.read() == b"over http"
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 0
    assert process.stdout is not None
    assert "objectstore stopped" in process.stdout.read()


def test_default_path_is_the_embedded_storages_directory(tmp_path: Path) -> None:
    config = storage_config(f"embedded://{tmp_path}/store", "files")
    with override_settings(STORAGES={**settings.STORAGES, "attachments": config}):
        assert embedded_roots() == [tmp_path / "store"]


def test_storages_without_base_url_use_the_project_default_directory() -> None:
    config: dict[str, Any] = {"BACKEND": "django_objectstore.storage.ObjectstoreStorage"}
    with override_settings(
        STORAGES={"default": settings.STORAGES["default"], "a": config},
        OBJECTSTORE={"base_url": None},
        BASE_DIR=Path("/srv/site"),
    ):
        assert embedded_roots() == [Path("/srv/site/.objectstore-data")]


def test_several_embedded_directories_need_path(tmp_path: Path) -> None:
    storages_setting = {
        "default": settings.STORAGES["default"],
        "a": storage_config(f"embedded://{tmp_path}/one", "files"),
        "b": storage_config(f"embedded://{tmp_path}/two", "files"),
    }
    with (
        override_settings(STORAGES=storages_setting),
        pytest.raises(CommandError, match=r"several embedded directories.*--path"),
    ):
        call_command("objectstore_server", addr="127.0.0.1:0")


def test_no_embedded_storage_needs_path() -> None:
    storages_setting = {
        "default": settings.STORAGES["default"],
        "a": storage_config("http://127.0.0.1:9", "files"),
    }
    with (
        override_settings(STORAGES=storages_setting),
        pytest.raises(CommandError, match="pass --path DIR"),
    ):
        call_command("objectstore_server", addr="127.0.0.1:0")


def test_a_bad_address_is_an_error_naming_the_option(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="--addr"):
        call_command("objectstore_server", addr="nowhere", path=str(tmp_path))


def test_enforced_auth_without_keys_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="no keys"):
        call_command(
            "objectstore_server", addr="127.0.0.1:0", path=str(tmp_path), auth_enforce="true"
        )
