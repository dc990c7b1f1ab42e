"""Copying a field's files from another storage into objectstore.

Each row is handled on its own: stream the source file up while hashing it, read the
stored object back and compare size and SHA-256, and only then rewrite the row, with a
conditional update so a row changed meanwhile is left alone. A row whose value already
is an objectstore name is skipped, which makes an interrupted run safe to repeat. Rows
are read and rewritten through the base manager, as every reference is counted
(:mod:`django_objectstore.fields.references`).
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from django.core.files import File
from django.core.files.storage import Storage
from django.db import models

from django_objectstore.fields import ObjectstoreFileField
from django_objectstore.fields.references import FieldSource
from django_objectstore.storage.names import join_name, split_name
from django_objectstore.wire.scopes import Scopes, make_scopes

_CHUNK = 1024 * 1024


class HashingReader:
    """Wraps a binary file, hashing and counting what is read through it."""

    def __init__(self, file: Any) -> None:
        self._file = file
        self.digest = hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1, /) -> bytes:
        data: bytes = self._file.read(n)
        self.digest.update(data)
        self.size += len(data)
        return data


STATUSES = ("copied", "skipped", "would copy", "failed")


@dataclass
class CopyOutcome:
    pk: object
    old_name: str
    new_name: str
    status: str  # "copied", "skipped", "would copy", "failed"
    error: str = ""


def is_objectstore_name(name: str) -> bool:
    try:
        split_name(name)
    except ValueError:
        return False
    return True


def stored_digest(target: Storage, name: str) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with target.open(name, "rb") as stored:
        while chunk := stored.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()


def copy_one(
    source: FieldSource[ObjectstoreFileField],
    instance: models.Model,
    old_name: str,
    scopes: Scopes,
    from_storage: Storage,
    *,
    delete_source: bool,
) -> CopyOutcome:
    target = source.storage
    attname = source.field.attname
    with from_storage.open(old_name, "rb") as original:
        reader = HashingReader(original)
        upload = File(reader, name=posixpath.basename(old_name))  # type: ignore[arg-type]
        upload.size = from_storage.size(old_name)
        new_name = target.save(join_name(scopes, posixpath.basename(old_name)), upload)
    size, digest = stored_digest(target, new_name)
    if size != reader.size or digest != reader.digest.hexdigest():
        target.delete(new_name)
        return CopyOutcome(
            instance.pk,
            old_name,
            new_name,
            "failed",
            f"verification failed: source {reader.size} bytes sha256 {reader.digest.hexdigest()}, "
            f"stored {size} bytes sha256 {digest}",
        )
    updated = (
        type(instance)
        ._base_manager.filter(pk=instance.pk, **{attname: old_name})
        .update(**{attname: new_name})
    )
    if not updated:
        target.delete(new_name)
        return CopyOutcome(instance.pk, old_name, new_name, "skipped", "row changed meanwhile")
    if delete_source:
        from_storage.delete(old_name)
    return CopyOutcome(instance.pk, old_name, new_name, "copied")


def copy_field(
    source: FieldSource[ObjectstoreFileField],
    from_storage: Storage,
    *,
    scope: Mapping[str, object] | None,
    dry_run: bool,
    delete_source: bool,
    chunk_size: int = 500,
) -> Iterator[CopyOutcome]:
    """Copy every row's file of ``source``; yields one outcome per non-empty row."""
    attname = source.field.attname
    fixed_scopes = make_scopes(scope) if scope is not None else None
    rows = source.rows().order_by("pk").iterator(chunk_size=chunk_size)
    for instance in rows:
        old_name: str = getattr(instance, attname).name or ""
        if is_objectstore_name(old_name):
            yield CopyOutcome(instance.pk, old_name, old_name, "skipped", "already in objectstore")
            continue
        try:
            scopes = fixed_scopes if fixed_scopes is not None else source.field.scope_for(instance)
            if dry_run:
                yield CopyOutcome(instance.pk, old_name, join_name(scopes, "…"), "would copy")
                continue
            yield copy_one(
                source, instance, old_name, scopes, from_storage, delete_source=delete_source
            )
        except Exception as error:
            yield CopyOutcome(
                instance.pk, old_name, "", "failed", f"{type(error).__name__}: {error}"
            )
