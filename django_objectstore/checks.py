"""System checks: configuration mistakes reported by ``manage.py check``, offline.

Ids are never reused. Errors:

- ``E001`` malformed ``base_url`` (scheme, host) in OPTIONS or ``OBJECTSTORE``
- ``E002`` invalid usecase name
- ``E003`` invalid ``expiration_policy``
- ``E004`` invalid ``compression``
- ``E005`` unknown OPTIONS key
- ``E006`` ``url_mode="presigned"`` or ``"redirect"`` without a signing key
- ``E007`` invalid ``url_mode``, ``key_mode`` or ``allow_overwrite``
- ``E008`` invalid ``url_expiry``
- ``E009`` inconsistent credentials (token and signing key, key without kid, not a PEM)
- ``E010`` unknown or invalid ``client_options``
- ``E011`` ``OBJECTSTORE`` is not a dict or has unknown keys
- ``E012`` ``OBJECTSTORE["scope_resolver"]`` cannot be imported
- ``E013`` ``OBJECTSTORE["download_permission"]`` cannot be imported
- ``E014`` a storage's ``BACKEND`` cannot be imported (only for objectstore paths)
- ``E015`` an ``ObjectstoreFileField`` names a storage alias missing from ``STORAGES``
- ``E016`` the ``alias`` option differs from the storage's key in ``STORAGES``
- ``E017`` a relative embedded store (``embedded:``, ``embedded:rel/dir`` or the
  default) while ``settings.BASE_DIR`` is not set
- ``E018`` the ``client`` option names no ``OBJECTSTORE["clients"]`` entry, or is set
  together with an option the shared client decides (``base_url``, credentials,
  ``client_options``)
- ``E019`` an ``OBJECTSTORE["clients"]`` entry is invalid (unknown key, base URL,
  credentials, values, an unimportable ``metrics_backend``)

Warnings:

- ``W001`` (deploy) an embedded store is used with ``DEBUG = False``
- ``W002`` an ``ObjectstoreFileField`` has no ``scope`` and the scope middleware is missing
- ``W003`` ``url_mode="proxy"`` or ``"redirect"`` but the download URLs are not in the
  URLconf
- ``W004`` ``url_mode`` ``presigned``/``direct``/``redirect`` with zstd compression:
  those URLs serve the stored (compressed) bytes with ``content-encoding: zstd``
- ``W005`` an ``ObjectstoreFileField`` names a storage that is not an ``ObjectstoreStorage``
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import storages
from django.db import models
from django.urls import NoReverseMatch, reverse
from django.utils.module_loading import import_string

from django_objectstore.conf import objectstore_settings
from django_objectstore.fields import ObjectstoreFileField
from django_objectstore.fields.references import field_sources
from django_objectstore.storage import ObjectstoreStorage
from django_objectstore.storage.clients import client_config_problems
from django_objectstore.storage.connections import is_relative_embedded, resolve_base_url
from django_objectstore.storage.options import find_problems, validate_base_url
from django_objectstore.storage.storage import PATH as _STORAGE_PATH

__all__ = [
    "check_embedded_in_production",
    "check_embedded_paths",
    "check_field_storages",
    "check_fields_have_a_scope_source",
    "check_objectstore_setting",
    "check_proxy_urls",
    "check_storages",
    "register",
]

_ID = "django_objectstore.{}"
_KIND_IDS = {
    "base_url": "E001",
    "usecase": "E002",
    "expiration": "E003",
    "compression": "E004",
    "unknown": "E005",
    "presigned": "E006",
    "choice": "E007",
    "url_expiry": "E008",
    "credentials": "E009",
    "client_options": "E010",
    "client": "E018",
}
_KIND_HINTS = {
    "base_url": "use http(s)://host[:port][/prefix], embedded:<directory> or memory://<name>",
    "usecase": "use 3-64 characters from A-Z a-z 0-9 _ -, e.g. 'attachments'",
    "compression": "'zstd' (the default) or 'none' for already-compressed files",
    "choice": "each option and its values are listed in the settings reference (settings.md)",
    "url_expiry": "a timedelta, a number of seconds or a string such as '15m'; at most 7 days",
    "credentials": "set token, or signing_key with signing_kid, from the environment",
    "client_options": "client_options are keyword arguments of the objectstore Client",
}
"""Hints for problems whose message does not carry one."""
_MIDDLEWARE = "django_objectstore.middleware.ObjectstoreScopeMiddleware"


def register() -> None:
    """Register the checks (called from ``AppConfig.ready``; safe to call twice)."""
    checks.register(check_storages)
    checks.register(check_objectstore_setting)
    checks.register(check_embedded_paths)
    checks.register(check_fields_have_a_scope_source, checks.Tags.models)
    checks.register(check_field_storages, checks.Tags.models)
    checks.register(check_proxy_urls, checks.Tags.urls)
    checks.register(check_embedded_in_production, deploy=True)


def _objectstore_storages() -> Iterator[tuple[str, type[Any] | None, Mapping[str, Any], str]]:
    """``(alias, class or None when not importable, OPTIONS, BACKEND)`` of our storages."""
    for alias, config in (getattr(settings, "STORAGES", None) or {}).items():
        if not isinstance(config, Mapping):
            continue
        backend = config.get("BACKEND")
        if not isinstance(backend, str):
            continue
        try:
            cls = import_string(backend)
        except ImportError:
            if backend.startswith("django_objectstore."):
                yield alias, None, {}, backend
            continue
        if isinstance(cls, type) and issubclass(cls, ObjectstoreStorage):
            options = config.get("OPTIONS") or {}
            yield alias, cls, options if isinstance(options, Mapping) else {}, backend


def _effective(cls: type[Any], options: Mapping[str, Any]) -> dict[str, Any]:
    merged: dict[str, Any] = cls.effective_options(options)
    return merged


def check_storages(**kwargs: Any) -> list[checks.CheckMessage]:
    """Every ``STORAGES`` entry using ObjectstoreStorage: its OPTIONS, validated offline."""
    messages: list[checks.CheckMessage] = []
    for alias, cls, options, backend in _objectstore_storages():
        if cls is None:
            messages.append(
                checks.Error(
                    f"STORAGES[{alias!r}]: BACKEND {backend!r} cannot be imported",
                    hint=f"did you mean {_STORAGE_PATH!r}?",
                    id=_ID.format("E014"),
                )
            )
            continue
        effective = _effective(cls, options)
        for problem in find_problems(effective):
            messages.append(
                checks.Error(
                    f"STORAGES[{alias!r}]['OPTIONS']: {problem.message}",
                    hint=problem.hint or _KIND_HINTS.get(problem.kind),
                    obj=f"STORAGES[{alias!r}]",
                    id=_ID.format(_KIND_IDS[problem.kind]),
                )
            )
        messages.extend(_compressed_direct_urls(alias, effective))
        messages.extend(_alias_mismatch(alias, effective))
    return messages


def _alias_mismatch(alias: str, options: Mapping[str, Any]) -> list[checks.CheckMessage]:
    """An ``alias`` option naming another entry sends proxy URLs to the wrong storage."""
    given = options.get("alias")
    if given is None or given == alias:
        return []
    return [
        checks.Error(
            f"STORAGES[{alias!r}]['OPTIONS']['alias'] is {given!r}: proxy URLs of this "
            f"storage would be served from STORAGES[{given!r}]",
            hint=f"set 'alias': {alias!r} or remove the option (it is found automatically)",
            obj=f"STORAGES[{alias!r}]",
            id=_ID.format("E016"),
        )
    ]


def _compressed_direct_urls(alias: str, options: Mapping[str, Any]) -> list[checks.CheckMessage]:
    usecase = options.get("usecase")
    compression = options.get("compression") or getattr(usecase, "compression", None) or "zstd"
    if options.get("url_mode") in ("presigned", "direct", "redirect") and compression == "zstd":
        return [
            checks.Warning(
                f"STORAGES[{alias!r}] hands out {options['url_mode']} URLs of zstd-compressed "
                f"objects: they are served as stored, with content-encoding: zstd, which "
                f"older browsers and many HTTP clients cannot decode",
                hint="set compression='none' for this usecase, or use url_mode='proxy' "
                "(the download view decompresses when the client does not accept zstd)",
                obj=f"STORAGES[{alias!r}]",
                id=_ID.format("W004"),
            )
        ]
    return []


def check_objectstore_setting(**kwargs: Any) -> list[checks.CheckMessage]:
    """``settings.OBJECTSTORE``: known keys, a valid base_url, importable hooks."""
    try:
        objectstore_settings.raw()
    except ImproperlyConfigured as exc:
        return [
            checks.Error(
                str(exc),
                hint="OBJECTSTORE = {'base_url': ..., 'scope_resolver': ..., "
                "'download_permission': ...}; storage options go in STORAGES OPTIONS",
                id=_ID.format("E011"),
            )
        ]
    messages: list[checks.CheckMessage] = []
    try:
        base_url = objectstore_settings.base_url
        if base_url is not None:
            validate_base_url(base_url)
    except (ImproperlyConfigured, ValueError) as exc:
        messages.append(
            checks.Error(
                f"OBJECTSTORE['base_url']: {exc}",
                hint=_KIND_HINTS["base_url"],
                id=_ID.format("E001"),
            )
        )
    messages.extend(_shared_client_messages())
    for key, check_id, example in (
        ("scope_resolver", "E012", "'myproject.scopes.resolve'"),
        ("download_permission", "E013", "'myproject.permissions.can_download'"),
    ):
        try:
            path = getattr(objectstore_settings, key)
            if path is not None:
                import_string(path)
        except (ImproperlyConfigured, ImportError) as exc:
            messages.append(
                checks.Error(
                    f"OBJECTSTORE[{key!r}] cannot be imported: {exc}",
                    hint=f"give the dotted path of a function, e.g. {example}",
                    id=_ID.format(check_id),
                )
            )
    return messages


def _shared_client_messages() -> list[checks.CheckMessage]:
    """Every ``OBJECTSTORE["clients"]`` entry, validated offline (``E019``)."""
    try:
        clients = objectstore_settings.clients
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id=_ID.format("E019"))]
    return [
        checks.Error(
            f"OBJECTSTORE['clients'][{name!r}]: {problem}",
            hint="keys: base_url, token or signing_key with signing_kid, retries, "
            "timeout_ms, connection_kwargs, propagate_traces, metrics_backend (see "
            "the settings reference)",
            id=_ID.format("E019"),
        )
        for name, config in clients.items()
        for problem in client_config_problems(config)
    ]


def _base_url_option(options: Mapping[str, Any]) -> Any:
    """The storage's ``base_url`` option, or its shared client's."""
    name = options.get("client")
    if name is None:
        return options.get("base_url")
    try:
        config = objectstore_settings.clients.get(name)
    except ImproperlyConfigured:
        return None  # E019
    return config.get("base_url") if isinstance(config, Mapping) else None


def check_proxy_urls(**kwargs: Any) -> list[checks.CheckMessage]:
    """``url_mode="proxy"`` (and ``"redirect"``) need ``include("django_objectstore.urls")``
    in the URLconf."""
    proxied = [
        alias
        for alias, cls, options, _ in _objectstore_storages()
        if cls is not None
        and (_effective(cls, options).get("url_mode") or "proxy") in ("proxy", "redirect")
    ]
    if not proxied or not getattr(settings, "ROOT_URLCONF", None):
        return []
    try:
        reverse("django_objectstore:download", kwargs={"name": "_/check"})
    except NoReverseMatch:
        return [
            checks.Warning(
                f"storage(s) {', '.join(map(repr, proxied))} use url_mode 'proxy' or "
                f"'redirect' but the "
                f"download view is not in the URLconf, so file.url will fail",
                hint="add path('files/', include('django_objectstore.urls')) to your urls.py",
                id=_ID.format("W003"),
            )
        ]
    except Exception:  # a broken URLconf is reported by Django's own checks
        return []
    return []


def check_embedded_paths(**kwargs: Any) -> list[checks.CheckMessage]:
    """A relative embedded directory is resolved against ``BASE_DIR``, never the current
    directory: without ``BASE_DIR`` each command would find (or create) another store."""
    if getattr(settings, "BASE_DIR", None) is not None:
        return []
    try:
        project_default = objectstore_settings.base_url
    except ImproperlyConfigured:
        return []  # E011
    messages: list[checks.CheckMessage] = []
    for alias, cls, options, _ in _objectstore_storages():
        if cls is None:
            continue
        base_url = _base_url_option(_effective(cls, options)) or project_default or "embedded:"
        if isinstance(base_url, str) and is_relative_embedded(base_url):
            messages.append(
                checks.Error(
                    f"STORAGES[{alias!r}] uses the embedded objectstore at the relative path "
                    f"{base_url!r}, but settings.BASE_DIR is not set, so it would depend on "
                    f"the current directory",
                    hint="set BASE_DIR in your settings (relative embedded paths are resolved "
                    "against it), or use base_url='embedded:///absolute/dir'",
                    obj=f"STORAGES[{alias!r}]",
                    id=_ID.format("E017"),
                )
            )
    return messages


def check_embedded_in_production(**kwargs: Any) -> list[checks.CheckMessage]:
    """An in-process store is for development: it lives on one machine's disk."""
    if settings.DEBUG:
        return []
    messages: list[checks.CheckMessage] = []
    for alias, cls, options, _ in _objectstore_storages():
        if cls is None:
            continue
        try:
            base_url = resolve_base_url(_base_url_option(_effective(cls, options)))
        except ImproperlyConfigured:
            continue  # E017
        if isinstance(base_url, str) and base_url.startswith(("embedded:", "memory:")):
            messages.append(
                checks.Warning(
                    f"STORAGES[{alias!r}] uses the in-process objectstore ({base_url}) with "
                    f"DEBUG = False",
                    hint="point base_url (or OBJECTSTORE['base_url']) at an objectstore server",
                    obj=f"STORAGES[{alias!r}]",
                    id=_ID.format("W001"),
                )
            )
    return messages


# -- model fields ---------------------------------------------------------------------


def _objectstore_fields(
    app_configs: Any,
) -> Iterator[tuple[type[models.Model], ObjectstoreFileField]]:
    """``(model, field)`` for every ``ObjectstoreFileField`` of the checked apps."""
    for source in field_sources(ObjectstoreFileField):
        if app_configs is None or source.model._meta.app_config in app_configs:
            yield source.model, source.field


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
