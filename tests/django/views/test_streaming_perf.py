"""How the download view streams: reads of up to ``CHUNK_SIZE`` passed on as they come,
one request to the objectstore per download, zstd decoded from that same response."""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse

from django_objectstore import views
from django_objectstore.pytest_plugin import ObjectstoreServer
from django_objectstore.storage import ObjectstoreStorage
from testproject.example.models import Attachment, Project
from tests.django.attachments import zstd_attachments_on

pytestmark = pytest.mark.django_db

TEXT = b"".join(b"line %07d of a long attachment\n" % i for i in range(120_000))  # ~3.8 MB


class RequestCounter:
    """A metrics backend that counts the client's operations by name."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def increment(self, name: str, value: float = 1, tags: Mapping[str, str] | None = None) -> None:
        self.names.append(name)

    def gauge(self, name: str, value: float, tags: Mapping[str, str] | None = None) -> None:
        self.names.append(name)

    def distribution(
        self,
        name: str,
        value: float,
        tags: Mapping[str, str] | None = None,
        unit: str | None = None,
    ) -> None:
        self.names.append(name)

    def gets(self) -> int:
        return self.names.count("storage.get.latency")


@pytest.fixture
def counter() -> RequestCounter:
    return RequestCounter()


@pytest.fixture
def counted_storage(
    objectstore_server: ObjectstoreServer, objectstore_usecase: str, counter: RequestCounter
) -> Iterator[ObjectstoreStorage]:
    with zstd_attachments_on(
        str(objectstore_server),
        objectstore_usecase,
        client_options={"metrics_backend": counter},
    ) as storage:
        yield storage


def _download(project: Project, data: bytes, filename: str, **headers: str) -> list[bytes]:
    attachment = Attachment.objects.create(project=project, file=ContentFile(data, filename))
    assert attachment.file.name
    url = reverse(
        "project-file",
        kwargs={
            "org_id": project.organization_id,
            "project_id": project.pk,
            "name": attachment.file.name,
        },
    )
    response = Client().get(url, headers=headers)
    assert response.status_code == 200
    return list(response.streaming_content)  # type: ignore[attr-defined]


def test_decompressed_download_reads_the_one_response_it_opened(
    project: Project, counted_storage: ObjectstoreStorage, counter: RequestCounter
) -> None:
    chunks = _download(project, TEXT, "big.txt", **{"Accept-Encoding": "gzip"})
    assert b"".join(chunks) == TEXT
    assert counter.gets() == 1


def test_large_download_streams_in_bounded_chunks(
    project: Project, counted_storage: ObjectstoreStorage
) -> None:
    data = os.urandom(3 * views.CHUNK_SIZE + 1234)
    chunks = _download(project, data, "blob.bin")
    assert b"".join(chunks) == data
    assert len(chunks) >= 4
    assert max(len(chunk) for chunk in chunks) <= views.CHUNK_SIZE


def test_decompressed_large_download_streams_in_bounded_chunks(
    project: Project, counted_storage: ObjectstoreStorage
) -> None:
    chunks = _download(project, TEXT, "big.txt")
    assert b"".join(chunks) == TEXT
    assert len(chunks) >= 2
    assert max(len(chunk) for chunk in chunks) <= views.CHUNK_SIZE


def test_passed_through_download_relays_the_stored_bytes(
    project: Project, counted_storage: ObjectstoreStorage, counter: RequestCounter
) -> None:
    chunks = _download(project, TEXT, "big.txt", **{"Accept-Encoding": "zstd"})
    body = b"".join(chunks)
    assert 0 < len(body) < len(TEXT)
    assert counter.gets() == 1
