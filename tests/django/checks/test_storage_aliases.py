"""System checks of storage aliases: a field's storage alias must be an objectstore entry
of ``STORAGES``, and the ``alias`` option must be the entry's own key."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.core.checks import CheckMessage, run_checks
from django.test import override_settings

from django_objectstore.fields import ObjectstoreFileField
from testproject.example.models import Report

BACKEND = "django_objectstore.storage.ObjectstoreStorage"
BASE = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}


def ours(**kwargs: Any) -> list[CheckMessage]:
    return [
        message
        for message in run_checks(**kwargs)
        if message.id and message.id.startswith("django_objectstore.")
    ]


def ids() -> list[str]:
    return sorted(str(message.id) for message in ours())


@pytest.fixture
def report_alias() -> Iterator[ObjectstoreFileField]:
    field = Report._meta.get_field("file")
    assert isinstance(field, ObjectstoreFileField)
    yield field
    field.storage_alias = "attachments"


def test_field_naming_a_storage_alias_missing_from_storages_is_e015(
    report_alias: ObjectstoreFileField,
) -> None:
    report_alias.storage_alias = "reports"
    found = [m for m in ours() if m.id == "django_objectstore.E015"]
    assert [str(m.obj) for m in found] == ["example.Report.file"]
    assert "'reports'" in found[0].msg and found[0].hint and "STORAGES" in found[0].hint


def test_default_alias_missing_from_storages_is_e015() -> None:
    storages = {**BASE, "files": {"BACKEND": BACKEND, "OPTIONS": {"base_url": "memory://x"}}}
    with override_settings(STORAGES=storages):
        assert "django_objectstore.E015" in ids()


def test_field_on_a_storage_that_is_not_objectstore_is_w005(
    report_alias: ObjectstoreFileField,
) -> None:
    report_alias.storage_alias = "default"
    found = [m for m in ours() if m.id == "django_objectstore.W005"]
    assert [str(m.obj) for m in found] == ["example.Report.file"]


def test_alias_option_naming_another_entry_is_e016() -> None:
    storages = {
        **settings.STORAGES,
        "uploads": {"BACKEND": BACKEND, "OPTIONS": {"base_url": "memory://u", "alias": "x"}},
    }
    with override_settings(STORAGES=storages):
        assert ids() == ["django_objectstore.E016"]


def test_alias_option_equal_to_its_key_passes() -> None:
    configured: Any = settings.STORAGES["attachments"]
    assert configured["OPTIONS"]["alias"] == "attachments"
    assert ids() == []
