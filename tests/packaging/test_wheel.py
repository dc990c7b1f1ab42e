"""What `pip install django-objectstore` gets: the wheel's files and its dependencies."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (path,) = out.glob("django_objectstore-*.whl")
    with zipfile.ZipFile(path) as archive:
        yield archive


def _metadata(wheel: zipfile.ZipFile) -> dict[str, list[str]]:
    (name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    message = Parser().parsestr(wheel.read(name).decode())
    return {key: message.get_all(key) or [] for key in set(message.keys())}


def test_wheel_holds_the_package_only(wheel: zipfile.ZipFile) -> None:
    tops = {name.split("/")[0] for name in wheel.namelist()}
    assert {top for top in tops if not top.endswith(".dist-info")} == {"django_objectstore"}
    assert "django_objectstore/py.typed" in wheel.namelist()
    assert not [n for n in wheel.namelist() if "/tests/" in n or "__pycache__" in n]


def test_wheel_carries_the_license(wheel: zipfile.ZipFile) -> None:
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in wheel.namelist())
    assert _metadata(wheel)["License-Expression"] == ["Apache-2.0"]


def test_plain_install_brings_no_http_server(wheel: zipfile.ZipFile) -> None:
    requires = _metadata(wheel)["Requires-Dist"]
    unconditional = [
        r.split(";")[0].split(">")[0].split("[")[0].lower() for r in requires if ";" not in r
    ]
    assert sorted(unconditional) == ["django", "pyjwt", "urllib3", "zstandard"]
    server = [r for r in requires if 'extra == "server"' in r]
    assert {r.split(">")[0].lower() for r in server} == {"uvicorn", "httptools", "pyyaml"}
    assert any(r.startswith("sentry-sdk") and 'extra == "sentry"' in r for r in requires)
    assert not [r for r in requires if "extra ==" in r and "dev" in r.split("extra ==")[1]]


def test_classifiers_name_every_supported_version(wheel: zipfile.ZipFile) -> None:
    classifiers = set(_metadata(wheel)["Classifier"])
    for python in ("3.11", "3.12", "3.13"):
        assert f"Programming Language :: Python :: {python}" in classifiers
    for django in ("5.2", "6.0", "6.1"):
        assert f"Framework :: Django :: {django}" in classifiers
    assert _metadata(wheel)["Project-URL"]
