"""The example site's ``attachments`` storage, pointed at a test server for one test."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.core.files.storage import storages
from django.test import override_settings

from django_objectstore.storage import ObjectstoreStorage


@contextmanager
def attachments_with(**options: Any) -> Iterator[ObjectstoreStorage]:
    """``STORAGES["attachments"]`` as an ``ObjectstoreStorage`` with ``options``, closed after."""
    config = {"BACKEND": "django_objectstore.storage.ObjectstoreStorage", "OPTIONS": options}
    with override_settings(STORAGES={**settings.STORAGES, "attachments": config}):
        storage = storages["attachments"]
        assert isinstance(storage, ObjectstoreStorage)
        try:
            yield storage
        finally:
            storage.close()
