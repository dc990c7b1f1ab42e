"""Keep objects and rows consistent across transactions.

Two jobs, both for :class:`~django_objectstore.fields.ObjectstoreFileField`, which calls
the functions here from its ``FieldFile.save`` and its signal handlers:

**Uploads whose row never commits.** An object is uploaded in ``pre_save``, before the
row's INSERT/UPDATE. If that statement fails, or the transaction (or the savepoint) it
ran in is rolled back, the object would be orphaned. Django has no rollback hook, so
each upload is *recorded* and confirmed in two steps: ``post_save`` registers a
``transaction.on_commit`` confirmation, and the confirmation runs when the row commits.
Django itself drops on-commit callbacks of rolled-back savepoints and transactions, so
an upload whose confirmation neither ran nor is still waiting in the connection's
on-commit list belonged to a row that will never exist: :func:`discard_rolled_back_uploads`
deletes those objects. It runs automatically when a request finishes
(``request_finished``); tasks and scripts that save files inside transactions outside
requests call it themselves after the transaction ends.

**Objects no row references any more** (``delete_orphans=True``): deletion is
scheduled with ``on_commit``, so a rolled-back delete never loses the object, and is
skipped while any row of any model still references the same name through a field
whose storage has the same server and usecase (:mod:`.references`).
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from asgiref.local import Local
from django.core.files.storage import Storage
from django.core.signals import request_finished
from django.db import DEFAULT_DB_ALIAS, connections, router, transaction
from django.db.models import Model
from django.db.models.fields.files import FileField

from django_objectstore.fields.references import field_sources, is_referenced
from django_objectstore.scope import reset_current_scope, set_current_scope

__all__ = [
    "confirm_saved",
    "discard_rolled_back_uploads",
    "record_upload",
    "schedule_delete_if_unreferenced",
]

logger = logging.getLogger(__name__)
_local = Local()


@dataclass(eq=False)
class _Upload:
    storage: Storage
    name: str
    instance: weakref.ref[Model] | None
    using: str
    block: object | None
    """The innermost ``atomic`` block open at upload time (``None``: autocommit)."""
    confirmation: Callable[[], None] | None = None
    committed: bool = field(default=False)


def _pending() -> list[_Upload]:
    uploads: list[_Upload] | None = getattr(_local, "uploads", None)
    if uploads is None:
        uploads = _local.uploads = []
    return uploads


def record_upload(storage: Storage, name: str, instance: Model | None) -> None:
    """Remember an object uploaded for ``instance``, until its row commits."""
    ref = weakref.ref(instance) if instance is not None else None
    using = (
        router.db_for_write(type(instance), instance=instance)
        if instance is not None
        else DEFAULT_DB_ALIAS
    )
    blocks = connections[using].atomic_blocks
    _pending().append(_Upload(storage, name, ref, using, blocks[-1] if blocks else None))


def confirm_saved(instance: Model, using: str) -> None:
    """``post_save``: the row exists in the transaction; keep its uploads once it commits."""
    for upload in _pending():
        if upload.confirmation is None and upload.instance and upload.instance() is instance:
            upload.using = using
            upload.confirmation = _confirmer(upload)
            transaction.on_commit(upload.confirmation, using=using)


def _confirmer(upload: _Upload) -> Callable[[], None]:
    def confirm() -> None:
        upload.committed = True
        uploads = _pending()
        if upload in uploads:
            uploads.remove(upload)

    return confirm


def _is_orphan(upload: _Upload) -> bool:
    if upload.committed:
        return False
    connection = connections[upload.using]
    if upload.confirmation is None:
        # No row was written (yet). Once the atomic block the upload happened in has
        # ended (or, in autocommit, once the save is over), no row ever will be.
        alive = upload.instance is not None and upload.instance() is not None
        return not alive or not any(block is upload.block for block in connection.atomic_blocks)
    return not any(entry[1] is upload.confirmation for entry in connection.run_on_commit)


def discard_rolled_back_uploads(**_: Any) -> int:
    """Delete the objects of uploads whose rows were rolled back; how many were deleted.

    Safe to call at any time: uploads of rows that may still commit are kept.
    """
    uploads = _pending()
    orphans = [upload for upload in uploads if _is_orphan(upload)]
    for upload in orphans:
        uploads.remove(upload)
        _delete_quietly(upload.storage, upload.name)
    return len(orphans)


def _delete_quietly(storage: Storage, name: str) -> None:
    # The name comes from our own bookkeeping, not from a request: delete it whatever
    # scope the surrounding request has.
    token = set_current_scope(None)
    try:
        storage.delete(name)
    except Exception:
        logger.warning("could not delete objectstore object %s", name, exc_info=True)
    finally:
        reset_current_scope(token)


def schedule_delete_if_unreferenced(
    field: FileField, name: str, using: str, *, field_class: type[FileField]
) -> None:
    """After the transaction commits, delete ``name`` from ``field``'s storage unless a
    row still references it through a ``field_class`` field (on any model)."""

    def delete() -> None:
        if not is_referenced(field_sources(field_class), field.storage, name, using):
            _delete_quietly(field.storage, name)

    transaction.on_commit(delete, using=using)


request_finished.connect(discard_rolled_back_uploads, dispatch_uid="django_objectstore.uploads")
