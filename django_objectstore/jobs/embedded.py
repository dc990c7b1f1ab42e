"""The project's objectstore storages, and where its ``embedded:`` ones keep their data.

Commands that only read (keepalive, check, the source side of a copy) call
:func:`require_existing_store` before they touch a storage: opening an embedded store
creates its directory, and an empty store made by a mistyped path or a misread
``BASE_DIR`` would make every reference look missing.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core.files.storage import Storage, storages

from django_objectstore.client import embedded_path
from django_objectstore.storage import ObjectstoreStorage
from django_objectstore.storage.connections import EMBEDDED_SCHEME
from django_objectstore.storage.storage import objectstore_aliases

__all__ = [
    "EMBEDDED_SCHEME",
    "MissingStore",
    "embedded_roots",
    "objectstore_storage",
    "require_existing_source",
    "require_existing_store",
]


class MissingStore(Exception):
    """A read-only job was pointed at a store that does not exist; nothing was created."""


def objectstore_storage(alias: str) -> ObjectstoreStorage:
    storage = storages[alias]
    assert isinstance(storage, ObjectstoreStorage)
    return storage


def embedded_root(storage: ObjectstoreStorage) -> Path | None:
    """The directory of an ``embedded:`` storage (resolved against ``BASE_DIR``)."""
    base_url = storage.resolved_base_url()
    if not base_url.startswith(EMBEDDED_SCHEME):
        return None
    return Path(embedded_path(base_url))


def require_existing_store(storage: ObjectstoreStorage, label: str) -> None:
    """``MissingStore`` naming the resolved path when an embedded store has no directory.

    Call it before the first request: the embedded transport would create the directory.
    """
    root = embedded_root(storage)
    if root is not None and not root.is_dir():
        raise MissingStore(
            f"{label}: the embedded objectstore {root} does not exist (base_url "
            f"{storage.base_url or 'not set'!r}, resolved against BASE_DIR); nothing was "
            f"read and no empty store was created. Check BASE_DIR and base_url, or run "
            f"this where the files were uploaded"
        )


def require_existing_source(storage: Storage, label: str) -> None:
    """The same for a copy's source: an embedded store, or a ``FileSystemStorage``
    whose ``location`` is missing, is refused naming the path."""
    if isinstance(storage, ObjectstoreStorage):
        require_existing_store(storage, label)
        return
    location = getattr(storage, "location", None)
    if isinstance(location, str | os.PathLike) and not os.path.isdir(location):
        raise MissingStore(
            f"{label}: the source directory {os.fspath(location)} does not exist; nothing "
            f"was copied"
        )


def embedded_roots() -> list[Path]:
    """The distinct directories of the configured storages that use ``embedded:``.

    A storage without ``base_url`` uses ``OBJECTSTORE["base_url"]`` or the default
    embedded store (``BASE_DIR/.objectstore-data``), as the storage itself would.
    """
    roots: list[Path] = []
    for alias in objectstore_aliases():
        root = embedded_root(objectstore_storage(alias))
        if root is not None and root not in roots:
            roots.append(root)
    return roots
