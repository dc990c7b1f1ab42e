"""The save path of :class:`~django_objectstore.storage.ObjectstoreStorage`.

Where a new file goes (its scope and key), whether a name is free, and the upload
itself. The key comes from ``key_mode``: ``server`` (a UUID the server generates),
``content`` (the SHA-256 of the bytes) or ``name`` (the name Django derived).
"""

from __future__ import annotations

import posixpath
from typing import TYPE_CHECKING, Any

from django.core.exceptions import SuspiciousFileOperation
from django.core.files.base import File
from django.core.files.utils import validate_file_name

from django_objectstore.names import join_name, looks_scoped
from django_objectstore.storage_support import SIZE_METADATA
from django_objectstore.uploads import (
    content_type_for,
    is_precompressed,
    original_filename,
    prepare_upload,
)
from django_objectstore.wire.scopes import Scopes, format_scopes

if TYPE_CHECKING:
    from django_objectstore.storage import ObjectstoreStorage

__all__ = ["generated_key_name", "is_name_available", "save", "scopes_and_key_for_save"]

_SERVER_KEY_LENGTH = 36  # a UUID
_CONTENT_KEY_LENGTH = 64  # a SHA-256 hex digest


def scopes_and_key_for_save(storage: ObjectstoreStorage, name: str) -> tuple[Scopes, str]:
    """A save name is ``<scope>/<key>``; an unscoped name goes to the active scope."""
    if looks_scoped(name):
        return storage.parse_name(name)
    from django_objectstore.scope import get_current_scope

    return storage.parse_name(join_name(get_current_scope() or (), name))


def is_name_available(storage: ObjectstoreStorage, name: str, max_length: int | None) -> bool:
    """Server and content keys never collide; named keys follow ``allow_overwrite``."""
    scopes, key = scopes_and_key_for_save(storage, name)
    if storage.key_mode == "name":
        stored = join_name(scopes, key)
        if max_length is not None and len(stored) > max_length:
            return False
        return storage.allow_overwrite or not storage.exists(stored)
    key_length = _SERVER_KEY_LENGTH if storage.key_mode == "server" else _CONTENT_KEY_LENGTH
    return max_length is None or len(format_scopes(scopes)) + 1 + key_length <= max_length


def generated_key_name(storage: ObjectstoreStorage, name: str, max_length: int | None) -> str:
    """``name`` checked for a save whose key the server or the content decides.

    Django's naming loop would try alternative names, but the stored name does not
    depend on them (the key replaces the file name), so the loop could only end where
    this starts: the name is valid and short enough, or no name ever will be.
    """
    name = str(name).replace("\\", "/")
    validate_file_name(posixpath.basename(name))
    scopes_and_key_for_save(storage, name)  # SuspiciousFileOperation for forged names
    if not is_name_available(storage, name, max_length):
        raise SuspiciousFileOperation(
            f"the stored name for {name!r} would exceed max_length={max_length}: raise the "
            "field's max_length (scope + 1 + key length)"
        )
    return name


def save(storage: ObjectstoreStorage, name: str, content: File[Any]) -> str:
    """Upload ``content`` under ``name``'s scope; returns the stored ``<scope>/<key>``."""
    scopes, derived_key = scopes_and_key_for_save(storage, name)
    stored_name = join_name(scopes, derived_key)
    storage.check_scope(scopes, stored_name)
    session = storage.session_for(scopes)
    filename = original_filename(content, derived_key)
    content_type = content_type_for(content, filename)
    compression = "none" if is_precompressed(content_type) else None
    with (
        prepare_upload(content, need_digest=storage.key_mode == "content") as upload,
        storage.translate_errors("save", stored_name),
    ):
        key = {"name": derived_key, "content": upload.sha256, "server": None}[storage.key_mode]
        stored_key = session.put(
            upload.body,
            key=key,
            compression=compression,  # type: ignore[arg-type]
            content_type=content_type,
            metadata={SIZE_METADATA: str(upload.size)},
            filename=filename,
        )
    return join_name(scopes, stored_key)
