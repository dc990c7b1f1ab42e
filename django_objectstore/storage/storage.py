"""``ObjectstoreStorage``: Django's file storage API on top of objectstore.

Configure one storage per usecase in ``settings.STORAGES``; ``OPTIONS`` are the
constructor arguments (:class:`~django_objectstore.storage.options.StorageOptions`, see
``docs/settings.md``). Names are ``<scope>/<key>``
(:mod:`django_objectstore.storage.names`), so a name alone says where its object lives.

The whole class is here: configuration, sessions, the save path (where a new file goes,
whether a name is free, the upload), reads, URLs. Below it, the two functions that
decide which ``STORAGES`` aliases are objectstore storages and which one the download
view serves by default.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from importlib import import_module
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, SuspiciousFileOperation
from django.core.files.base import File
from django.core.files.storage import Storage
from django.urls import reverse
from django.utils.module_loading import import_string

from django_objectstore.client import (
    Client,
    ExpirationPolicy,
    GetResponse,
    Metadata,
    RequestError,
    SecretKey,
    Session,
    Usecase,
)
from django_objectstore.conf import DEFAULT_ALIAS
from django_objectstore.exceptions import ObjectstoreStorageError
from django_objectstore.scope import get_current_scope
from django_objectstore.storage import signed_urls
from django_objectstore.storage.clients import client_config, client_signs, shared_client
from django_objectstore.storage.connections import StorageConnections, resolve_base_url
from django_objectstore.storage.content import SaveOptions, unwrap_content
from django_objectstore.storage.errors import (
    StorageDescription,
    translate_errors,
    translated_error,
)
from django_objectstore.storage.expiration import (
    PolicySource,
    evaluate_policy_source,
    is_policy_source,
    parse_duration_option,
)
from django_objectstore.storage.files import (
    SIZE_METADATA,
    ObjectstoreFile,
    ObjectStream,
    check_mode,
    uncompressed_size,
)
from django_objectstore.storage.names import (
    check_file_name,
    check_relative_name,
    join_name,
    scoped_parts,
    split_name,
)
from django_objectstore.storage.options import (
    DEFAULT_TIMEOUT_MS,
    MAX_URL_EXPIRY,
    OPTION_NAMES,
    SECRET_OPTIONS,
    StorageOptions,
    build_usecase,
    find_problems,
    validate_base_url,
)
from django_objectstore.storage.uploads import (
    content_type_for,
    declare_text_charset,
    is_precompressed,
    original_filename,
    prepare_upload,
)
from django_objectstore.wire.scopes import Scopes, format_scopes

__all__ = ["PATH", "ObjectstoreStorage", "default_alias", "objectstore_aliases"]

PATH = "django_objectstore.storage.ObjectstoreStorage"
"""The class's public import path: ``STORAGES`` BACKEND and migrations use it."""

_SERVER_KEY_LENGTH = 36  # a UUID
_CONTENT_KEY_LENGTH = 64  # a SHA-256 hex digest
_CLASS_ATTRIBUTES = {"client": "client_name"}
"""Options whose class attribute has another name: ``client`` is the storage's Client."""


