"""Relative embedded stores follow BASE_DIR, and read-only commands never create a store.

A command run from another directory (cron, a deploy script, a shell in ``/``) must see
the objects the web process stored, and a command given a store that does not exist
must say so instead of creating an empty one that makes every reference look missing.
"""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from django_objectstore.storage import ObjectstoreStorage
from testproject.example.models import Attachment, Project
from tests.django.commands.configs import storage_config

pytestmark = pytest.mark.django_db


@pytest.fixture
def site(tmp_path: Path) -> Path:
    directory = tmp_path / "site"
    directory.mkdir()
    return directory


@pytest.fixture
def elsewhere(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    directory = tmp_path / "elsewhere"
    directory.mkdir()
    monkeypatch.chdir(directory)
    return directory


def configured(site: Path, base_url: str, **options: Any) -> Any:
    config = storage_config(base_url, "embedded-files", expiration_policy="tti:1h", **options)
    return override_settings(BASE_DIR=site, STORAGES={**settings.STORAGES, "attachments": config})


def close_storages() -> None:
    for alias in list(getattr(storages, "_storages", {})):
        storage = storages[alias]
        if isinstance(storage, ObjectstoreStorage):
            storage.close()


@pytest.fixture(autouse=True)
def _close() -> Iterator[None]:
    yield
    close_storages()


def run(command: str, **options: Any) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(command, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    ("base_url", "directory"),
    [("embedded:", ".objectstore-data"), ("embedded:var/store", "var/store")],
)
def test_keepalive_from_another_directory_finds_the_references(
    site: Path, elsewhere: Path, project: Project, base_url: str, directory: str
) -> None:
    with configured(site, base_url):
        for name in ("a.txt", "b.txt"):
            Attachment(project=project).file.save(name, ContentFile(b"kept"), save=True)
    assert (site / directory).is_dir()
    with configured(site, base_url):  # new storage instances, as in another process
        out, _ = run("objectstore_keepalive", clear_missing=True)
    assert "checked 2, refreshed 2, missing 0, failed 0" in out
    assert Attachment.objects.exclude(file="").count() == 2
    assert list(elsewhere.iterdir()) == []


def test_the_storage_resolves_relative_embedded_urls_against_base_dir(site: Path) -> None:
    with configured(site, "embedded:var/store"):
        storage = storages["attachments"]
        assert isinstance(storage, ObjectstoreStorage)
        assert storage.resolved_base_url() == f"embedded://{(site / 'var/store').as_posix()}"


def test_keepalive_on_a_store_that_does_not_exist_fails_naming_it(
    site: Path, elsewhere: Path, project: Project
) -> None:
    Attachment.objects.create(project=project, file=f"org=1;project={project.pk}/abc")
    with configured(site, "embedded:nowhere"), pytest.raises(CommandError) as error:
        run("objectstore_keepalive", clear_missing=True, force=True)
    assert str(site / "nowhere") in str(error.value)
    assert "does not exist" in str(error.value)
    assert not (site / "nowhere").exists()
    assert list(elsewhere.iterdir()) == []
    assert Attachment.objects.get().file.name  # nothing cleared


def test_check_on_a_store_that_does_not_exist_fails_naming_it(site: Path, elsewhere: Path) -> None:
    err_stream = StringIO()
    with configured(site, "embedded:nowhere"), pytest.raises(CommandError, match="1 of 1"):
        call_command("objectstore_check", stdout=StringIO(), stderr=err_stream)
    assert "attachments: FAILED at configuration" in err_stream.getvalue()
    assert str(site / "nowhere") in err_stream.getvalue()
    assert not (site / "nowhere").exists()
    assert list(elsewhere.iterdir()) == []


def test_check_on_an_existing_relative_store_passes_from_another_directory(
    site: Path, elsewhere: Path
) -> None:
    (site / ".objectstore-data").mkdir()
    with configured(site, "embedded:"):
        out, _ = run("objectstore_check")
    assert f"attachments: OK (round trip on embedded://{site.as_posix()}/.objectstore-data" in out
    assert list(elsewhere.iterdir()) == []


def test_copy_from_a_source_directory_that_does_not_exist_fails_naming_it(
    site: Path, tmp_path: Path, project: Project
) -> None:
    legacy = {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(tmp_path / "missing-media")},
    }
    with (
        configured(site, "embedded:"),
        override_settings(STORAGES={**settings.STORAGES, "legacy": legacy}),
        pytest.raises(CommandError, match=r"missing-media does not exist"),
    ):
        run("objectstore_copy", model="example.Attachment.file", from_storage="legacy")
    assert not (tmp_path / "missing-media").exists()
