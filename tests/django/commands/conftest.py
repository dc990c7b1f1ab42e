"""Fixtures of the management command tests: the example site's attachments on the test
server, with a time-to-idle usecase so ``objectstore_keepalive`` has work to do."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from django.core.files.base import ContentFile

from django_objectstore.pytest_plugin import ObjectstoreServer
from django_objectstore.storage import ObjectstoreStorage
from testproject.example.models import Attachment, Project
from tests.django.attachments import attachments_from
from tests.django.commands.configs import storage_config

TTI = "tti:1h"


@pytest.fixture
def tti_storage(
    objectstore_server: ObjectstoreServer, objectstore_usecase: str
) -> Iterator[ObjectstoreStorage]:
    """The example site's ``attachments`` storage on the test server, expiring by ``tti:1h``."""
    config = storage_config(str(objectstore_server), objectstore_usecase, expiration_policy=TTI)
    with attachments_from(config) as storage:
        yield storage


@pytest.fixture
def make_attachment(project: Project) -> Callable[..., Attachment]:
    def make(
        content: bytes = b"hello", name: str = "note.txt", into: Project | None = None
    ) -> Attachment:
        attachment = Attachment(project=into or project, original_name=name)
        attachment.file.save(name, ContentFile(content), save=True)
        return attachment

    return make
