"""docs/quickstart.md, followed to the letter in a fresh ``django-admin startproject``.

The project is built from the quickstart's own code blocks, read from the markdown at
test time: a ```` ```python ```` block whose first line is ``# <path>`` is that file's
whole content, ``# <path>: add at the end`` is appended to it. Every step runs in a
subprocess with this interpreter, as a newcomer's shell would, from the project
directory (and the commands from another one).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from django_objectstore.pytest_plugin import ObjectstoreServer

ROOT = Path(__file__).resolve().parents[3]
QUICKSTART = ROOT / "docs" / "quickstart.md"
TIMEOUT = 120
BLOCK = re.compile(r"^( *)```python\n(.*?)^\1```", re.MULTILINE | re.DOTALL)
TARGET = re.compile(r"# (?P<path>[\w./-]+\.py)(?P<append>: add at the end)?$")

DEPLOY_SETTINGS = """
from .settings import *  # noqa

DEBUG = False
SECRET_KEY = "q8#quickstart-deploy-check-" + "x" * 40
ALLOWED_HOSTS = ["testserver", "localhost"]
SECURE_SSL_REDIRECT = True
SECURE_HSTS_SECONDS = 3600
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = True
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
OBJECTSTORE = {"base_url": os.environ["QUICKSTART_OBJECTSTORE_URL"]}
SMTP = "django.core.mail.backends.smtp.EmailBackend"
if "MAILERS" in globals():  # Django 6.1+ startproject: a console backend (mail.E001)
    MAILERS = {"default": {"BACKEND": SMTP}}  # EMAIL_BACKEND is refused next to it
else:
    EMAIL_BACKEND = SMTP
"""

VISIT = """
import json, re, sys
import django
django.setup()
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.test import Client
from attachments.models import Attachment, Project

data = sys.argv[1].encode() * 500
project = Project.objects.create(name="Rockets")
attachment = Attachment(project=project)
attachment.file.save("plan.txt", ContentFile(data), save=True)
secure = sys.argv[2] == "secure"
results = {"name": attachment.file.name}

def fetch(client, page, pattern):
    response = client.get(page, secure=secure)
    match = re.search(pattern, response.content.decode())
    if response.status_code != 200 or match is None:
        return {"page": response.status_code}
    download = client.get(match.group(1).replace("&amp;", "&"), secure=secure)
    body = b"".join(download.streaming_content) if download.streaming else download.content
    return {"page": 200, "status": download.status_code, "same": body == data}

visitor = Client(SERVER_NAME="localhost")
results["anonymous"] = fetch(visitor, f"/projects/{project.pk}/", r'<a href="([^"]+)">')
users = get_user_model().objects
user = users.filter(username="admin").first()
user = user or users.create_superuser("admin", "a@example.com", "pw")
admin = Client(SERVER_NAME="localhost")
admin.force_login(user)
change = f"/admin/attachments/attachment/{attachment.pk}/change/"
results["admin"] = fetch(admin, change, r'Currently:\\s*<a href="([^"]+)">')
print(json.dumps(results))
"""


def quickstart_blocks() -> list[tuple[str, bool, str]]:
    """``(path, append, code)`` of every python block that names its file."""
    blocks = []
    for indent, body in BLOCK.findall(QUICKSTART.read_text(encoding="utf-8")):
        lines = [line[len(indent) :] for line in body.splitlines()]
        match = TARGET.match(lines[0]) if lines else None
        if match:
            blocks.append((match["path"], bool(match["append"]), "\n".join(lines[1:]) + "\n"))
    return blocks


class Project:
    def __init__(self, directory: Path, env: dict[str, str]) -> None:
        self.directory = directory
        self.env = env

    def run(
        self, *args: str, cwd: Path | None = None, settings: str = "mysite.settings"
    ) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, *args],
            cwd=cwd or self.directory,
            env={**self.env, "DJANGO_SETTINGS_MODULE": settings},
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
        if result.returncode:
            raise AssertionError(f"{args} failed:\n{result.stdout}\n{result.stderr}")
        return result

    def manage(self, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return self.run(str(self.directory / "manage.py"), *args, **kwargs)


@pytest.fixture(scope="module")
def project(
    tmp_path_factory: pytest.TempPathFactory, objectstore_server: ObjectstoreServer
) -> Iterator[Project]:
    base = tmp_path_factory.mktemp("quickstart")
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "QUICKSTART_OBJECTSTORE_URL": str(objectstore_server),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    site = Project(base / "mysite", env)
    site.run("-m", "django", "startproject", "mysite", cwd=base)
    site.manage("startapp", "attachments")
    blocks = quickstart_blocks()
    assert {path for path, _, _ in blocks} >= {
        "mysite/settings.py",
        "attachments/models.py",
        "mysite/urls.py",
    }
    for path, append, code in blocks:
        target = site.directory / path
        if append:
            target.write_text(target.read_text() + "\n" + code)
        else:
            target.write_text(code)
    (site.directory / "mysite" / "settings_deploy.py").write_text("import os\n" + DEPLOY_SETTINGS)
    site.manage("makemigrations", "attachments")
    site.manage("migrate", "--verbosity", "0")
    yield site


def visit(project: Project, settings: str, text: str) -> dict[str, Any]:
    script = project.directory / "visit.py"
    script.write_text(VISIT)
    secure = "secure" if settings.endswith("deploy") else "plain"
    output = project.run(str(script), text, secure, settings=settings).stdout
    results: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return results


def test_the_quickstart_project_passes_the_system_checks(project: Project) -> None:
    result = project.manage("check", "--fail-level", "WARNING")
    assert "no issues" in result.stdout


def test_the_deploy_settings_pass_check_deploy(project: Project) -> None:
    result = project.manage(
        "check", "--deploy", "--fail-level", "WARNING", settings="mysite.settings_deploy"
    )
    assert "no issues" in result.stdout


def test_files_are_stored_under_base_dir_and_commands_work_from_anywhere(
    project: Project, tmp_path: Path
) -> None:
    results = visit(project, "mysite.settings", "kept alive ")
    assert results["name"].startswith("project=")
    assert (project.directory / ".objectstore-data").is_dir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    keepalive = project.manage("objectstore_keepalive", "--clear-missing", cwd=elsewhere)
    assert re.search(r"refreshed (\d+), missing 0, failed 0", keepalive.stdout)
    assert "refreshed 0" not in keepalive.stdout
    check = project.manage("objectstore_check", cwd=elsewhere)
    assert "attachments: OK" in check.stdout
    assert list(elsewhere.iterdir()) == []


@pytest.mark.parametrize("settings", ["mysite.settings", "mysite.settings_deploy"])
def test_file_url_downloads_for_a_visitor_of_the_page_and_for_the_admin(
    project: Project, settings: str
) -> None:
    results = visit(project, settings, f"downloaded with {settings} ")
    assert results["anonymous"] == {"page": 200, "status": 200, "same": True}
    assert results["admin"] == {"page": 200, "status": 200, "same": True}
