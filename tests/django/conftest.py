"""Fixtures of the Django layer's tests.

``attachments_storage`` points the example site's ``attachments`` storage at the
session's real objectstore server (a fresh usecase per test, so tests never see each
other's objects); ``project`` is a row of the example site to attach files to.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from django_objectstore.pytest_plugin import ObjectstoreServer
from django_objectstore.storage import ObjectstoreStorage
from testproject.example.models import Organization, Project
from tests.django.attachments import zstd_attachments_on


@pytest.fixture
def attachments_storage(
    objectstore_server: ObjectstoreServer, objectstore_usecase: str
) -> Iterator[ObjectstoreStorage]:
    """The ``attachments`` storage on the test server, zstd-compressed like the example."""
    with zstd_attachments_on(str(objectstore_server), objectstore_usecase) as storage:
        yield storage


@pytest.fixture
def project(db: None) -> Project:
    organization = Organization.objects.create(name="Acme")
    return Project.objects.create(organization=organization, name="Rockets")
