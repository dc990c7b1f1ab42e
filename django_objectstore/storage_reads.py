"""Reading stored files: opening a lazy stream, and the size and times of an object.

Each function takes the :class:`~django_objectstore.storage.ObjectstoreStorage` whose
sessions, scope checks and error policy it uses.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from django_objectstore.client import GetResponse, Metadata, Session
from django_objectstore.exceptions import ObjectstoreStorageError
from django_objectstore.files import ObjectstoreFile, ObjectStream, check_mode
from django_objectstore.storage_support import django_time, uncompressed_size

if TYPE_CHECKING:
    from django_objectstore.storage import ObjectstoreStorage

__all__ = ["created_time", "open_file", "size_from_metadata"]


def open_file(storage: ObjectstoreStorage, name: str, mode: str) -> ObjectstoreFile:
    """A file whose stream is fetched on first read (no request until then)."""
    check_mode(mode)
    session, key = storage.open_session_for_name(name)

    def fetch() -> GetResponse:
        with storage.translate_errors("open", name):
            response = session.get(key)
        if response is None:
            raise FileNotFoundError(f"no object {name!r} in storage {storage.display_alias!r}")
        return response

    def size_of(metadata: Metadata) -> int:
        return size_from_metadata(storage, session, key, name, metadata)

    return ObjectstoreFile(ObjectStream(fetch, size_of, name), name)


def size_from_metadata(
    storage: ObjectstoreStorage, session: Session, key: str, name: str, meta: Metadata
) -> int:
    """The uncompressed size (see :func:`~.storage_support.uncompressed_size`)."""
    with storage.translate_errors("size", name):
        size = uncompressed_size(session, key, meta)
    if size is None:
        raise FileNotFoundError(f"no object {name!r} in storage {storage.display_alias!r}")
    return size


def created_time(storage: ObjectstoreStorage, name: str) -> datetime:
    """When the object was written, in Django's time convention (``USE_TZ``)."""
    meta = storage.metadata(name)
    if meta.time_created is None:
        raise ObjectstoreStorageError(
            f"objectstore sent no creation time for {name!r}",
            alias=storage.display_alias,
            usecase=storage.usecase.name,
            name=name,
            operation="get_created_time",
            status=None,
        )
    return django_time(meta.time_created)
