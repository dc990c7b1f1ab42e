"""The download view asks objectstore for a range instead of skipping to it."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse

from django_objectstore.server import (
    App,
    AuthConfig,
    Request,
    Response,
    ServerConfig,
    StorageConfig,
    create_app,
)
from django_objectstore.server.hosting import ServerThread
from testproject.example.models import Attachment, Organization, Project
from tests.django.attachments import attachments_with

pytestmark = pytest.mark.django_db

DATA = os.urandom(200_000)


class RecordingApp:
    """The real app, remembering the Range header of every GET."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.engine = app.engine
        self.config = app.config
        self.ranges: list[str | None] = []

    def handle(self, request: Request) -> Response:
        if request.method == "GET":
            self.ranges.append(request.headers.get("range"))
        return self.app.handle(request)


@pytest.fixture
def recording() -> Iterator[RecordingApp]:
    config = ServerConfig(storage=StorageConfig(type="memory"), auth=AuthConfig(enforce=False))
    app = RecordingApp(create_app(config))
    with (
        ServerThread(app) as server,
        attachments_with(alias="attachments", base_url=server.url, usecase="attachments"),
    ):
        yield app


@pytest.mark.parametrize(
    ("filename", "accept"),
    [("photo.png", None), ("notes.txt", "zstd")],
    ids=["stored-uncompressed", "zstd-passthrough"],
)
def test_a_range_of_stored_bytes_is_fetched_as_a_range(
    recording: RecordingApp, filename: str, accept: str | None
) -> None:
    organization = Organization.objects.create(name="Acme")
    project = Project.objects.create(organization=organization, name="Rockets")
    attachment = Attachment.objects.create(project=project, file=ContentFile(DATA, filename))
    url = reverse(
        "project-file",
        kwargs={"org_id": organization.pk, "project_id": project.pk, "name": attachment.file.name},
    )
    headers = {"Range": "bytes=150000-150099"}
    if accept:
        headers["Accept-Encoding"] = accept
    recording.ranges.clear()

    response = Client().get(url, headers=headers)

    assert response.status_code == 206
    body = b"".join(response.streaming_content)  # type: ignore[attr-defined]
    assert len(body) == 100
    assert recording.ranges[-1] == "bytes=150000-150099"
    if accept is None:
        assert body == DATA[150_000:150_100]
