"""The project's objectstore storages, and where its ``embedded:`` ones keep their data."""

from __future__ import annotations

from pathlib import Path

from django.core.files.storage import storages

from django_objectstore.client import embedded_path
from django_objectstore.storage import ObjectstoreStorage
from django_objectstore.storage.storage import objectstore_aliases

__all__ = ["EMBEDDED_SCHEME", "embedded_roots", "objectstore_storage"]

EMBEDDED_SCHEME = "embedded:"


def objectstore_storage(alias: str) -> ObjectstoreStorage:
    storage = storages[alias]
    assert isinstance(storage, ObjectstoreStorage)
    return storage


def embedded_roots() -> list[Path]:
    """The distinct directories of the configured storages that use ``embedded:``.

    A storage without ``base_url`` uses ``OBJECTSTORE["base_url"]`` or the default
    embedded store (``BASE_DIR/.objectstore-data``), as the storage itself would.
    """
    roots: list[Path] = []
    for alias in objectstore_aliases():
        base_url = objectstore_storage(alias).resolved_base_url()
        if base_url.startswith(EMBEDDED_SCHEME):
            root = Path(embedded_path(base_url))
            if root not in roots:
                roots.append(root)
    return roots