class ObjectstoreStorage(Storage):
    """A Django ``Storage`` for one objectstore usecase.

    Every option (:class:`~django_objectstore.storage.options.StorageOptions`) can be
    given in ``OPTIONS``, as a class attribute of a subclass, or left to its default, in
    that order of precedence. ``usecase`` may be a name or a client
    :class:`~django_objectstore.client.Usecase`; after construction the attribute holds
    the resolved ``Usecase``. The ``client`` option (a shared client's name) is kept as
    ``client_name``: ``storage.client`` is the :class:`~django_objectstore.client.Client`.
    """

    # The resolved values, set on every instance. Subclasses may set any option as a
    # class attribute (below OPTIONS in precedence); annotated without a value where the
    # resolved value has another type than the option.
    base_url: str | None = None
    usecase: Usecase
    compression: str
    expiration_policy: ExpirationPolicy | None
    expiration_source: PolicySource | None
    """The callable or dotted path deciding the policy per save (``expiration_policy``
    is then ``None``)."""
    client_name: str | None = None
    token: str | None = None
    signing_key: str | bytes | None = None
    signing_kid: str | None = None
    url_mode: str
    url_expiry: timedelta
    key_mode: str
    allow_overwrite: bool
    client_options: dict[str, Any]
    alias: str | None = None
    _constructor_args: tuple[tuple[Any, ...], dict[str, Any]]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        # A subclass's ``client = "name"`` sets the option; ``client`` stays the property.
        name = cls.__dict__.get("client")
        if isinstance(name, str):
            cls.client_name = name
            cls.client = ObjectstoreStorage.client  # type: ignore[method-assign]

    def __new__(cls, *args: Any, **kwargs: Any) -> ObjectstoreStorage:
        storage = super().__new__(cls)
        # What deconstruct() returns: the arguments as given (``@deconstructible`` does
        # the same, but would not let deconstruct() drop the secrets).
        storage._constructor_args = (args, kwargs)
        return storage

    def __init__(self, **options: Any) -> None:
        merged = self.effective_options(options)
        problems = find_problems(merged)
        if problems:
            problem = problems[0]
            hint = f" ({problem.hint})" if problem.hint else ""
            raise ImproperlyConfigured(f"ObjectstoreStorage: {problem.message}{hint}")
        given = StorageOptions(**merged)
        self._options = merged
        self.base_url = given.base_url
        self.alias = given.alias
        self.url_mode = given.url_mode
        self.key_mode = given.key_mode
        self.allow_overwrite = given.allow_overwrite
        self.url_expiry = parse_duration_option(given.url_expiry, option="url_expiry")
        self.token = given.token
        self.signing_key = given.signing_key
        self.signing_kid = given.signing_kid
        self.client_options = dict(given.client_options or {})
        self.client_name = given.client
        self.usecase = build_usecase(merged)
        self.compression = self.usecase.compression
        self.expiration_policy = self.usecase.expiration_policy
        source = given.expiration_policy
        self.expiration_source = source if is_policy_source(source) else None  # type: ignore[assignment]
        self._connections = self._new_connections()

    def _new_connections(self) -> StorageConnections:
        return StorageConnections(
            self._make_client, self.usecase, shared=self.client_name is not None
        )

    def __getstate__(self) -> dict[str, Any]:
        """Everything but the connections (a lock, a pool): pickles and deep-copies make
        their own on first use. A shared client stays one per process."""
        state = self.__dict__.copy()
        state.pop("_connections", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._connections = self._new_connections()

    def deconstruct(self) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
        """The constructor arguments as given, without secrets (``token``, ``signing_key``).

        Migrations must not carry credentials; pass them through ``STORAGES`` OPTIONS and
        let fields refer to the alias. The path is :data:`PATH` for this class and the
        subclass's own for a subclass (which must be importable by it).
        """
        cls = type(self)
        if cls is ObjectstoreStorage:
            path = PATH
        else:
            path = f"{cls.__module__}.{cls.__name__}"
            if not hasattr(import_module(cls.__module__), cls.__name__):
                raise ValueError(
                    f"Could not find object {cls.__name__} in {cls.__module__}: a storage "
                    f"class in migrations must be defined at module level"
                )
        args, kwargs = self._constructor_args
        return path, args, {k: v for k, v in kwargs.items() if k not in SECRET_OPTIONS}

    # -- configuration ------------------------------------------------------------------

    @classmethod
    def effective_options(cls, given: Mapping[str, Any]) -> dict[str, Any]:
        """``given`` (OPTIONS) over the class attributes; ``None`` means "not set"."""
        merged: dict[str, Any] = {}
        for name in OPTION_NAMES:
            value = given.get(name)
            if value is None:
                value = getattr(cls, _CLASS_ATTRIBUTES.get(name, name), None)
            if value is not None:
                merged[name] = value
        merged.update({k: v for k, v in given.items() if k not in OPTION_NAMES})
        return merged

    def resolved_base_url(self) -> str:
        """``base_url`` (the shared client's with ``client``), else
        ``OBJECTSTORE["base_url"]``, else an embedded store; a relative embedded directory
        is resolved against ``BASE_DIR``."""
        if self.client_name is not None:
            return resolve_base_url(client_config(self.client_name).get("base_url"))
        return resolve_base_url(self.base_url)

    @property
    def configured_alias(self) -> str | None:
        """The ``STORAGES`` alias (``alias`` option, else looked up); ``None`` if unknown."""
        return self.alias or self._find_alias()

    @property
    def display_alias(self) -> str:
        """The ``STORAGES`` alias for messages (``alias`` option, else looked up)."""
        return self.configured_alias or "<unnamed storage>"

    def _find_alias(self) -> str | None:
        """The ``STORAGES`` alias configured with this class and these options, if any."""
        configured = getattr(settings, "STORAGES", None) or {}
        cls = type(self)
        own_path = f"{cls.__module__}.{cls.__qualname__}"
        for alias, config in configured.items():
            if not isinstance(config, Mapping):
                continue
            if config.get("BACKEND") not in (own_path, PATH):
                continue
            if cls.effective_options(config.get("OPTIONS") or {}) == self._options:
                return str(alias)
        return None

    # -- client and sessions ------------------------------------------------------------

    @property
    def client(self) -> Client:
        """The storage's one client (created on first use; thread-safe)."""
        return self._connections.client

    def _make_client(self) -> Client:
        """A client for the base URL and credentials (or the shared client named by the
        ``client`` option); ``ImproperlyConfigured``."""
        if self.client_name is not None:
            return shared_client(self.client_name)
        credential: SecretKey | str | None = self.token
        if self.signing_key is not None and self.signing_kid is not None:
            credential = SecretKey(self.signing_kid, self.signing_key)
        base_url = self.resolved_base_url()
        options = {**self.client_options}
        if options.get("timeout_ms") is None:  # unset or None: the storage's default
            options["timeout_ms"] = DEFAULT_TIMEOUT_MS
        try:
            validate_base_url(base_url)
            return Client(base_url, token=credential, **options)
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"storage {self.display_alias!r}: cannot create the objectstore client: {exc}"
            ) from exc

    @property
    def read_timeout(self) -> float | None:
        """Seconds the client waits for a byte from an HTTP server (``None``: forever,
        or an in-process store, which has no socket to wait on)."""
        if not self.resolved_base_url().lower().startswith(("http://", "https://")):
            return None
        options = (
            self.client_options if self.client_name is None else client_config(self.client_name)
        )
        timeout_ms = options.get("timeout_ms") or DEFAULT_TIMEOUT_MS
        return None if timeout_ms == float("inf") else float(timeout_ms) / 1000

    def session_for(self, scopes: Scopes) -> Session:
        """A client session for this usecase and ``scopes`` (cached, thread-safe)."""
        return self._connections.session(scopes)

    def check_scope(self, scopes: Scopes, name: str) -> None:
        """``PermissionDenied`` when a scope is active and ``name`` belongs to another."""
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
        """Map client exceptions to the storage's error policy (see ``storage.errors``)."""
        return translate_errors(operation, name, self._describe)

    def _translated(self, exc: RequestError, operation: str, name: str) -> Exception:
        """What :meth:`translate_errors` raises for ``exc``: the hot paths (save, open,
        reads) catch ``RequestError`` themselves, which costs nothing until one fails."""
        return translated_error(exc, operation, name, self._describe())

    def _describe(self) -> StorageDescription:
        return StorageDescription(
            self.display_alias, self.usecase.name, self.resolved_base_url(), self.read_timeout
        )

    # -- names ----------------------------------------------------------------------------
    # The key comes from ``key_mode``: ``server`` (a UUID the server generates),
    # ``content`` (the SHA-256 of the bytes) or ``name`` (the name Django derived).

    def scopes_and_key_for_save(self, name: str) -> tuple[Scopes, str]:
        """A save name is ``<scope>/<key>``; an unscoped name goes to the active scope."""
        try:
            parts = scoped_parts(name)
        except ValueError as exc:
            raise SuspiciousFileOperation(str(exc)) from None
        if parts is not None:
            return parts
        return self.parse_name(join_name(get_current_scope() or (), name))

    def is_name_available(self, name: str, max_length: int | None = None) -> bool:
        """Server and content keys never collide; named keys follow ``allow_overwrite``."""
        scopes, key = self.scopes_and_key_for_save(name)
        if self.key_mode == "name":
            if max_length is not None and len(join_name(scopes, key)) > max_length:
                return False
            return self.allow_overwrite or not self.exists(join_name(scopes, key))
        key_length = _SERVER_KEY_LENGTH if self.key_mode == "server" else _CONTENT_KEY_LENGTH
        return max_length is None or len(format_scopes(scopes)) + 1 + key_length <= max_length

    def get_available_name(self, name: str, max_length: int | None = None) -> str:
        """Server and content keys never collide, so only the name's checks remain.

        Django's naming loop would try alternative names, but the stored name does not
        depend on them (the key replaces the file name), so the loop could only end where
        this starts: the name is valid and short enough, or no name ever will be. Named
        keys that may be overwritten are the same: a free name is returned at once, and
        only a name over ``max_length`` goes through Django's loop (which shortens it).
        """
        overwrite = self.key_mode == "name" and self.allow_overwrite
        if self.key_mode == "name" and not overwrite:
            return super().get_available_name(name, max_length)
        name = check_file_name(name)
        self.scopes_and_key_for_save(name)  # SuspiciousFileOperation for forged names
        if overwrite:
            if self.is_name_available(name, max_length):
                return name
            return super().get_available_name(name, max_length)
        if not self.is_name_available(name, max_length):
            raise SuspiciousFileOperation(
                f"the stored name for {name!r} would exceed max_length={max_length}: raise "
                "the field's max_length (scope + 1 + key length)"
            )
        return name

    def get_alternative_name(self, file_root: str, file_ext: str) -> str:
        if self.allow_overwrite and self.key_mode == "name":
            return f"{file_root}{file_ext}"
        return super().get_alternative_name(file_root, file_ext)

    # -- Storage API ----------------------------------------------------------------------

    def save(self, name: str | None, content: Any, max_length: int | None = None) -> str:
        """Django's ``Storage.save``, step for step, with its three name checks done by
        :func:`~.names.check_relative_name` (the same rules without pathlib)."""
        if name is None:
            name = content.name
        if not hasattr(content, "chunks"):
            content = File(content, name)
        check_relative_name(name)
        name = self.get_available_name(name, max_length=max_length)
        check_relative_name(name)
        name = self._save(name, content)
        check_relative_name(name)
        return name

    def _save(self, name: str, content: File[Any]) -> str:
        """Upload ``content`` under ``name``'s scope; returns the stored ``<scope>/<key>``.

        ``content`` may be an :class:`~.content.ObjectstoreContent` carrying options for
        this save (expiration, metadata, origin, content type).
        """
        content, extra = unwrap_content(content)
        scopes, derived_key = self.scopes_and_key_for_save(name)
        stored_name = join_name(scopes, derived_key)
        self.check_scope(scopes, stored_name)
        session, policy = self._put_target(scopes, extra)
        filename = original_filename(content, derived_key)
        content_type = extra.content_type or content_type_for(content, filename)
        compression = "none" if is_precompressed(content_type) else None
        upload = prepare_upload(content, need_digest=self.key_mode == "content")
        try:
            content_type = declare_text_charset(content_type, content, upload.body)
            key = {"name": derived_key, "content": upload.sha256, "server": None}[self.key_mode]
            stored_key = session.put(
                upload.body,
                key=key,
                compression=compression,  # type: ignore[arg-type]
                content_type=content_type,
                metadata={**extra.metadata, SIZE_METADATA: str(upload.size)},
                expiration_policy=policy,
                origin=extra.origin,
                filename=filename,
            )
        except RequestError as exc:
            raise self._translated(exc, "save", stored_name) from exc
        finally:
            upload.close()
        return stored_name if stored_key == derived_key else join_name(scopes, stored_key)

    def _put_target(
        self, scopes: Scopes, extra: SaveOptions
    ) -> tuple[Session, ExpirationPolicy | None]:
        """The session and ``expiration_policy`` of one upload (``None``: the usecase's).

        The policy of ``ObjectstoreContent``, else the one the storage's callable returns
        now, else the usecase's. A manual policy for a usecase that has one needs a
        session whose usecase has none (the client sends the usecase's policy otherwise).
        """
        if not extra.expiration_given and self.expiration_source is None:
            return self.session_for(scopes), None
        if extra.expiration_given:
            policy = extra.expiration_policy
        else:
            assert self.expiration_source is not None
            policy = evaluate_policy_source(self.expiration_source)
        if policy is None and self.usecase.expiration_policy is not None:
            usecase = self.usecase
            manual = Usecase(
                usecase.name,
                usecase.compression,
                None,
                multipart_threshold=usecase.multipart_threshold,
            )
            return Session(self.client, manual, scopes), None
        return self.session_for(scopes), policy

    def expiration_policy_now(self) -> ExpirationPolicy | None:
        """The policy a save without its own would get now (``None``: manual)."""
        if self.expiration_source is not None:
            return evaluate_policy_source(self.expiration_source)
        return self.expiration_policy

    def _open(self, name: str, mode: str = "rb") -> ObjectstoreFile:
        """A file over the object's stream: the GET is made here, so a missing object
        raises ``FileNotFoundError`` from ``open()`` (as Django's storages do)."""
        if mode != "rb":
            check_mode(mode)
        session, key = self.open_session_for_name(name)

        def fetch() -> GetResponse:
            try:
                response = session.get(key)
            except RequestError as exc:
                raise self._translated(exc, "open", name) from exc
            if response is None:
                raise FileNotFoundError(f"no object {name!r} in storage {self.display_alias!r}")
            return response

        def size_of(metadata: Metadata) -> int:
            return self._size_from_metadata(session, key, name, metadata)

        def translate(exc: RequestError) -> Exception:
            return self._translated(exc, "read", name)

        return ObjectstoreFile(ObjectStream(fetch, size_of, name, translate), name)

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
        """The uncompressed size (see :func:`~.files.uncompressed_size`)."""
        with self.translate_errors("size", name):
            size = uncompressed_size(session, key, meta)
        if size is None:
            raise FileNotFoundError(f"no object {name!r} in storage {self.display_alias!r}")
        return size

    def get_created_time(self, name: str) -> datetime:
        """When the object was written (objectstore resets it on every overwrite)."""
        meta = self.metadata(name)
        if meta.time_created is None:
            raise ObjectstoreStorageError(
                f"objectstore sent no creation time for {name!r}",
                alias=self.display_alias,
                usecase=self.usecase.name,
                name=name,
                operation="get_created_time",
                status=None,
            )
        return _django_time(meta.time_created)

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

        ``proxy``: the download view of this app, signed for this storage, this name and
        ``expire`` (default ``url_expiry``; see :mod:`.signed_urls`), with
        ``?storage=<alias>`` unless this is the view's default storage (see
        :func:`default_alias`). ``presigned``: a pre-signed objectstore URL for the one
        object. ``direct``: the plain object URL; with a signing key, a pre-signed URL
        (an ``os_auth`` token cannot be narrowed to one object, a signature can).
        ``redirect``: the proxy URL; the view answers it with a redirect to a pre-signed
        URL.
        ``expire`` is at most seven days (``ValueError`` beyond).
        """
        if not name:
            raise ValueError("url() needs a file name")
        scopes, key = self.parse_name(name)
        self.check_scope(scopes, name)
        validity = self._url_validity(expire)
        if self.url_mode in ("proxy", "redirect"):
            return self._proxy_url(name, validity)
        session = self.session_for(scopes)
        if self.url_mode == "presigned" or self.can_sign:
            return session.presigned_object_url("GET", key, validity)
        return session.object_url(key)

    @property
    def can_sign(self) -> bool:
        """Whether the storage has a signing key (its own or its shared client's)."""
        if self.client_name is not None:
            return client_signs(self.client_name)
        return self.signing_key is not None

    def _url_validity(self, expire: timedelta | int | None) -> timedelta:
        if expire is None:
            return self.url_expiry
        validity = parse_duration_option(expire, option="expire")
        if validity > MAX_URL_EXPIRY:
            raise ValueError(
                f"url(expire={expire!r}) exceeds the maximum of {MAX_URL_EXPIRY.days} days "
                "(the protocol's limit for signed URLs); ask for a new URL instead"
            )
        return validity

    def _proxy_url(self, name: str, validity: timedelta) -> str:
        url = reverse("django_objectstore:download", kwargs={"name": name})
        view_default = default_alias()
        alias = self.configured_alias or view_default
        query = {"storage": alias} if alias != view_default else {}
        query.update(signed_urls.signed_query(alias, name, validity))
        return f"{url}?{urlencode(query)}"

    def close(self) -> None:
        """Release the client's connections (a new client is made on next use)."""
        self._connections.close()


def _django_time(value: datetime) -> datetime:
    """Aware UTC under ``USE_TZ``; otherwise naive local time, as FileSystemStorage does."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    if settings.USE_TZ:
        return value.astimezone(UTC)
    return datetime.fromtimestamp(value.timestamp())


def objectstore_aliases() -> list[str]:
    """The ``STORAGES`` aliases whose ``BACKEND`` is ObjectstoreStorage or a subclass.

    Decided from the backend class, so other storages are never instantiated.
    """
    aliases = []
    configured = getattr(settings, "STORAGES", None) or {}
    for alias, config in configured.items():
        backend_path = config.get("BACKEND") if isinstance(config, Mapping) else None
        if not isinstance(backend_path, str):
            continue
        try:
            backend = import_string(backend_path)
        except ImportError:
            continue
        if isinstance(backend, type) and issubclass(backend, ObjectstoreStorage):
            aliases.append(str(alias))
    return aliases


def default_alias() -> str:
    """The alias the download view serves without ``?storage=``.

    The only ``STORAGES`` entry using ObjectstoreStorage (or a subclass), else
    :data:`~django_objectstore.conf.DEFAULT_ALIAS`.
    """
    aliases = objectstore_aliases()
    return aliases[0] if len(aliases) == 1 else DEFAULT_ALIAS
