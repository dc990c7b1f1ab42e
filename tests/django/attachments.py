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
def attachments_from(entry: dict[str, Any], **other_settings: Any) -> Iterator[ObjectstoreStorage]:
    """``STORAGES["attachments"]`` set to ``entry`` (and ``other_settings`` overridden too),
    as the ``ObjectstoreStorage`` it makes, closed after."""
    with override_settings(STORAGES={**settings.STORAGES, "attachments": entry}, **other_settings):
        storage = storages["attachments"]
        assert isinstance(storage, ObjectstoreStorage)
        try:
            yield storage
        finally:
            storage.close()


@contextmanager
def attachments_with(**options: Any) -> Iterator[ObjectstoreStorage]:
    """``STORAGES["attachments"]`` as an ``ObjectstoreStorage`` with ``options``, closed after."""
    entry = {"BACKEND": "django_objectstore.storage.ObjectstoreStorage", "OPTIONS": options}
    with attachments_from(entry) as storage:
        yield storage


@contextmanager
def zstd_attachments_on(
    base_url: str, usecase: str, **options: Any
) -> Iterator[ObjectstoreStorage]:
    """The ``attachments`` storage on the server at ``base_url``, zstd-compressed like the
    example, with any further ``options``."""
    with attachments_with(
        alias="attachments", base_url=base_url, usecase=usecase, compression="zstd", **options
    ) as storage:
        yield storage
