"""``E017``: a relative embedded store needs ``BASE_DIR`` to be resolved against."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.checks import run_checks
from django.test import override_settings

BACKEND = "django_objectstore.storage.ObjectstoreStorage"


def storages_with(**options: Any) -> dict[str, Any]:
    return {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "attachments": {"BACKEND": BACKEND, "OPTIONS": options},
    }


def ids() -> list[str]:
    return sorted(
        str(message.id)
        for message in run_checks()
        if message.id and message.id.startswith("django_objectstore.")
    )


@pytest.mark.parametrize(
    ("options", "objectstore"),
    [
        ({"base_url": "embedded:"}, {}),
        ({"base_url": "embedded:var/files"}, {}),
        ({}, {}),  # the default embedded store
        ({}, {"base_url": "embedded:shared"}),
    ],
)
def test_relative_embedded_store_without_base_dir_is_e017(
    settings: Any, options: dict[str, Any], objectstore: dict[str, Any]
) -> None:
    del settings.BASE_DIR
    with override_settings(STORAGES=storages_with(**options), OBJECTSTORE=objectstore):
        assert ids() == ["django_objectstore.E017"]


@pytest.mark.parametrize(
    "base_url", ["embedded:///srv/objectstore", "http://objectstore:8888", "memory://x"]
)
def test_absolute_stores_need_no_base_dir(settings: Any, base_url: str) -> None:
    del settings.BASE_DIR
    with override_settings(STORAGES=storages_with(base_url=base_url), OBJECTSTORE={}):
        assert ids() == []


def test_relative_embedded_store_with_base_dir_passes() -> None:
    with override_settings(STORAGES=storages_with(base_url="embedded:var"), OBJECTSTORE={}):
        assert ids() == []


def test_the_message_names_the_fix(settings: Any) -> None:
    del settings.BASE_DIR
    with override_settings(STORAGES=storages_with(base_url="embedded:"), OBJECTSTORE={}):
        (message,) = [m for m in run_checks() if m.id == "django_objectstore.E017"]
    assert "BASE_DIR" in message.msg
    assert "embedded:///absolute/dir" in str(message.hint)
