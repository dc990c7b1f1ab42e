"""Finding the objects a project's rows refer to.

Every ``ObjectstoreFileField`` on every installed model is a source of references. Rows
are streamed ordered by the stored name, so names of one scope arrive together and a
caller can batch them per scope while holding only one batch in memory.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.apps import apps
from django.core.management.base import CommandError
from django.db import models

from django_objectstore.fields import ObjectstoreFileField
from django_objectstore.names import split_name
from django_objectstore.storage import ObjectstoreStorage
from django_objectstore.wire.expiration import TimeToIdle
from django_objectstore.wire.scopes import Scopes


@dataclass(frozen=True)
class FieldSource:
    """One model field that stores files in objectstore."""

    model: type[models.Model]
    field: ObjectstoreFileField

    @property
    def label(self) -> str:
        return f"{self.model._meta.label}.{self.field.name}"

    @property
    def storage(self) -> ObjectstoreStorage:
        storage = self.field.storage
        if not isinstance(storage, ObjectstoreStorage):
            raise CommandError(f"{self.label} does not use an ObjectstoreStorage")
        return storage

    @property
    def usecase(self) -> str:
        return self.storage.usecase.name

    @property
    def expires_by_tti(self) -> bool:
        return isinstance(self.storage.usecase.expiration_policy, TimeToIdle)


@dataclass(frozen=True)
class Reference:
    """A row's reference to a stored object."""

    source: FieldSource
    pk: object
    name: str
    scopes: Scopes
    key: str


def all_field_sources() -> list[FieldSource]:
    return [
        FieldSource(model, field)
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if isinstance(field, ObjectstoreFileField)
    ]


def select_sources(
    model_labels: Iterable[str] = (),
    usecases: Iterable[str] = (),
    *,
    tti_only: bool = True,
) -> list[FieldSource]:
    """The fields named by ``app_label.Model[.field]`` labels and usecase names.

    Unknown labels raise ``CommandError`` naming them, so a typo never silently does
    nothing. With ``tti_only`` only usecases that expire by time-to-idle are kept.
    """
    sources = all_field_sources()
    labels = list(model_labels)
    if labels:
        chosen = [s for s in sources if _matches_any(s, labels)]
        unknown = [label for label in labels if not any(_matches(s, label) for s in sources)]
        if unknown:
            known = ", ".join(sorted(s.label for s in sources)) or "none"
            raise CommandError(
                f"no ObjectstoreFileField matches {', '.join(unknown)}; known fields: {known}"
            )
        sources = chosen
    wanted_usecases = set(usecases)
    if wanted_usecases:
        sources = [s for s in sources if s.usecase in wanted_usecases]
    if tti_only:
        sources = [s for s in sources if s.expires_by_tti]
    return sources


def _matches(source: FieldSource, label: str) -> bool:
    model_label = source.model._meta.label_lower
    label = label.lower()
    return label in (model_label, f"{model_label}.{source.field.name.lower()}")


def _matches_any(source: FieldSource, labels: list[str]) -> bool:
    return any(_matches(source, label) for label in labels)


def iter_references(source: FieldSource, *, chunk_size: int = 2000) -> Iterator[Reference]:
    """Stream the non-empty references of one field, ordered by name (so by scope)."""
    attname = source.field.attname
    rows = (
        source.model._default_manager.exclude(**{f"{attname}__isnull": True})
        .exclude(**{attname: ""})
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
