"""``ObjectstoreFileField``: a ``FileField`` whose files live in the row's objectstore scope.

```python
class Attachment(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE)
    file = ObjectstoreFileField(
        storage="attachments",                       # a STORAGES alias
        scope=lambda a: {"org": a.project.organization_id, "project": a.project_id},
        delete_orphans=True,
    )
```

The stored value is ``<scope>/<key>`` (``org=42;project=1337/4f0c...``), so every name
says which scope it belongs to. The scope of a new file comes from the field's ``scope``
callable, else from the active scope (the request's, set by
``ObjectstoreScopeMiddleware``, or an ``objectstore_scope(...)`` block).

Files follow their row: when a save gives an existing file another scope through the
``scope`` callable (an attachment moved to another project), the object is copied into
the new scope (objectstore has no server-side copy: it is streamed through the
storage), the row saved with the new name, and the old object deleted after commit when
``delete_orphans`` is set. A copy that cannot be made fails the save with
:class:`ScopeMoveError`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from os import PathLike
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import File
from django.core.files.storage import Storage, storages
from django.db import router
from django.db.models import Model, signals
from django.db.models.fields.files import FieldFile, FileField

from django_objectstore.conf import DEFAULT_ALIAS
from django_objectstore.exceptions import ObjectstoreFieldError
from django_objectstore.fields.transactions import (
    confirm_saved,
    record_upload,
    schedule_delete_if_unreferenced,
)
from django_objectstore.scope import get_current_scope, scope_from_mapping
from django_objectstore.storage import ObjectstoreStorage
from django_objectstore.storage.names import join_name, split_name
from django_objectstore.wire.scopes import Scopes, format_scopes

__all__ = ["DEFAULT_MAX_LENGTH", "ObjectstoreFieldFile", "ObjectstoreFileField", "ScopeMoveError"]

DEFAULT_MAX_LENGTH = 512
"""Room for a long scope (``org=...;project=...``), a key and the original file name."""

ScopeCallable = Callable[[Any], Mapping[str, object]]


class ScopeMoveError(ObjectstoreFieldError):
    """A saved row's file could not be copied into the row's new scope; nothing was saved.

    The message names the row, the stored name, both scopes and the cause (the object is
    missing, the active request scope forbids the new scope, the server failed...).
    """


class ObjectstoreFieldFile(FieldFile):
    field: ObjectstoreFileField

    def save(self, name: str, content: File[Any], save: bool = True) -> None:
        super().save(name, content, save=False)
        if self.name:
            # Recorded before the row is written: if the row never commits, the upload
            # is deleted (see django_objectstore.fields.transactions).
            record_upload(self.storage, self.name, self.instance)
        if save:
            self.instance.save()

    save.alters_data = True  # type: ignore[attr-defined]


class ObjectstoreFileField(FileField):
    """A ``FileField`` on an objectstore storage, scoped per row or per request.

    ``storage`` is a ``STORAGES`` alias (default ``"attachments"``), resolved on access
    so migrations carry only the alias, never a URL or a token; a storage instance or a
    callable returning one also works. ``scope`` is a callable ``instance -> mapping``
    (``{"org": ..., "project": ...}``). ``delete_orphans=True`` deletes the previous
    object after the transaction commits when a row is deleted or its file replaced,
    unless another row still references it.
    """

    attr_class = ObjectstoreFieldFile

    def __init__(
        self,
        verbose_name: str | None = None,
        name: str | None = None,
        upload_to: str | Callable[[Any, str], str] = "",
        storage: str | Storage | Callable[[], Storage] = DEFAULT_ALIAS,
        scope: ScopeCallable | None = None,
        delete_orphans: bool = False,
        **kwargs: Any,
    ) -> None:
        if scope is not None and not callable(scope):
            raise TypeError(
                f"ObjectstoreFileField(scope=...) must be a callable taking the model "
                f"instance and returning a mapping such as {{'org': 42}}, not {scope!r}"
            )
        alias = storage if isinstance(storage, str) else None
        given: Storage | Callable[[], Storage] | None = (
            None if isinstance(storage, str) else storage
        )
        self.storage_alias: str | None = None  # resolve nothing while FileField initialises
        self.scope = scope
        self.delete_orphans = delete_orphans
        kwargs.setdefault("max_length", DEFAULT_MAX_LENGTH)
        super().__init__(
            verbose_name,
            name,
            upload_to=upload_to,
            storage=given,
            **kwargs,
        )
        self.storage_alias = alias

    @property
    def storage(self) -> Storage:
        if self.storage_alias is not None:
            return storages[self.storage_alias]
        return self._storage

    @storage.setter
    def storage(self, value: Storage) -> None:
        self._storage = value

    def deconstruct(self) -> tuple[str, str, Sequence[Any], dict[str, Any]]:
        alias, self.storage_alias = self.storage_alias, None  # do not resolve the alias
        try:
            name, _, args, kwargs = super().deconstruct()
        finally:
            self.storage_alias = alias
        kwargs.pop("storage", None)
        if kwargs.get("upload_to") == "":
            del kwargs["upload_to"]
        if self.storage_alias is None:
            kwargs["storage"] = getattr(self, "_storage_callable", self._storage)
        elif self.storage_alias != DEFAULT_ALIAS:
            kwargs["storage"] = self.storage_alias
        if self.max_length == DEFAULT_MAX_LENGTH:
            kwargs.pop("max_length", None)
        else:
            kwargs["max_length"] = self.max_length
        # ``scope`` is left out on purpose: it changes no column, so editing it needs no
        # migration, and a lambda (which migrations cannot serialise) works.
        if self.delete_orphans:
            kwargs["delete_orphans"] = True
        return name, "django_objectstore.fields.ObjectstoreFileField", args, kwargs

    def scope_for(self, instance: Model) -> Scopes:
        """The scope a new file of ``instance`` goes to; a clear error when there is none."""
        if self.scope is not None:
            try:
                return scope_from_mapping(self.scope(instance))
            except ValueError as error:
                raise ValueError(f"{self._label()}: scope callable: {error}") from error
        current = get_current_scope()
        if current is None:
            raise ImproperlyConfigured(
                f"{self._label()}: no objectstore scope for the new file. Either pass "
                f"scope=<callable instance -> mapping> to the field, or save inside a "
                f"scope: a request through "
                f"django_objectstore.middleware.ObjectstoreScopeMiddleware, or a "
                f"`with django_objectstore.scope.objectstore_scope(org=..., ...):` block."
            )
        return current

    def pre_save(self, model_instance: Model, add: bool) -> Any:
        """Upload a new file (``FileField``), or move a stored one whose scope changed."""
        file = super().pre_save(model_instance, add)
        if not add and self.scope is not None and file and file._committed and file.name:
            self._follow_scope(model_instance, file)
        return file

    def _follow_scope(self, instance: Model, file: FieldFile) -> None:
        """Copy ``file`` into the scope the ``scope`` callable now gives, if it changed."""
        storage = self.storage
        name = str(file.name)
        if not isinstance(storage, ObjectstoreStorage):
            return
        try:
            old_scopes, key = split_name(name)
        except ValueError:
            return  # not an objectstore name (e.g. not copied in yet): nothing to move
        new_scopes = self.scope_for(instance)
        if tuple(new_scopes) == tuple(old_scopes):
            return
        try:
            with storage.open(name, "rb") as source:
                new_name = storage.save(join_name(new_scopes, key), source)
        except Exception as error:
            raise ScopeMoveError(
                f"{self._label()} pk={instance.pk}: the row's scope changed from "
                f"{format_scopes(old_scopes)!r} to {format_scopes(new_scopes)!r}, but its "
                f"file {name!r} could not be copied there ({type(error).__name__}: {error}); "
                f"the row was not saved"
            ) from error
        file.name = new_name
        # Like any upload: deleted again if the row never commits.
        record_upload(storage, new_name, instance)

    def generate_filename(self, instance: Model | None, filename: str | PathLike[str]) -> str:
        if instance is None:
            raise ValueError(f"{self._label()}: a file name needs the model instance")
        scopes = self.scope_for(instance)
        derived = super().generate_filename(instance, filename)
        return f"{format_scopes(scopes)}/{derived}"

    def contribute_to_class(
        self, cls: type[Model], name: str, private_only: bool = False, **kwargs: Any
    ) -> None:
        super().contribute_to_class(cls, name, private_only=private_only, **kwargs)
        if cls.__module__ == "__fake__" or cls._meta.abstract:
            return  # historical models in migrations keep no signal handlers
        uid = f"django_objectstore:{cls._meta.label}.{name}"
        signals.post_save.connect(self._post_save, sender=cls, weak=False, dispatch_uid=uid)
        if self.delete_orphans:
            signals.post_init.connect(self._remember, sender=cls, weak=False, dispatch_uid=uid)
            signals.post_delete.connect(self._post_delete, sender=cls, weak=False, dispatch_uid=uid)

    # -- signal handlers -------------------------------------------------------------

    def _original_key(self) -> str:
        return f"_objectstore_original_{self.attname}"

    def _remember(self, instance: Model, **_: Any) -> None:
        instance.__dict__[self._original_key()] = instance.__dict__.get(self.attname)

    def _post_save(self, instance: Model, using: str, **_: Any) -> None:
        confirm_saved(instance, using)
        if not self.delete_orphans:
            return
        current = _name_of(instance.__dict__.get(self.attname))
        original = _name_of(instance.__dict__.get(self._original_key()))
        if original and original != current:
            schedule_delete_if_unreferenced(self, original, using, field_class=ObjectstoreFileField)
        instance.__dict__[self._original_key()] = current

    def _post_delete(self, instance: Model, **kwargs: Any) -> None:
        name = _name_of(instance.__dict__.get(self.attname))
        if name:
            using = kwargs.get("using") or router.db_for_write(type(instance), instance=instance)
            schedule_delete_if_unreferenced(self, name, using, field_class=ObjectstoreFileField)

    def _label(self) -> str:
        model = getattr(self, "model", None)
        return f"{model._meta.label}.{self.name}" if model is not None else "ObjectstoreFileField"


def _name_of(value: object) -> str:
    """The stored name held by a field value; ``""`` for a file not uploaded yet."""
    if isinstance(value, FieldFile):
        return (value.name or "") if getattr(value, "_committed", True) else ""
    return value if isinstance(value, str) else ""
