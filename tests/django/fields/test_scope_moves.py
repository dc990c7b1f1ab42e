"""Files follow their row: moving an attachment to another project in the admin copies
its object into the new scope, and the old one goes after commit (``delete_orphans``)."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.base import ContentFile
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from django_objectstore.fields import ScopeMoveError, discard_rolled_back_uploads
from django_objectstore.storage import ObjectstoreStorage
from testproject.example.models import Attachment, Note, Organization, Project

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def projects() -> tuple[Project, Project]:
    acme = Organization.objects.create(name="Acme")
    globex = Organization.objects.create(name="Globex")
    return (
        Project.objects.create(organization=acme, name="Rockets"),
        Project.objects.create(organization=globex, name="Lasers"),
    )


def prefix(project: Project) -> str:
    return f"org={project.organization_id};project={project.pk}/"


def attach(project: Project, data: bytes = b"the plan", name: str = "plan.txt") -> Attachment:
    attachment = Attachment(project=project, original_name=name)
    attachment.file.save(name, ContentFile(data), save=True)
    return attachment


def move_in_admin(client: Client, attachment: Attachment, project: Project) -> Any:
    return client.post(
        reverse("admin:example_attachment_change", args=[attachment.pk]),
        {"project": project.pk, "original_name": attachment.original_name},
    )


def test_moving_an_attachment_in_the_admin_moves_its_file(
    admin_client: Client,
    attachments_storage: ObjectstoreStorage,
    projects: tuple[Project, Project],
    django_capture_on_commit_callbacks: Any,
) -> None:
    rockets, lasers = projects
    attachment = attach(rockets)
    old_name = str(attachment.file.name)

    with django_capture_on_commit_callbacks(execute=True):
        response = move_in_admin(admin_client, attachment, lasers)

    assert response.status_code == 302
    attachment.refresh_from_db()
    new_name = str(attachment.file.name)
    assert new_name.startswith(prefix(lasers))
    with attachments_storage.open(new_name) as moved:
        assert moved.read() == b"the plan"
        assert moved.metadata.filename == "plan.txt"
    assert not attachments_storage.exists(old_name)  # deleted after commit

    change = admin_client.get(reverse("admin:example_attachment_change", args=[attachment.pk]))
    link = attachment.file.url
    assert escape(link) in change.content.decode()  # the admin renders it HTML-escaped
    download = admin_client.get(link)
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == b"the plan"


def test_saving_without_a_scope_change_keeps_the_object(
    admin_client: Client,
    attachments_storage: ObjectstoreStorage,
    projects: tuple[Project, Project],
    django_capture_on_commit_callbacks: Any,
) -> None:
    rockets, _ = projects
    attachment = attach(rockets)
    name = attachment.file.name
    with django_capture_on_commit_callbacks(execute=True):
        assert move_in_admin(admin_client, attachment, rockets).status_code == 302
    attachment.refresh_from_db()
    assert attachment.file.name == name
    assert attachments_storage.exists(str(name))


def test_a_move_whose_object_is_gone_fails_and_saves_nothing(
    admin_client: Client,
    attachments_storage: ObjectstoreStorage,
    projects: tuple[Project, Project],
) -> None:
    rockets, lasers = projects
    attachment = attach(rockets)
    old_name = str(attachment.file.name)
    attachments_storage.delete(old_name)

    with pytest.raises(ScopeMoveError) as error:
        move_in_admin(admin_client, attachment, lasers)

    message = str(error.value)
    assert f"example.Attachment.file pk={attachment.pk}" in message
    assert old_name in message
    assert prefix(lasers).rstrip("/") in message
    assert "FileNotFoundError" in message
    attachment.refresh_from_db()
    assert attachment.project == rockets
    assert attachment.file.name == old_name


def test_without_delete_orphans_the_old_object_stays(
    attachments_storage: ObjectstoreStorage,
    projects: tuple[Project, Project],
    django_capture_on_commit_callbacks: Any,
) -> None:
    rockets, lasers = projects
    note = Note(project=rockets)
    note.file.save("n.txt", ContentFile(b"note"), save=True)
    old_name = str(note.file.name)
    with django_capture_on_commit_callbacks(execute=True):
        note.project = lasers
        note.save()
    assert str(note.file.name).startswith(prefix(lasers))
    assert attachments_storage.exists(old_name)
    with attachments_storage.open(str(note.file.name)) as moved:
        assert moved.read() == b"note"


def test_a_copy_left_by_a_rolled_back_move_is_deleted(
    attachments_storage: ObjectstoreStorage, projects: tuple[Project, Project]
) -> None:
    rockets, lasers = projects
    attachment = attach(rockets)
    old_name = str(attachment.file.name)
    with pytest.raises(RuntimeError), transaction.atomic():
        attachment.project = lasers
        attachment.save()
        moved = str(attachment.file.name)
        raise RuntimeError("roll back")
    discard_rolled_back_uploads()
    assert not attachments_storage.exists(moved)
    assert attachments_storage.exists(old_name)
