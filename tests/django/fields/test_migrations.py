"""The example site's migrations are committed, current and free of URLs and secrets."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db.migrations.writer import MigrationWriter
from django.test import override_settings

import testproject.example.migrations as migrations_package
from django_objectstore.fields import ObjectstoreFileField
from testproject.example.models import Attachment

pytestmark = pytest.mark.django_db  # makemigrations checks the applied history

MIGRATIONS = Path(migrations_package.__file__).parent
SECRET_OPTIONS = {
    "alias": "attachments",
    "base_url": "http://objectstore.internal:8888",
    "usecase": "attachments",
    "token": "secret-token-value",
}


def test_makemigrations_check_finds_nothing_to_do() -> None:
    out = StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)
    assert "No changes detected" in out.getvalue()


def test_migrations_stay_unchanged_when_the_storage_has_a_url_and_a_token() -> None:
    storages = {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        "attachments": {
            "BACKEND": "django_objectstore.storage.ObjectstoreStorage",
            "OPTIONS": SECRET_OPTIONS,
        },
    }
    out = StringIO()
    with override_settings(STORAGES=storages):
        call_command("makemigrations", "--check", "--dry-run", "-v", "3", stdout=out)
    assert "secret-token-value" not in out.getvalue()
    assert "objectstore.internal" not in out.getvalue()


def test_committed_migrations_name_no_url_and_no_secret() -> None:
    text = "".join(path.read_text() for path in MIGRATIONS.glob("0*.py"))
    assert "ObjectstoreFileField" in text
    for forbidden in ("http://", "https://", "embedded:", "token", "signing_key"):
        assert forbidden not in text


def test_field_deconstructs_to_the_alias_not_a_storage() -> None:
    field = Attachment._meta.get_field("file")
    assert isinstance(field, ObjectstoreFileField)
    _, _, _, kwargs = field.deconstruct()
    assert "storage" not in kwargs  # the default alias, "attachments"
    assert set(kwargs) == {"delete_orphans"}  # the scope callable changes no column


def test_scope_callable_is_not_written_into_migrations() -> None:
    field = ObjectstoreFileField(scope=lambda row: {"org": row.org_id}, delete_orphans=True)
    _, path, _, kwargs = field.deconstruct()
    assert path == "django_objectstore.fields.ObjectstoreFileField"
    assert kwargs == {"delete_orphans": True}
    text, _ = MigrationWriter.serialize(field)  # a lambda would make this raise
    assert "scope" not in text
