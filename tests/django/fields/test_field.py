"""ObjectstoreFileField through real model saves, loads and deletes on a real server."""

from __future__ import annotations

import pytest
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.core.files.base import ContentFile
from django.core.files.storage import InMemoryStorage
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.test import Client
from django.urls import path

from django_objectstore.fields import ObjectstoreFileField
from django_objectstore.scope import objectstore_scope
from django_objectstore.storage import ObjectstoreStorage
from testproject.example.models import Attachment, Project, Report

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("attachments_storage")]


def test_saved_name_starts_with_the_scope_from_the_scope_callable(project: Project) -> None:
    attachment = Attachment.objects.create(project=project, file=ContentFile(b"x", "a.txt"))
    prefix = f"org={project.organization_id};project={project.pk}/"
    assert str(attachment.file.name).startswith(prefix)
    assert len(str(attachment.file.name)) > len(prefix)


def test_file_reads_back_after_loading_the_row(project: Project) -> None:
    data = bytes(range(256)) * 100
    saved = Attachment.objects.create(project=project, file=ContentFile(data, "blob.bin"))
    loaded = Attachment.objects.get(pk=saved.pk)
    with loaded.file.open("rb") as handle:
        assert handle.read() == data
    assert loaded.file.size == len(data)


def test_file_of_another_scope_is_refused_while_a_scope_is_active(project: Project) -> None:
    attachment = Attachment.objects.create(project=project, file=ContentFile(b"x", "a.txt"))
    with objectstore_scope(org=project.organization_id + 1, project=project.pk):
        with pytest.raises(PermissionDenied):
            attachment.file.open("rb")
        with pytest.raises(PermissionDenied):
            attachment.file.url  # noqa: B018
    with (
        objectstore_scope(org=project.organization_id, project=project.pk),
        attachment.file.open("rb") as handle,
    ):
        assert handle.read() == b"x"


def test_file_without_scope_callable_takes_the_active_scope() -> None:
    with objectstore_scope(org=7, project="p1"):
        report = Report.objects.create(title="t", file=ContentFile(b"report", "r.csv"))
    assert str(report.file.name).startswith("org=7;project=p1/")


def report_view(request: HttpRequest, org_id: int, project_id: int) -> HttpResponse:
    report = Report.objects.create(title="r", file=ContentFile(request.body, "r.csv"))
    return HttpResponse(report.file.name)


urlpatterns = [path("orgs/<int:org_id>/projects/<int:project_id>/reports/", report_view)]


@pytest.mark.urls(__name__)
def test_file_saved_in_a_request_takes_the_request_scope() -> None:
    response = Client().generic("POST", "/orgs/5/projects/6/reports/", b"a,b\n")
    assert response.status_code == 200
    name = response.content.decode()
    assert name.startswith("org=5;project=6/")
    with objectstore_scope(org=5, project=6), Report.objects.get().file.open("rb") as handle:
        assert handle.read() == b"a,b\n"


def test_file_without_any_scope_raises_an_error_naming_both_fixes() -> None:
    with pytest.raises(ImproperlyConfigured) as caught, transaction.atomic():
        Report.objects.create(title="t", file=ContentFile(b"report", "r.csv"))
    message = str(caught.value)
    assert "example.Report.file" in message
    assert "scope=" in message
    assert "ObjectstoreScopeMiddleware" in message
    assert "objectstore_scope" in message
    assert not Report.objects.exists()


def test_field_file_save_uploads_into_the_scope(project: Project) -> None:
    attachment = Attachment(project=project)
    attachment.file.save("notes.txt", ContentFile(b"notes"))
    assert Attachment.objects.get(pk=attachment.pk).file.name == attachment.file.name
    assert str(attachment.file.name).startswith(f"org={project.organization_id};")


def test_default_max_length_fits_long_scopes() -> None:
    assert Attachment._meta.get_field("file").max_length == 512


def test_storage_alias_is_resolved_on_access(attachments_storage: ObjectstoreStorage) -> None:
    field = Attachment._meta.get_field("file")
    assert isinstance(field, ObjectstoreFileField)
    assert field.storage is attachments_storage


def test_deconstruct_keeps_only_the_alias_and_non_default_arguments() -> None:
    _, path, args, kwargs = ObjectstoreFileField().deconstruct()
    assert path == "django_objectstore.fields.ObjectstoreFileField"
    assert (args, kwargs) == ([], {})
    _, _, _, kwargs = ObjectstoreFileField(
        storage="avatars", max_length=300, upload_to="u/", delete_orphans=True
    ).deconstruct()
    assert kwargs == {
        "storage": "avatars",
        "max_length": 300,
        "upload_to": "u/",
        "delete_orphans": True,
    }


def test_deconstruct_of_a_storage_instance_keeps_the_instance() -> None:
    storage = InMemoryStorage()
    _, _, _, kwargs = ObjectstoreFileField(storage=storage).deconstruct()
    assert kwargs == {"storage": storage}


def test_scope_must_be_callable() -> None:
    with pytest.raises(TypeError, match="scope"):
        ObjectstoreFileField(scope={"org": 1})  # type: ignore[arg-type]


def test_invalid_scope_value_from_the_callable_names_the_field(project: Project) -> None:
    project.name = "x"
    attachment = Attachment(project=project)
    field = Attachment._meta.get_field("file")
    assert isinstance(field, ObjectstoreFileField)
    original = field.scope
    field.scope = lambda instance: {"org": "a b"}
    try:
        with pytest.raises(ValueError, match=r"example\.Attachment\.file"):
            attachment.file.save("a.txt", ContentFile(b"x"), save=False)
    finally:
        field.scope = original
