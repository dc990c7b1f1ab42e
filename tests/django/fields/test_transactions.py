"""Objects and rows stay consistent across commits, rollbacks and deletes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path

from django_objectstore.fields import discard_rolled_back_uploads
from django_objectstore.storage import ObjectstoreStorage
from testproject.example.models import Attachment, Project

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("attachments_storage")]

CaptureCallbacks = Callable[..., Any]


class Boom(Exception):
    pass


@pytest.fixture(autouse=True)
def _no_leftover_uploads() -> None:
    """Uploads of earlier tests, whose transactions were rolled back, are gone first."""
    discard_rolled_back_uploads()


def _exists(storage: ObjectstoreStorage, name: str | None) -> bool:
    assert name
    return storage.exists(name)


def test_upload_in_rolled_back_atomic_block_is_deleted(
    project: Project,
    attachments_storage: ObjectstoreStorage,
) -> None:
    attachment = Attachment(project=project, file=ContentFile(b"doomed", "a.txt"))
    with pytest.raises(Boom), transaction.atomic():
        attachment.save()
        assert _exists(attachments_storage, attachment.file.name)
        raise Boom
    assert discard_rolled_back_uploads() == 1
    assert not _exists(attachments_storage, attachment.file.name)
    assert not Attachment.objects.exists()


def test_upload_whose_insert_fails_is_deleted(
    project: Project,
    attachments_storage: ObjectstoreStorage,
) -> None:
    existing = Attachment.objects.create(project=project, file=ContentFile(b"1", "1.txt"))
    attachment = Attachment(pk=existing.pk, project=project, file=ContentFile(b"2", "2.txt"))
    with pytest.raises(IntegrityError), transaction.atomic():
        attachment.save(force_insert=True)  # the primary key is taken
    assert discard_rolled_back_uploads() == 1
    assert not _exists(attachments_storage, attachment.file.name)
    assert _exists(attachments_storage, existing.file.name)


def test_upload_of_committed_row_is_kept(
    project: Project,
    attachments_storage: ObjectstoreStorage,
    django_capture_on_commit_callbacks: CaptureCallbacks,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        attachment = Attachment.objects.create(project=project, file=ContentFile(b"k", "k.txt"))
    assert discard_rolled_back_uploads() == 0
    assert _exists(attachments_storage, attachment.file.name)


def test_upload_of_row_still_in_open_transaction_is_kept(
    project: Project,
    attachments_storage: ObjectstoreStorage,
) -> None:
    attachment = Attachment.objects.create(project=project, file=ContentFile(b"k", "k.txt"))
    assert discard_rolled_back_uploads() == 0  # the test's transaction may still commit
    assert _exists(attachments_storage, attachment.file.name)


def test_upload_in_rolled_back_savepoint_is_deleted_but_outer_upload_kept(
    project: Project,
    attachments_storage: ObjectstoreStorage,
) -> None:
    with transaction.atomic():
        kept = Attachment.objects.create(project=project, file=ContentFile(b"1", "1.txt"))
        doomed = Attachment(project=project, file=ContentFile(b"2", "2.txt"))
        with pytest.raises(Boom), transaction.atomic():
            doomed.save()
            raise Boom
        assert discard_rolled_back_uploads() == 1
    assert _exists(attachments_storage, kept.file.name)
    assert not _exists(attachments_storage, doomed.file.name)
    assert list(Attachment.objects.all()) == [kept]


uploaded: list[str] = []


def failing_upload_view(request: HttpRequest, project_id: int) -> HttpResponse:
    project = Project.objects.get(pk=project_id)
    try:
        with transaction.atomic():
            attachment = Attachment.objects.create(
                project=project, file=ContentFile(request.body, "upload.bin")
            )
            uploaded.append(str(attachment.file.name))
            raise Boom
    except Boom:
        return HttpResponse(status=409)


urlpatterns = [path("fail/<int:project_id>/", failing_upload_view)]


@pytest.mark.urls(__name__)
def test_upload_rolled_back_in_a_request_is_deleted_when_the_request_finishes(
    project: Project,
    attachments_storage: ObjectstoreStorage,
) -> None:
    uploaded.clear()
    response = Client().generic(
        "POST", f"/fail/{project.pk}/", b"payload", content_type="application/octet-stream"
    )
    assert response.status_code == 409
    assert len(uploaded) == 1
    assert not _exists(attachments_storage, uploaded[0])
    assert not Attachment.objects.exists()


def test_deleting_a_row_deletes_its_object_after_commit(
    project: Project,
    attachments_storage: ObjectstoreStorage,
    django_capture_on_commit_callbacks: CaptureCallbacks,
) -> None:
    attachment = Attachment.objects.create(project=project, file=ContentFile(b"x", "x.txt"))
    name = attachment.file.name
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        attachment.delete()
    assert _exists(attachments_storage, name)  # not before the commit
    for callback in callbacks:
        callback()
    assert not _exists(attachments_storage, name)


def test_rolled_back_delete_keeps_the_object(
    project: Project,
    attachments_storage: ObjectstoreStorage,
    django_capture_on_commit_callbacks: CaptureCallbacks,
) -> None:
    attachment = Attachment.objects.create(project=project, file=ContentFile(b"x", "x.txt"))
    pk = attachment.pk
    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(Boom),
        transaction.atomic(),
    ):
        attachment.delete()
        raise Boom
    assert Attachment.objects.filter(pk=pk).exists()
    assert _exists(attachments_storage, attachment.file.name)


def test_replacing_a_file_deletes_the_old_object_after_commit(
    project: Project,
    attachments_storage: ObjectstoreStorage,
    django_capture_on_commit_callbacks: CaptureCallbacks,
) -> None:
    attachment = Attachment.objects.create(project=project, file=ContentFile(b"v1", "v1.txt"))
    loaded = Attachment.objects.get(pk=attachment.pk)
    old = loaded.file.name
    with django_capture_on_commit_callbacks(execute=True):
        loaded.file = ContentFile(b"v2", "v2.txt")
        loaded.save()
    assert loaded.file.name != old
    assert not _exists(attachments_storage, old)
    assert _exists(attachments_storage, loaded.file.name)


def test_object_still_referenced_by_another_row_is_not_deleted(
    project: Project,
    attachments_storage: ObjectstoreStorage,
    django_capture_on_commit_callbacks: CaptureCallbacks,
) -> None:
    first = Attachment.objects.create(project=project, file=ContentFile(b"s", "s.txt"))
    second = Attachment.objects.create(project=project, file=first.file.name)
    with django_capture_on_commit_callbacks(execute=True):
        first.delete()
    assert _exists(attachments_storage, second.file.name)
    with django_capture_on_commit_callbacks(execute=True):
        second.delete()
    assert not _exists(attachments_storage, second.file.name)
