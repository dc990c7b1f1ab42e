"""System checks of ``ObjectstoreFileField`` declarations (ids listed in ``checks``)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from django.conf import settings
from django.core import checks
from django.utils.module_loading import import_string

__all__ = ["check_field_storages", "check_fields_have_a_scope_source"]

_ID = "django_objectstore.{}"
_MIDDLEWARE = "django_objectstore.middleware.ObjectstoreScopeMiddleware"
_STORAGE_PATH = "django_objectstore.storage.ObjectstoreStorage"


def _objectstore_fields(app_configs: Any) -> Iterator[tuple[Any, Any]]:
    """``(model, field)`` for every ``ObjectstoreFileField`` of the checked apps."""
    from django.apps import apps

    from django_objectstore.fields import ObjectstoreFileField

    for model in apps.get_models():
        if app_configs is not None and model._meta.app_config not in app_configs:
            continue
        for field in model._meta.get_fields():
            if isinstance(field, ObjectstoreFileField):
                yield model, field


def check_fields_have_a_scope_source(
    app_configs: Any = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """Fields without ``scope=`` rely on the middleware (or ``objectstore_scope`` blocks)."""
    if _MIDDLEWARE in (getattr(settings, "MIDDLEWARE", None) or []):
        return []
    return [
        checks.Warning(
            f"{model._meta.label}.{field.name} has no scope= and {_MIDDLEWARE} is not in "
            f"MIDDLEWARE: saving a file outside an objectstore_scope() block will fail",
            hint=f"add {_MIDDLEWARE!r} to MIDDLEWARE or pass scope= to the field",
            obj=field,
            id=_ID.format("W002"),
        )
        for model, field in _objectstore_fields(app_configs)
        if field.scope is None
    ]


def check_field_storages(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """A field's ``storage`` alias must be a ``STORAGES`` entry using ObjectstoreStorage."""
    from django.core.files.storage import storages

    from django_objectstore.storage import ObjectstoreStorage

    backends: Mapping[str, Any] = storages.backends
    messages: list[checks.CheckMessage] = []
    for model, field in _objectstore_fields(app_configs):
        alias = field.storage_alias
        label = f"{model._meta.label}.{field.name}"
        if alias is None:
            continue
        if alias not in backends:
            messages.append(
                checks.Error(
                    f"{label} uses storage {alias!r}, which is not in STORAGES",
                    hint=f"add STORAGES[{alias!r}] = {{'BACKEND': {_STORAGE_PATH!r}, "
                    f"'OPTIONS': {{...}}}}, or pass storage=<an existing alias> to the field",
                    obj=field,
                    id=_ID.format("E015"),
                )
            )
            continue
        try:
            backend = import_string(str(backends[alias].get("BACKEND", "")))
        except ImportError:
            continue  # reported by E014 or when Django creates the storage
        if not (isinstance(backend, type) and issubclass(backend, ObjectstoreStorage)):
            messages.append(
                checks.Warning(
                    f"{label} uses STORAGES[{alias!r}], which is not an ObjectstoreStorage: "
                    f"its files get scoped names but no scope isolation",
                    hint=f"point STORAGES[{alias!r}]['BACKEND'] at {_STORAGE_PATH!r}, or use "
                    f"a plain FileField for this storage",
                    obj=field,
                    id=_ID.format("W005"),
                )
            )
    return messages
