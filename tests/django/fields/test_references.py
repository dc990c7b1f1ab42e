"""Orphan deletion never removes an object some row still references: through another
alias for the same usecase, or in a row the default manager hides."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.db import models
from django.test import override_settings

from django_objectstore.fields import ObjectstoreFileField
from django_objectstore.scope import objectstore_scope
from django_objectstore.storage import ObjectstoreStorage
from testproject.example.models import Attachment, Project, Report

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("attachments_storage")]

CaptureCallbacks = Callable[..., Any]


def _report_field() -> ObjectstoreFileField:
    field = Report._meta.get_field("file")
    assert isinstance(field, ObjectstoreFileField)
    return field


@pytest.fixture
def second_alias(
    attachments_storage: ObjectstoreStorage,
) -> Iterator[ObjectstoreStorage]:
    """``attachments_copy``: another STORAGES entry for the same server and usecase,
    used by ``Report.file`` for the duration of the test."""
    options = {
        "alias": "attachments_copy",
        "base_url": attachments_storage.resolved_base_url(),
        "usecase": attachments_storage.usecase.name,
    }
    copy = {"BACKEND": "django_objectstore.storage.ObjectstoreStorage", "OPTIONS": options}
    field = _report_field()
    with override_settings(STORAGES={**settings.STORAGES, "attachments_copy": copy}):
        field.storage_alias = "attachments_copy"
        try:
            storage = storages["attachments_copy"]
            assert isinstance(storage, ObjectstoreStorage)
            assert storage is not storages["attachments"]
            yield storage
        finally:
            field.storage_alias = "attachments"


def test_object_referenced_through_another_alias_for_the_same_usecase_is_kept(
    project: Project,
    second_alias: ObjectstoreStorage,
    django_capture_on_commit_callbacks: CaptureCallbacks,
) -> None:
    attachment = Attachment.objects.create(project=project, file=ContentFile(b"s", "s.txt"))
    name = attachment.file.name
    assert name
    Report.objects.create(title="copy", file=name)
    with django_capture_on_commit_callbacks(execute=True):
        attachment.delete()
    assert second_alias.exists(name)


class _HidesEverything(models.Manager[Report]):
    def get_queryset(self) -> models.QuerySet[Report]:
        return super().get_queryset().none()


def test_rows_hidden_by_the_default_manager_still_keep_their_object(
    project: Project,
    attachments_storage: ObjectstoreStorage,
    django_capture_on_commit_callbacks: CaptureCallbacks,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    attachment = Attachment.objects.create(project=project, file=ContentFile(b"s", "s.txt"))
    name = attachment.file.name
    assert name
    with objectstore_scope():
        Report.objects.create(title="archived", file=name)
    hidden = _HidesEverything()
    hidden.model = Report
    # A soft-deleting default manager: the row exists but the default manager hides it.
    monkeypatch.setitem(Report._meta.__dict__, "default_manager", hidden)
    assert not Report._default_manager.exists()
    with django_capture_on_commit_callbacks(execute=True):
        attachment.delete()
    assert attachments_storage.exists(name)
