"""Every system check message comes with a hint saying what to do."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.checks import CheckMessage, run_checks
from django.test import override_settings

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


BROKEN_OPTIONS: list[dict[str, Any]] = [
    {"base_url": "ftp://x"},
    {"usecase": "Bad Name"},
    {"expiration_policy": "tti:forever"},
    {"compression": "gzip"},
    {"bucket": "b"},
    {"url_mode": "presigned"},
    {"url_mode": "cdn"},
    {"url_expiry": "30 days"},
    {"signing_kid": "k"},
    {"client_options": {"pool": 1}},
    {"url_mode": "direct"},
]


@pytest.mark.parametrize("options", BROKEN_OPTIONS)
def test_every_storage_problem_comes_with_a_hint(options: dict[str, Any]) -> None:
    storages = {**BASE, "attachments": {"BACKEND": BACKEND, "OPTIONS": options}}
    with override_settings(STORAGES=storages):
        messages = ours(include_deployment_checks=True)
    assert messages
    assert all(message.hint for message in messages), [str(m) for m in messages]


@pytest.mark.parametrize(
    "objectstore",
    [
        {"base_url": "ftp://x"},
        {"scope_resolver": "no.such.module"},
        {"download_permission": "no.such.module"},
        {"bse_url": "x"},
    ],
)
def test_every_objectstore_setting_problem_comes_with_a_hint(objectstore: dict[str, Any]) -> None:
    with override_settings(OBJECTSTORE=objectstore):
        messages = ours()
    assert messages
    assert all(message.hint for message in messages), [str(m) for m in messages]


def test_download_permission_hint_does_not_suggest_a_scope_resolver() -> None:
    with override_settings(OBJECTSTORE={"download_permission": "no.such.module"}):
        (message,) = ours()
    assert message.id == "django_objectstore.E013"
    assert "scope" not in (message.hint or "")
