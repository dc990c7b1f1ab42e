"""``ObjectstoreStorage``: Django's file storage API on top of objectstore.

Configure one storage per usecase in ``settings.STORAGES``; ``OPTIONS`` are the
constructor arguments (see ``docs/settings.md``). Names are ``<scope>/<key>``
(:mod:`django_objectstore.names`), so a name alone says where its object lives.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured, PermissionDenied, SuspiciousFileOperation
from django.core.files.base import File
from django.core.files.storage import Storage
from django.utils.deconstruct import deconstructible

from django_objectstore import storage_options as opts
from django_objectstore import storage_reads, storage_save, storage_urls
from django_objectstore.client import Client, Metadata, Session, Usecase
from django_objectstore.expiration import parse_duration_option
from django_objectstore.files import ObjectstoreFile
from django_objectstore.names import split_name
from django_objectstore.storage_errors import translate_errors
from django_objectstore.storage_sessions import StorageConnections, build_client
from django_objectstore.storage_support import default_base_url, guess_alias
from django_objectstore.wire.expiration import ExpirationPolicy
from django_objectstore.wire.scopes import Scopes, format_scopes

__all__ = ["ObjectstoreStorage"]

_SECRET_OPTIONS = ("token", "signing_key")


@deconstructible(path="django_objectstore.storage.ObjectstoreStorage")
class ObjectstoreStorage(Storage):
    """A Django ``Storage`` for one objectstore usecase.

    Every option can be given in ``OPTIONS``, as a class attribute of a subclass, or
    left to its default, in that order of precedence. ``usecase`` may be a name or a
    client :class:`~django_objectstore.client.Usecase`; after construction the
    attribute holds the resolved ``Usecase``.
    """

    # Subclasses may set any option as a class attribute (below OPTIONS in precedence).
    # Annotated without a value where the resolved instance value has another type.
    base_url: str | None = None
    usecase: Usecase
    compression: str
    expiration_policy: ExpirationPolicy | None
    token: str | None = None
    signing_key: str | None = None
    signing_kid: str | None = None
    url_mode: str
    url_expiry: timedelta
    key_mode: str
    allow_overwrite: bool
    client_options: dict[str, Any]
    alias: str | None = None

    def __init__(
        self,
        *,
        base_url: str | None = None,
        usecase: str | Usecase | None = None,
        compression: str | None = None,
        expiration_policy: ExpirationPolicy | str | None = None,
        token: str | None = None,
        signing_key: str | None = None,
        signing_kid: str | None = None,
        url_mode: str | None = None,
        url_expiry: timedelta | int | str | None = None,
        key_mode: str | None = None,
        allow_overwrite: bool | None = None,
        client_options: Mapping[str, Any] | None = None,
        alias: str | None = None,
        **unknown: Any,
    ) -> None:
        # Must stay the first statement: the parameters are exactly the local names here.
        given = dict(locals())
        for name in ("self", "unknown", "__class__"):
            given.pop(name, None)
        options = self.effective_options({**given, **unknown})
        problems = opts.find_problems(options)
        if problems:
            problem = problems[0]
            hint = f" ({problem.hint})" if problem.hint else ""
            raise ImproperlyConfigured(f"ObjectstoreStorage: {problem.message}{hint}")
        self._options = options
        self.base_url = options.get("base_url")
        self.alias = options.get("alias")
        self.url_mode = options.get("url_mode") or "proxy"
        self.key_mode = options.get("key_mode") or "server"
        self.allow_overwrite = bool(options.get("allow_overwrite"))
        self.url_expiry = parse_duration_option(
            options.get("url_expiry") or timedelta(hours=1), option="url_expiry"
        )
        self.token = options.get("token")
        self.signing_key = options.get("signing_key")
        self.signing_kid = options.get("signing_kid")
        self.client_options = dict(options.get("client_options") or {})
        self.usecase = opts.build_usecase(options)
        self.compression = self.usecase.compression
        self.expiration_policy = self.usecase.expiration_policy
        self._connections = StorageConnections(lambda: build_client(self), self.usecase)

    if TYPE_CHECKING:

        def deconstruct(self) -> tuple[str, tuple[Any, ...], dict[str, Any]]: ...

    # -- configuration ------------------------------------------------------------------

    @classmethod
    def effective_options(cls, given: Mapping[str, Any]) -> dict[str, Any]:
        """``given`` (OPTIONS) over the class attributes; ``None`` means "not set"."""
        merged: dict[str, Any] = {}
        for name in opts.OPTION_NAMES:
            value = given.get(name)
            if value is None:
                value = getattr(cls, name, None)
            if value is not None:
                merged[name] = value
        merged.update({k: v for k, v in given.items() if k not in opts.OPTION_NAMES})
        return merged

    def resolved_base_url(self) -> str:
        """``base_url``, else ``OBJECTSTORE["base_url"]``, else an embedded store."""
        return self.base_url or default_base_url()

    @property
    def configured_alias(self) -> str | None:
        """The ``STORAGES`` alias (``alias`` option, else looked up); ``None`` if unknown."""
        return self.alias or guess_alias(self, self._options)

    @property
    def display_alias(self) -> str:
        """The ``STORAGES`` alias for messages (``alias`` option, else looked up)."""
        return self.configured_alias or "<unnamed storage>"

    # -- client and sessions ------------------------------------------------------------

    @property
    def client(self) -> Client:
        """The storage's one client (created on first use; thread-safe)."""
        return self._connections.client

    def session_for(self, scopes: Scopes) -> Session:
        """A client session for this usecase and ``scopes`` (cached, thread-safe)."""
        return self._connections.session(scopes)

    def check_scope(self, scopes: Scopes, name: str) -> None:
        """``PermissionDenied`` when a scope is active and ``name`` belongs to another."""
        from django_objectstore.scope import get_current_scope

        active = get_current_scope()
        if active is not None and tuple(active) != tuple(scopes):
            raise PermissionDenied(
                f"file {name!r} belongs to scope {format_scopes(scopes)!r}, but the active "
                f"objectstore scope is {format_scopes(active)!r}"
            )

    def parse_name(self, name: str) -> tuple[Scopes, str]:
        """``split_name`` with ``SuspiciousFileOperation`` for malformed names."""
        try:
            return split_name(name)
        except ValueError as exc:
            raise SuspiciousFileOperation(str(exc)) from None

    def open_session_for_name(self, name: str) -> tuple[Session, str]:
        """The session and key of ``name``, after the scope check."""
        scopes, key = self.parse_name(name)
        self.check_scope(scopes, name)
        return self.session_for(scopes), key

    def translate_errors(self, operation: str, name: str) -> AbstractContextManager[None]:
        """Map client exceptions to the storage's error policy (see ``storage_errors``)."""
        return translate_errors(
            operation,
            name,
            lambda: (self.display_alias, self.usecase.name, self.resolved_base_url()),
        )

    # -- names ----------------------------------------------------------------------------

    def is_name_available(self, name: str, max_length: int | None = None) -> bool:
        """Server and content keys never collide; named keys follow ``allow_overwrite``."""
        return storage_save.is_name_available(self, name, max_length)

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        """Server and content keys never collide, so only the name's checks remain."""
        if self.key_mode == "name":
            return super().get_available_name(name, max_length)
        return storage_save.generated_key_name(self, name, max_length)

    def get_alternative_name(self, file_root: str, file_ext: str) -> str:
        if self.allow_overwrite and self.key_mode == "name":
            return f"{file_root}{file_ext}"
        return super().get_alternative_name(file_root, file_ext)

    # -- Storage API ----------------------------------------------------------------------

    def _save(self, name: str, content: File[Any]) -> str:
        return storage_save.save(self, name, content)

    def _open(self, name: str, mode: str = "rb") -> ObjectstoreFile:
        return storage_reads.open_file(self, name, mode)

    def delete(self, name: str) -> None:
        """Delete the object; deleting a missing object is not an error."""
        if not name:
            raise ValueError("The name must be given to delete().")
        session, key = self.open_session_for_name(name)
        try:
            with self.translate_errors("delete", name):
                session.delete(key)
        except FileNotFoundError:
            pass

    def exists(self, name: str) -> bool:
        """One HEAD: ``False`` only for a missing object; every other failure raises.

        A HEAD counts as a read, so it renews a time-to-idle object's expiry.
        """
        session, key = self.open_session_for_name(name)
        with self.translate_errors("exists", name):
            return session.head(key) is not None

    def metadata(self, name: str) -> Metadata:
        """The object's metadata (one HEAD); ``FileNotFoundError`` when missing."""
        session, key = self.open_session_for_name(name)
        with self.translate_errors("metadata", name):
            meta = session.head(key)
        if meta is None:
            raise FileNotFoundError(f"no object {name!r} in storage {self.display_alias!r}")
        return meta

    def size(self, name: str) -> int:
        """The uncompressed size in bytes (see ``docs/storage.md`` for how it is found)."""
        session, key = self.open_session_for_name(name)
        return storage_reads.size_from_metadata(self, session, key, name, self.metadata(name))

    def get_created_time(self, name: str) -> datetime:
        """When the object was written (objectstore resets it on every overwrite)."""
        return storage_reads.created_time(self, name)

    def get_modified_time(self, name: str) -> datetime:
        """Objects are immutable: the last write is their creation time."""
        return self.get_created_time(name)

    def get_accessed_time(self, name: str) -> datetime:
        raise NotImplementedError(
            "objectstore does not record when an object was last read; use "
            "get_created_time(), or metadata(name).time_expires for time-to-idle objects"
        )

    def path(self, name: str) -> str:
        raise NotImplementedError(
            "objectstore objects have no local filesystem path; use storage.open(name) "
            "to stream the file"
        )

    def listdir(self, path: str) -> tuple[list[str], list[str]]:
        raise NotImplementedError(
            "objectstore has no listing API; keep the names you saved (e.g. in a FileField)"
        )

    def url(self, name: str | None, expire: timedelta | int | None = None) -> str:
        """A URL for ``name`` without any network request.

        ``proxy``: the download view of this app; ``presigned``: a signed objectstore URL
        valid for ``expire`` (default ``url_expiry``); ``direct``: the plain object URL,
        with a read token embedded when a signing key is configured.
        """
        if not name:
            raise ValueError("url() needs a file name")
        return storage_urls.file_url(self, name, expire)

    def close(self) -> None:
        """Release the client's connections (a new client is made on next use)."""
        self._connections.close()


_deconstruct_with_secrets = ObjectstoreStorage.deconstruct


def _deconstruct(self: ObjectstoreStorage) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
    """The constructor arguments as given, without secrets (``token``, ``signing_key``).

    Migrations must not carry credentials; pass them through ``STORAGES`` OPTIONS and
    let fields refer to the alias.
    """
    path, args, kwargs = _deconstruct_with_secrets(self)
    return path, args, {k: v for k, v in kwargs.items() if k not in _SECRET_OPTIONS}


# ``@deconstructible`` installs its own ``deconstruct`` after the class body runs, so
# the secret-free version is installed here.
ObjectstoreStorage.deconstruct = _deconstruct  # type: ignore[method-assign]
