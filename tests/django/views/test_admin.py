"""The example site's admin works with ObjectstoreFileField: add, list, download."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from testproject.example.models import Attachment, Organization, Project

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("attachments_storage")]


def test_admin_adds_an_attachment_and_links_to_its_download(admin_client: Client) -> None:
    organization = Organization.objects.create(name="Acme")
    project = Project.objects.create(organization=organization, name="Rockets")
    upload = SimpleUploadedFile("plan.txt", b"the plan", content_type="text/plain")
    response = admin_client.post(
        reverse("admin:example_attachment_add"),
        {"project": project.pk, "file": upload, "original_name": "plan.txt"},
    )
    assert response.status_code == 302
    attachment = Attachment.objects.get()
    assert str(attachment.file.name).startswith(f"org={organization.pk};project={project.pk}/")

    changelist = admin_client.get(reverse("admin:example_attachment_changelist"))
    assert changelist.status_code == 200
    change = admin_client.get(reverse("admin:example_attachment_change", args=[attachment.pk]))
    link = attachment.file.url
    assert escape(link) in change.content.decode()
    download = admin_client.get(link)
    assert b"".join(download.streaming_content) == b"the plan"  # type: ignore[attr-defined]


def test_text_uploaded_without_a_charset_is_served_as_utf8(admin_client: Client) -> None:
    organization = Organization.objects.create(name="Acme")
    project = Project.objects.create(organization=organization, name="Rockets")
    text = "Grüße, naïve café ✓\n".encode()
    upload = SimpleUploadedFile("greeting.txt", text, content_type="text/plain")
    admin_client.post(
        reverse("admin:example_attachment_add"),
        {"project": project.pk, "file": upload, "original_name": "greeting.txt"},
    )
    attachment = Attachment.objects.get()
    download = Client().get(attachment.file.url)
    assert download["Content-Type"] == "text/plain; charset=utf-8"
    assert download["Content-Disposition"].startswith("inline;")
    assert b"".join(download.streaming_content) == text  # type: ignore[attr-defined]
