"""Without the ``server`` extra: the storage and in-process stores work, the HTTP server
says how to install what it needs.

Each test runs a fresh interpreter whose import system refuses the extra's modules (a
meta-path finder put first), as if they were not installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
FIX = 'pip install "django-objectstore[server]"'
DEADLINE = 60.0


def _blocking(blocked: set[str], code: str) -> str:
    """``code`` run after a finder that refuses the ``blocked`` top-level packages."""
    prelude = f"""
        import sys

        BLOCKED = {sorted(blocked)!r}

        class Refuse:
            def find_spec(self, name, path=None, target=None):
                if name.partition(".")[0] in BLOCKED:
                    raise ModuleNotFoundError(f"No module named {{name!r}}", name=name)
                return None

        sys.meta_path.insert(0, Refuse())
    """
    return textwrap.dedent(prelude) + textwrap.dedent(code)


def _python(code: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "OS__HTTP_ADDR": "127.0.0.1:0",
        "OS__AUTH__ENFORCE": "false",
        "OS__STORAGE__PATH": str(tmp_path / "data"),
        **env,
    }
    return subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        env=environ,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=DEADLINE,
    )


RUN_CLI = textwrap.dedent(
    """
    import runpy
    sys.argv = ["objectstore", *ARGS]
    runpy.run_module("django_objectstore.server", run_name="__main__")
    """
)


@pytest.mark.parametrize("missing", ["uvicorn", "httptools"])
def test_cli_run_without_the_http_server_names_the_extra(tmp_path: Path, missing: str) -> None:
    code = _blocking({missing}, "ARGS = ['run']\n" + RUN_CLI)
    result = _python(code, tmp_path)
    assert result.returncode == 1, result.stderr
    assert FIX in result.stderr
    assert missing in result.stderr
    assert "Traceback" not in result.stderr


def test_importing_hosting_without_uvicorn_raises_an_import_error_naming_the_fix(
    tmp_path: Path,
) -> None:
    code = _blocking(
        {"uvicorn"},
        """
        import django_objectstore.server  # the core needs no extra
        try:
            from django_objectstore.server.hosting import ServerThread
        except ImportError as error:
            print(error)
        else:
            raise SystemExit("imported")
        """,
    )
    result = _python(code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert FIX in result.stdout


def test_a_config_file_without_pyyaml_names_the_extra(tmp_path: Path) -> None:
    (tmp_path / "objectstore.yaml").write_text("storage: {type: memory}\n")
    code = _blocking({"yaml"}, "ARGS = ['-c', 'objectstore.yaml', 'run']\n" + RUN_CLI)
    result = _python(code, tmp_path)
    assert result.returncode == 1, result.stderr
    assert "objectstore.yaml" in result.stderr
    assert "PyYAML" in result.stderr and FIX in result.stderr


def test_without_a_config_file_pyyaml_is_not_needed(tmp_path: Path) -> None:
    code = _blocking(
        {"yaml"},
        """
        from django_objectstore.server.hosting import load_config
        config = load_config({"OS__AUTH__ENFORCE": "false", "OS__WORKERS": "2"})
        assert config.workers == 2
        assert "yaml" not in sys.modules
        print("ok")
        """,
    )
    result = _python(code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "ok\n"


def test_the_management_command_names_the_extra(tmp_path: Path) -> None:
    code = _blocking(
        {"uvicorn", "httptools", "yaml"},
        """
        import django
        from django.conf import settings
        settings.configure(INSTALLED_APPS=["django_objectstore"])
        django.setup()
        from django.core.management import call_command
        from django.core.management.base import CommandError
        try:
            call_command("objectstore_server", "--path", "data")
        except CommandError as error:
            print(error)
        """,
    )
    result = _python(code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert FIX in result.stdout


def test_storage_embedded_and_memory_stores_work_without_the_extra(tmp_path: Path) -> None:
    code = _blocking(
        {"uvicorn", "httptools", "yaml"},
        f"""
        import django
        from django.conf import settings
        settings.configure(INSTALLED_APPS=["django_objectstore"])
        django.setup()
        from django.core.files.base import ContentFile
        from django_objectstore.scope import objectstore_scope
        from django_objectstore.storage import ObjectstoreStorage

        for base_url in ("memory://no-extra", "embedded://{tmp_path / "embedded"}"):
            storage = ObjectstoreStorage(base_url=base_url, usecase="files")
            with objectstore_scope(org=1):
                name = storage.save("a.txt", ContentFile(b"hello"))
                assert storage.open(name).read() == b"hello", base_url
                storage.delete(name)
        print(sorted(m for m in sys.modules if m.partition(".")[0] in BLOCKED))
        """,
    )
    result = _python(code, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "[]\n"
