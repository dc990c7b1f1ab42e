"""A Sentry-style settings module (``settings.py`` here) against the auth-enforcing server:
one shared client, a TTL read at runtime, an uncompressed 90-day TTI usecase, a field
whose scope is the organization only, redirects and proxy downloads."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

import pytest
import urllib3
from django.core.checks import run_checks
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import models
from django.test import Client, override_settings
from django.test.utils import isolate_apps

from django_objectstore.client import TimeToIdle, TimeToLive
from django_objectstore.fields import ObjectstoreFileField
from django_objectstore.scope import objectstore_scope as active_scope
from django_objectstore.storage import ObjectstoreContent, ObjectstoreStorage
from testproject.example.models import Attachment, Project

pytestmark = pytest.mark.django_db


@pytest.fixture
def sentry_settings(
    objectstore_auth_server: Any, monkeypatch: pytest.MonkeyPatch
) -> Iterator[ModuleType]:
    """The settings module, imported with the environment a deployment would give it."""
    monkeypatch.setenv("SENTRY_OBJECTSTORE_URL", str(objectstore_auth_server))
    monkeypatch.setenv("SENTRY_OBJECTSTORE_SIGNING_KEY", objectstore_auth_server.private_key_pem)
    monkeypatch.setenv("SENTRY_OBJECTSTORE_SIGNING_KID", objectstore_auth_server.kid)
    module = importlib.reload(importlib.import_module("tests.django.sentry_style.settings"))
    with override_settings(
        OBJECTSTORE=module.OBJECTSTORE,
        STORAGES=module.STORAGES,
        ROOT_URLCONF="tests.django.sentry_style.urls",
    ):
        yield module
        for alias in ("attachments", "debug-files"):
            storages[alias].close()


@pytest.fixture
def debug_file_model() -> Iterator[type[models.Model]]:
    """A model whose file is scoped by organization only (no table: saved with save=False)."""
    with isolate_apps("tests.django.sentry_style"):

        class DebugFile(models.Model):
            org_id = models.CharField(max_length=32)
            file = ObjectstoreFileField(
                storage="debug-files", scope=lambda row: {"org": row.org_id}
            )

            class Meta:
                app_label = "sentry_style"

        yield DebugFile


def _storage(alias: str) -> ObjectstoreStorage:
    storage = storages[alias]
    assert isinstance(storage, ObjectstoreStorage)
    return storage


def _days_from_now(moment: datetime | None) -> float:
    assert moment is not None
    return (moment - datetime.now(UTC)) / timedelta(days=1)


def test_the_settings_pass_every_check(sentry_settings: ModuleType) -> None:
    messages = [m for m in run_checks() if (m.id or "").startswith("django_objectstore.")]
    assert messages == []


def test_both_usecases_share_one_client_and_pool(sentry_settings: ModuleType) -> None:
    attachments, debug_files = _storage("attachments"), _storage("debug-files")
    assert attachments.client is debug_files.client
    transport: Any = attachments.client.transport
    assert transport.pool.pool.maxsize == 16
    assert attachments.read_timeout == 10.0
    assert type(attachments.client.metrics_backend).__name__ == "Metrics"


def test_attachments_live_for_the_retention_read_at_save_time(
    sentry_settings: ModuleType, project: Project
) -> None:
    attachments = _storage("attachments")
    first = Attachment.objects.create(project=project, file=ContentFile(b"a" * 1000, "a.log"))
    with override_settings(SENTRY_ATTACHMENTS_RETENTION_DAYS=7):
        second = Attachment(project=project)
        second.file.save(
            "minidump.dmp",
            ObjectstoreContent(
                ContentFile(b"MDMP" * 100),
                metadata={"event_id": "9f1c"},
                content_type="application/x-minidump",
            ),
        )
    first_meta = attachments.metadata(first.file.name)
    second_meta = attachments.metadata(second.file.name)
    assert first_meta.expiration_policy == TimeToLive(timedelta(days=30))
    assert abs(_days_from_now(first_meta.time_expires) - 30) < 0.01
    assert second_meta.expiration_policy == TimeToLive(timedelta(days=7))
    assert abs(_days_from_now(second_meta.time_expires) - 7) < 0.01
    assert first_meta.compression == "zstd"
    assert second_meta.custom["event_id"] == "9f1c"
    assert second_meta.content_type == "application/x-minidump"
    assert str(first.file.name).startswith(f"org={project.organization_id};project={project.pk}/")


def test_attachments_open_url_and_delete(sentry_settings: ModuleType, project: Project) -> None:
    attachments = _storage("attachments")
    attachment = Attachment.objects.create(
        project=project, file=ContentFile(b"log\n" * 64, "x.txt")
    )
    name = str(attachment.file.name)
    with attachment.file.open("rb") as handle:
        assert handle.read() == b"log\n" * 64
    response = Client().get(attachment.file.url)  # proxy mode: streamed by the view
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"log\n" * 64
    attachments.delete(name)
    assert not attachments.exists(name)


def test_debug_files_are_uncompressed_tti_and_org_scoped(
    sentry_settings: ModuleType, debug_file_model: Any, objectstore_scope: dict[str, str]
) -> None:
    debug_files = _storage("debug-files")
    org = objectstore_scope["project"]  # a fresh value for this test
    row = debug_file_model(org_id=org)
    payload = bytes(range(256)) * 64
    row.file.save("libfoo.so.debug", ContentFile(payload), save=False)
    name = str(row.file.name)
    assert name.startswith(f"org={org}/") and ";" not in name.split("/")[0]
    meta = debug_files.metadata(name)
    assert meta.compression is None and meta.size == len(payload)
    assert meta.expiration_policy == TimeToIdle(timedelta(days=90))
    assert abs(_days_from_now(meta.time_expires) - 90) < 0.01
    with active_scope(org=org), row.file.open("rb") as handle:
        handle.seek(1000)
        assert handle.read(10) == payload[1000:1010]
    assert debug_files.size(name) == len(payload)
    debug_files.delete(name)
    assert not debug_files.exists(name)


def test_debug_file_downloads_redirect_to_objectstore(
    sentry_settings: ModuleType,
    debug_file_model: Any,
    objectstore_auth_server: Any,
    objectstore_scope: dict[str, str],
) -> None:
    org = objectstore_scope["project"]
    row = debug_file_model(org_id=org)
    row.file.save("app.dsym", ContentFile(b"DSYM" * 256), save=False)
    signed = Client().get(row.file.url)
    assert signed.status_code == 302
    location = signed["Location"]
    assert location.startswith(str(objectstore_auth_server))
    fetched = urllib3.request("GET", location, retries=False, redirect=False)
    assert fetched.status == 200 and fetched.data == b"DSYM" * 256
    # The organization's own URL (org-only scope from the resolver) redirects too...
    path = f"/organizations/{org}/files/{row.file.name}?storage=debug-files"
    own = Client().get(path)
    assert own.status_code == 302
    assert urlsplit(own["Location"]).path == urlsplit(location).path
    # ...and another organization's URL does not.
    other = Client().get(path.replace(f"/{org}/", f"/other{org}/"))
    assert other.status_code == 404 and "Location" not in other
