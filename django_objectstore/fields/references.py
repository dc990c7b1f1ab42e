"""Which rows reference stored objects: the project's file fields and their rows.

One policy wherever a reference is counted (deleting after commit, keepalive, copying,
the system checks): the fields are every field of a given class on every installed
model (:func:`field_sources`), and their rows are read through the model's **base
manager** (``_base_manager``, :meth:`FieldSource.rows`). A default manager that hides
rows (soft deletion) must not make an object those rows still point to look
unreferenced: it would be deleted, or left to expire.

Rows are streamed ordered by the stored name, so names of one scope arrive together and
a caller can batch them per scope while holding only one batch in memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.apps import apps
from django.core.files.storage import InvalidStorageError, Storage
from django.db import models
from django.db.models.fields.files import FileField

from django_objectstore.exceptions import ObjectstoreFieldError
from django_objectstore.storage import ObjectstoreStorage
from django_objectstore.storage.names import split_name
from django_objectstore.wire.expiration import TimeToIdle
from django_objectstore.wire.scopes import Scopes

__all__ = [
    "FieldSource",
    "Reference",
    "field_sources",
    "is_referenced",
    "iter_references",
    "select_sources",
]

F = TypeVar("F", bound=FileField)


@dataclass(frozen=True)
class FieldSource(Generic[F]):
    """One model field that stores files (``model`` may have inherited it)."""

    model: type[models.Model]
    field: F

    @property
    def label(self) -> str:
        return f"{self.model._meta.label}.{self.field.name}"

    @property
    def storage(self) -> ObjectstoreStorage:
        storage = self.field.storage
        if not isinstance(storage, ObjectstoreStorage):
            raise ObjectstoreFieldError(f"{self.label} does not use an ObjectstoreStorage")
        return storage

    @property
    def usecase(self) -> str:
        return self.storage.usecase.name

    @property
    def expires_by_tti(self) -> bool:
        return isinstance(self.storage.usecase.expiration_policy, TimeToIdle)

    def rows(self, using: str | None = None) -> models.QuerySet[models.Model]:
        """The rows with a file, hidden ones included (the base manager)."""
        attname = self.field.attname
        manager = self.model._base_manager
        rows = manager.using(using) if using is not None else manager.all()
        return rows.exclude(**{f"{attname}__isnull": True}).exclude(**{attname: ""})


@dataclass(frozen=True)
class Reference:
    """A row's reference to a stored object."""

    source: FieldSource[Any]
    pk: object
    name: str
    scopes: Scopes
    key: str


def field_sources(field_class: type[F]) -> list[FieldSource[F]]:
    """Every ``field_class`` field of every installed model."""
    return [
        FieldSource(model, field)
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if isinstance(field, field_class)
    ]


def select_sources(
    sources: Iterable[FieldSource[F]],
    model_labels: Iterable[str] = (),
    usecases: Iterable[str] = (),
    *,
    tti_only: bool = True,
) -> list[FieldSource[F]]:
    """The fields named by ``app_label.Model[.field]`` labels and usecase names.

    Unknown labels raise :class:`~django_objectstore.exceptions.ObjectstoreFieldError`
    naming them, so a typo never silently does nothing. With ``tti_only`` only usecases
    that expire by time-to-idle are kept.
    """
    chosen = list(sources)
    labels = list(model_labels)
    if labels:
        known = chosen
        chosen = [s for s in known if any(_matches(s, label) for label in labels)]
        unknown = [label for label in labels if not any(_matches(s, label) for s in known)]
        if unknown:
            names = ", ".join(sorted(s.label for s in known)) or "none"
            raise ObjectstoreFieldError(
                f"no ObjectstoreFileField matches {', '.join(unknown)}; known fields: {names}"
            )
    wanted_usecases = set(usecases)
    if wanted_usecases:
        chosen = [s for s in chosen if s.usecase in wanted_usecases]
    if tti_only:
        chosen = [s for s in chosen if s.expires_by_tti]
    return chosen


def _matches(source: FieldSource[Any], label: str) -> bool:
    model_label = source.model._meta.label_lower
    label = label.lower()
    return label in (model_label, f"{model_label}.{source.field.name.lower()}")


def iter_references(source: FieldSource[Any], *, chunk_size: int = 2000) -> Iterator[Reference]:
    """Stream the non-empty references of one field, ordered by name (so by scope)."""
    attname = source.field.attname
    rows = (
        source.rows()
        .order_by(attname, "pk")
        .values_list("pk", attname)
        .iterator(chunk_size=chunk_size)
    )
    for pk, name in rows:
        try:
            scopes, key = split_name(name)
        except ValueError:
            scopes, key = (), ""
        yield Reference(source, pk, name, scopes, key)


def is_referenced(
    sources: Iterable[FieldSource[Any]], storage: Storage, name: str, using: str
) -> bool:
    """Whether a row of ``sources`` holds ``name`` in a storage for the same objects.

    Two ``STORAGES`` aliases (or a storage instance) for the same server and usecase
    name the same objects.
    """
    where = _location(storage)
    for source in sources:
        try:
            same = _location(source.field.storage) == where
        except InvalidStorageError:
            continue  # an alias missing from STORAGES (system check E015)
        if same and source.rows(using).filter(**{source.field.attname: name}).exists():
            return True
    return False


def _location(storage: Storage) -> object:
    """What identifies the objects behind ``storage``."""
    if isinstance(storage, ObjectstoreStorage):
        return (storage.resolved_base_url(), storage.usecase.name)
    return storage
