"""Keep objects and rows consistent across transactions.

Two jobs, both for :class:`~django_objectstore.fields.ObjectstoreFileField`:

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
skipped while any row of any model (through its base manager) still references the
same name through a field whose storage has the same server and usecase.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from asgiref.local import Local
from django.core.files.storage import InvalidStorageError, Storage
from django.core.signals import request_finished
from django.db import DEFAULT_DB_ALIAS, connections, router, transaction
from django.db.models import Model

from django_objectstore.scope import reset_current_scope, set_current_scope

if TYPE_CHECKING:
    from django_objectstore.fields import ObjectstoreFileField

__all__ = ["discard_rolled_back_uploads", "schedule_delete_if_unreferenced"]

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


def schedule_delete_if_unreferenced(field: ObjectstoreFileField, name: str, using: str) -> None:
    """After the transaction commits, delete ``name`` unless a row still references it."""

    def delete() -> None:
        if not _is_referenced(field, name, using):
            _delete_quietly(field.storage, name)

    transaction.on_commit(delete, using=using)


def _is_referenced(field: ObjectstoreFileField, name: str, using: str) -> bool:
    from django.apps import apps

    from django_objectstore.fields import ObjectstoreFileField

    where = _location(field.storage)
    for model in apps.get_models():
        for other in model._meta.concrete_fields:
            if not isinstance(other, ObjectstoreFileField):
                continue
            try:
                same = _location(other.storage) == where
            except InvalidStorageError:
                continue  # an alias missing from STORAGES (system check E015)
            # The base manager: a default manager that hides rows (soft deletion) must
            # not make a still-referenced object look unreferenced.
            if same and model._base_manager.using(using).filter(**{other.attname: name}).exists():
                return True
    return False


def _location(storage: Storage) -> object:
    """What identifies the objects behind ``storage``: two ``STORAGES`` aliases (or a
    storage instance) for the same server and usecase name the same objects."""
    from django_objectstore.storage import ObjectstoreStorage

    if isinstance(storage, ObjectstoreStorage):
        return (storage.resolved_base_url(), storage.usecase.name)
    return storage


request_finished.connect(discard_rolled_back_uploads, dispatch_uid="django_objectstore.uploads")
