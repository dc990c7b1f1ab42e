"""``ObjectstoreStorage``: Django's file storage API on top of objectstore.

Configure one storage per usecase in ``settings.STORAGES``; ``OPTIONS`` are the
constructor arguments (see ``docs/settings.md``). Names are ``<scope>/<key>``
(:mod:`django_objectstore.names`), so a name alone says where its object lives.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from django.core.exceptions import ImproperlyConfigured, PermissionDenied, SuspiciousFileOperation
from django.core.files.base import File
from django.core.files.storage import Storage
from django.urls import reverse
from django.utils.deconstruct import deconstructible

from django_objectstore import storage_options as opts
from django_objectstore.client import Client, GetResponse, Metadata, SecretKey, Session, Usecase
from django_objectstore.exceptions import ObjectstoreStorageError
from django_objectstore.expiration import parse_duration_option
from django_objectstore.files import ObjectstoreFile, ObjectStream, check_mode
from django_objectstore.names import join_name, looks_scoped, split_name
from django_objectstore.storage_errors import translate_errors
from django_objectstore.storage_support import (
    SIZE_METADATA,
    default_base_url,
    django_time,
    guess_alias,
    proxy_default_alias,
    uncompressed_size,
)
from django_objectstore.uploads import (
    content_type_for,
    is_precompressed,
    original_filename,
    prepare_upload,
)
from django_objectstore.wire.expiration import ExpirationPolicy
from django_objectstore.wire.scopes import Scopes, format_scopes

__all__ = ["ObjectstoreStorage"]

_SECRET_OPTIONS = ("token", "signing_key")
_SESSION_CACHE_SIZE = 1024
_SERVER_KEY_LENGTH = 36  # a UUID
_CONTENT_KEY_LENGTH = 64  # a SHA-256 hex digest


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
        self._lock = threading.Lock()
        self._client: Client | None = None
        self._sessions: dict[Scopes, Session] = {}

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
    def display_alias(self) -> str:
        """The ``STORAGES`` alias for messages (``alias`` option, else looked up)."""
        return self.alias or guess_alias(self, self._options) or "<unnamed storage>"

    # -- client and sessions ------------------------------------------------------------

    @property
    def client(self) -> Client:
        """The storage's one client (created on first use; thread-safe)."""
        client = self._client
        if client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._make_client()
                client = self._client
        return client

    def _make_client(self) -> Client:
        credential: SecretKey | str | None = self.token
        if self.signing_key is not None and self.signing_kid is not None:
            credential = SecretKey(self.signing_kid, self.signing_key)
        base_url = self.resolved_base_url()
        try:
            opts.validate_base_url(base_url)
            return Client(base_url, token=credential, **self.client_options)
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"storage {self.display_alias!r}: cannot create the objectstore client: {exc}"
            ) from exc

    def session_for(self, scopes: Scopes) -> Session:
        """A client session for this usecase and ``scopes`` (cached, thread-safe)."""
        session = self._sessions.get(scopes)
        if session is None:
            client = self.client
            with self._lock:
                session = self._sessions.get(scopes)
                if session is None:
                    if len(self._sessions) >= _SESSION_CACHE_SIZE:
                        self._sessions.clear()
                    session = self._sessions[scopes] = Session(client, self.usecase, scopes)
        return session

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

    def _error(
        self, message: str, operation: str, name: str, status: int | None
    ) -> ObjectstoreStorageError:
        return ObjectstoreStorageError(
            message,
            alias=self.display_alias,
            usecase=self.usecase.name,
            name=name,
            operation=operation,
            status=status,
        )

    # -- names ----------------------------------------------------------------------------

    def _scopes_and_key_for_save(self, name: str) -> tuple[Scopes, str]:
        """A save name is ``<scope>/<key>``; an unscoped name goes to the active scope."""
        if looks_scoped(name):
            return self.parse_name(name)
        from django_objectstore.scope import get_current_scope

        return self.parse_name(join_name(get_current_scope() or (), name))

    def is_name_available(self, name: str, max_length: int | None = None) -> bool:
        """Server and content keys never collide; named keys follow ``allow_overwrite``."""
        scopes, key = self._scopes_and_key_for_save(name)
        if self.key_mode == "name":
            stored = join_name(scopes, key)
            if max_length is not None and len(stored) > max_length:
                return False
            return self.allow_overwrite or not self.exists(stored)
        key_length = _SERVER_KEY_LENGTH if self.key_mode == "server" else _CONTENT_KEY_LENGTH
        return max_length is None or len(format_scopes(scopes)) + 1 + key_length <= max_length

    def get_alternative_name(self, file_root: str, file_ext: str) -> str:
        if self.allow_overwrite and self.key_mode == "name":
            return f"{file_root}{file_ext}"
        return super().get_alternative_name(file_root, file_ext)

    # -- Storage API ----------------------------------------------------------------------

    def _save(self, name: str, content: File[Any]) -> str:
        scopes, derived_key = self._scopes_and_key_for_save(name)
        stored_name = join_name(scopes, derived_key)
        self.check_scope(scopes, stored_name)
        session = self.session_for(scopes)
        filename = original_filename(content, derived_key)
        content_type = content_type_for(content, filename)
        compression = "none" if is_precompressed(content_type) else None
        with (
            prepare_upload(content, need_digest=self.key_mode == "content") as upload,
            self.translate_errors("save", stored_name),
        ):
            key = {"name": derived_key, "content": upload.sha256, "server": None}[self.key_mode]
            stored_key = session.put(
                upload.body,
                key=key,
                compression=compression,  # type: ignore[arg-type]
                content_type=content_type,
                metadata={SIZE_METADATA: str(upload.size)},
                filename=filename,
            )
        return join_name(scopes, stored_key)

    def _open(self, name: str, mode: str = "rb") -> ObjectstoreFile:
        check_mode(mode)
        session, key = self.open_session_for_name(name)

        def fetch() -> GetResponse:
            with self.translate_errors("open", name):
                response = session.get(key)
            if response is None:
                raise FileNotFoundError(f"no object {name!r} in storage {self.display_alias!r}")
            return response

        def size_of(metadata: Metadata) -> int:
            return self._size_from_metadata(session, key, name, metadata)

        return ObjectstoreFile(ObjectStream(fetch, size_of, name), name)

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
        return self._size_from_metadata(session, key, name, self.metadata(name))

    def _size_from_metadata(self, session: Session, key: str, name: str, meta: Metadata) -> int:
        with self.translate_errors("size", name):
            size = uncompressed_size(session, key, meta)
        if size is None:
            raise FileNotFoundError(f"no object {name!r} in storage {self.display_alias!r}")
        return size

    def get_created_time(self, name: str) -> datetime:
        """When the object was written (objectstore resets it on every overwrite)."""
        meta = self.metadata(name)
        if meta.time_created is None:
            raise self._error(
                f"objectstore sent no creation time for {name!r}", "get_created_time", name, None
            )
        return django_time(meta.time_created)

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
        scopes, key = self.parse_name(name)
        self.check_scope(scopes, name)
        if self.url_mode == "proxy":
            url = reverse("django_objectstore:download", kwargs={"name": name})
            alias = self.alias or guess_alias(self, self._options)
            if alias is not None and alias != proxy_default_alias():
                url += "?" + urlencode({"storage": alias})
            return url
        validity = (
            self.url_expiry if expire is None else parse_duration_option(expire, option="expire")
        )
        session = self.session_for(scopes)
        if self.url_mode == "presigned":
            return session.presigned_object_url("GET", key, validity)
        if self.signing_key is not None:
            return session.object_url(key, token_validity=validity)
        return session.object_url(key)

    def close(self) -> None:
        """Release the client's connections (a new client is made on next use)."""
        with self._lock:
            client, self._client = self._client, None
            self._sessions.clear()
        if client is not None:
            client.close()


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
