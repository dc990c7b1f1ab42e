"""The options of :class:`~django_objectstore.storage.ObjectstoreStorage`, defined once.

:class:`StorageOptions` is the one definition: each field is an option (a key of
``STORAGES[alias]["OPTIONS"]``, a keyword argument of the storage, or a class attribute
of a subclass) with its accepted type, its default, its check and its doc
(``docs/settings.md`` explains each in full). :func:`find_problems` validates a mapping
of options offline; the storage raises
:class:`~django.core.exceptions.ImproperlyConfigured` for the first problem and the
system checks report each under its own id. Nothing here touches the network.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from django_objectstore.client import DEFAULT_MULTIPART_THRESHOLD, Client, SecretKey, Usecase
from django_objectstore.conf import DEFAULT_ALIAS, objectstore_settings
from django_objectstore.storage.expiration import (
    PolicySource,
    check_expiration_option,
    is_policy_source,
    parse_duration_option,
    parse_expiration_policy,
)
from django_objectstore.wire.expiration import ExpirationPolicy
from django_objectstore.wire.paths import validate_usecase

__all__ = [
    "CLIENT_REPLACES",
    "DEFAULT_TIMEOUT_MS",
    "KEY_MODES",
    "MAX_URL_EXPIRY",
    "OPTION_NAMES",
    "SECRET_OPTIONS",
    "URL_MODES",
    "OptionProblem",
    "StorageOptions",
    "build_usecase",
    "client_option_names",
    "credential_problems",
    "find_problems",
    "validate_base_url",
]

URL_MODES = ("proxy", "presigned", "direct", "redirect")
SIGNED_URL_MODES = ("presigned", "redirect")
"""URL modes that pre-sign objectstore URLs, so need a signing key."""
CLIENT_REPLACES = ("base_url", "token", "signing_key", "signing_kid", "client_options")
"""Storage options that a shared ``client`` decides instead (set both: ``E018``)."""
KEY_MODES = ("server", "name", "content")
COMPRESSIONS = ("zstd", "none")
MAX_PRESIGNED_EXPIRY_SECONDS = 7 * 24 * 3600
MAX_URL_EXPIRY = timedelta(seconds=MAX_PRESIGNED_EXPIRY_SECONDS)
"""The longest ``url_expiry`` (and ``url(expire=...)``): the protocol's limit for
pre-signed URLs, applied to every URL mode alike."""

DEFAULT_TIMEOUT_MS = 30_000
"""The storage's read timeout (``client_options["timeout_ms"]``) unless set: 30 s.

The client's own default is 60 s (the official client waits forever); a storage serving
web requests should give up sooner. It counts silence between bytes, not a transfer's length, and
objectstore answers in milliseconds, so only a stuck server reaches it. 30 s matches
common request deadlines (gunicorn's worker timeout, many load balancers' idle
timeouts), so the typed error surfaces instead of the worker being killed; botocore's
60 s (django-storages' S3) outlives both. ``None`` means this default, as it means the
client's for the client; ``{"timeout_ms": float("inf")}`` waits forever."""


@dataclass(frozen=True)
class OptionProblem:
    """One invalid option: ``kind`` selects the system check id, ``message`` says why."""

    kind: str
    option: str
    message: str
    hint: str | None = None


# -- checks of single values: raise ValueError or TypeError saying what is wrong ----------


def validate_base_url(url: object) -> str:
    """``http(s)://host[:port][/prefix]``, ``embedded:<dir>`` or ``memory://<name>``."""
    if not isinstance(url, str) or not url:
        raise ValueError(f"base_url must be a non-empty string, got {url!r}")
    if url.startswith("embedded:"):
        return url
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"invalid base_url {url!r}: {exc}") from None
    if parts.scheme == "memory":
        if not parts.netloc:
            raise ValueError(f"invalid base_url {url!r}: use memory://<name>")
        return url
    if parts.scheme not in ("http", "https"):
        raise ValueError(
            f"invalid base_url {url!r}: the scheme must be http, https, embedded or memory"
        )
    if not parts.hostname:
        raise ValueError(f"invalid base_url {url!r}: no host")
    if parts.query or parts.fragment:
        raise ValueError(f"invalid base_url {url!r}: no query string or fragment allowed")
    del port
    return url


def _check_usecase(value: object) -> None:
    if isinstance(value, str):
        validate_usecase(value)
    elif not hasattr(value, "name"):
        raise ValueError(f"usecase must be a name or Usecase, got {value!r}")


def _check_compression(value: object) -> None:
    if value not in COMPRESSIONS:
        raise ValueError(f"invalid compression {value!r}: use 'zstd' or 'none'")


def _check_choice(name: str, allowed: tuple[str, ...]) -> Callable[[object], None]:
    def check(value: object) -> None:
        if value not in allowed:
            raise ValueError(f"invalid {name} {value!r}: use one of {', '.join(allowed)}")

    return check


def _check_url_expiry(value: object) -> None:
    delta = parse_duration_option(value, option="url_expiry")
    if delta.total_seconds() > MAX_PRESIGNED_EXPIRY_SECONDS:
        raise ValueError(f"url_expiry {value!r} exceeds the one-week maximum of signed URLs")


def _check_bool(value: object) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"allow_overwrite must be a bool, got {value!r}")


def _about(
    doc: str,
    *,
    kind: str = "choice",
    check: Callable[[Any], object] | None = None,
    hint: str | None = None,
    secret: bool = False,
) -> dict[str, Any]:
    """The metadata of an option: ``check`` runs on a given (non-``None``) value and
    raises ``ValueError``/``TypeError``; ``kind`` picks the system check id, ``hint``
    completes its message; ``secret`` options are never written to migrations."""
    return {"doc": doc, "kind": kind, "check": check, "hint": hint, "secret": secret}


@dataclass(frozen=True, kw_only=True)
class StorageOptions:
    """Every option of ``ObjectstoreStorage``, with its default, as given.

    ``None`` means "not set": the class attribute of the same name, else the default,
    applies. Fields are in the order problems are reported.
    """

    base_url: str | None = field(
        default=None,
        metadata=_about(
            "Where objectstore is; default OBJECTSTORE['base_url'], else an embedded store.",
            kind="base_url",
            check=validate_base_url,
        ),
    )
    usecase: str | Usecase = field(
        default=DEFAULT_ALIAS,
        metadata=_about(
            "The objectstore usecase: a name or a client Usecase.",
            kind="usecase",
            check=_check_usecase,
        ),
    )
    compression: str | None = field(
        default=None,
        metadata=_about(
            "'zstd' or 'none'; default the usecase's, else 'zstd'.",
            kind="compression",
            check=_check_compression,
        ),
    )
    expiration_policy: ExpirationPolicy | PolicySource | None = field(
        default=None,
        metadata=_about(
            "'tti:30 days', 'ttl:1h', 'manual' or a policy, or a callable (or its dotted "
            "path) returning one per save; default the usecase's, else manual.",
            kind="expiration",
            check=check_expiration_option,
            hint="e.g. 'tti:30 days', 'ttl:1h', 'manual' or 'myproject.retention.policy'",
        ),
    )
    url_mode: str = field(
        default="proxy",
        metadata=_about(
            "What url() returns: 'proxy', 'presigned', 'direct' or 'redirect'.",
            check=_check_choice("url_mode", URL_MODES),
        ),
    )
    key_mode: str = field(
        default="server",
        metadata=_about(
            "How keys are chosen: 'server', 'name' or 'content'.",
            check=_check_choice("key_mode", KEY_MODES),
        ),
    )
    url_expiry: timedelta | int | float | str = field(
        default=timedelta(hours=1),
        metadata=_about(
            "How long url() URLs stay valid, in every mode; at most 7 days.",
            kind="url_expiry",
            check=_check_url_expiry,
        ),
    )
    allow_overwrite: bool = field(
        default=False,
        metadata=_about(
            "With key_mode='name': replace an object of the same name.", check=_check_bool
        ),
    )
    token: str | None = field(
        default=None,
        metadata=_about("A static JWT; exclusive with signing_key.", secret=True),
    )
    signing_key: str | bytes | None = field(
        default=None,
        metadata=_about(
            "An Ed25519 private key (PKCS#8 PEM) to sign tokens and URLs.", secret=True
        ),
    )
    signing_kid: str | None = field(
        default=None,
        metadata=_about("The key id the objectstore server knows the public key by."),
    )
    client: str | None = field(
        default=None,
        metadata=_about(
            "The name of a shared client in OBJECTSTORE['clients']; replaces base_url, "
            "token, signing_key, signing_kid and client_options.",
            kind="client",
        ),
    )
    client_options: Mapping[str, Any] | None = field(
        default=None,
        metadata=_about("Keyword arguments of the objectstore Client (timeout_ms, retries...)."),
    )
    alias: str | None = field(
        default=None,
        metadata=_about("The STORAGES alias, for messages and proxy URLs; found when not set."),
    )


OPTION_NAMES: tuple[str, ...] = tuple(sorted(spec.name for spec in fields(StorageOptions)))
"""Every key ``STORAGES[alias]["OPTIONS"]`` may contain."""

SECRET_OPTIONS: frozenset[str] = frozenset(
    spec.name for spec in fields(StorageOptions) if spec.metadata["secret"]
)
"""Options never written to migrations."""


def client_option_names() -> tuple[str, ...]:
    """Keyword arguments of :class:`~django_objectstore.client.Client` that OPTIONS may set."""
    names = [
        name
        for name, parameter in inspect.signature(Client.__init__).parameters.items()
        if parameter.kind in (parameter.KEYWORD_ONLY, parameter.POSITIONAL_OR_KEYWORD)
        and name not in ("self", "base_url", "token")
    ]
    return tuple(sorted(names))


def find_problems(options: Mapping[str, Any]) -> list[OptionProblem]:
    """Every problem in ``options`` (constructor kwargs; ``None`` means "not set")."""
    problems = [
        OptionProblem(
            "unknown",
            name,
            f"unknown option {name!r} for ObjectstoreStorage",
            f"valid options are: {', '.join(OPTION_NAMES)}",
        )
        for name in sorted(set(options) - set(OPTION_NAMES))
    ]
    for spec in fields(StorageOptions):
        check = spec.metadata["check"]
        value = options.get(spec.name)
        if check is None or value is None:
            continue
        try:
            check(value)
        except (ValueError, TypeError) as exc:
            problems.append(
                OptionProblem(spec.metadata["kind"], spec.name, str(exc), spec.metadata["hint"])
            )
    problems.extend(_shared_client_problems(options))
    problems.extend(credential_problems(options))
    problems.extend(_signing_problems(options))
    problems.extend(_client_option_problems(options.get("client_options")))
    return problems


def credential_problems(options: Mapping[str, Any]) -> list[OptionProblem]:
    """``token``, ``signing_key`` and ``signing_kid`` of ``options``, checked together."""
    problems: list[OptionProblem] = []
    token, key, kid = options.get("token"), options.get("signing_key"), options.get("signing_kid")
    if token is not None and key is not None:
        problems.append(
            OptionProblem(
                "credentials",
                "token",
                "set either token (a static JWT) or signing_key/signing_kid, not both",
            )
        )
    if token is not None and not isinstance(token, str):
        problems.append(OptionProblem("credentials", "token", "token must be a JWT string"))
    if (key is None) != (kid is None):
        problems.append(
            OptionProblem(
                "credentials",
                "signing_key" if key is None else "signing_kid",
                "signing_key and signing_kid must be set together",
                "signing_kid is the key id the objectstore server knows the public key by",
            )
        )
    if key is not None and not isinstance(key, str | bytes):
        problems.append(
            OptionProblem("credentials", "signing_key", "signing_key must be an Ed25519 PEM string")
        )
    elif isinstance(key, str | bytes) and b"PRIVATE KEY" not in (
        key if isinstance(key, bytes) else key.encode()
    ):
        problems.append(
            OptionProblem(
                "credentials",
                "signing_key",
                "signing_key does not look like a PEM private key",
                "pass the PKCS#8 PEM text (-----BEGIN PRIVATE KEY-----...), e.g. read "
                "from an environment variable",
            )
        )
    return problems


def _shared_clients() -> Mapping[str, Mapping[str, Any]]:
    try:
        return objectstore_settings.clients
    except ImproperlyConfigured:
        return {}  # reported by check E019


def _shared_client_problems(options: Mapping[str, Any]) -> list[OptionProblem]:
    name = options.get("client")
    if name is None:
        return []
    problems = [
        OptionProblem(
            "client",
            option,
            f"{option} cannot be set together with client={name!r}: the shared client's "
            f"entry in OBJECTSTORE['clients'] decides it",
            f"move {option} into OBJECTSTORE['clients'][{name!r}], or remove the client option",
        )
        for option in CLIENT_REPLACES
        if options.get(option) is not None
    ]
    clients = _shared_clients()
    if not isinstance(name, str) or name not in clients:
        known = ", ".join(map(repr, sorted(clients))) or "none"
        problems.append(
            OptionProblem(
                "client",
                "client",
                f"client {name!r} is not in OBJECTSTORE['clients'] (configured: {known})",
                "name an entry of OBJECTSTORE['clients'], e.g. "
                "OBJECTSTORE = {'clients': {'default': {'base_url': ...}}}",
            )
        )
    return problems


def _signs(options: Mapping[str, Any]) -> bool:
    """Whether the storage has a signing key, its own or its shared client's."""
    if options.get("signing_key") is not None:
        return True
    config = _shared_clients().get(str(options.get("client")))
    if not isinstance(config, Mapping):
        return False
    return config.get("signing_key") is not None or isinstance(config.get("token"), SecretKey)


def _signing_problems(options: Mapping[str, Any]) -> list[OptionProblem]:
    mode = options.get("url_mode")
    if mode not in SIGNED_URL_MODES or _signs(options):
        return []
    if options.get("client") is not None and options["client"] not in _shared_clients():
        return []  # the unknown client is the problem reported
    where = (
        f"OBJECTSTORE['clients'][{options['client']!r}]"
        if options.get("client") is not None
        else "the storage's OPTIONS"
    )
    return [
        OptionProblem(
            "presigned",
            "url_mode",
            f"url_mode={mode!r} needs a signing key to sign objectstore URLs",
            f"set signing_key and signing_kid in {where}, or use url_mode='proxy'",
        )
    ]


def _client_option_problems(client_options: object) -> list[OptionProblem]:
    if client_options is None:
        return []
    if not isinstance(client_options, Mapping):
        return [
            OptionProblem(
                "client_options",
                "client_options",
                f"client_options must be a dict, got {client_options!r}",
            )
        ]
    valid = client_option_names()
    return [
        OptionProblem(
            "client_options",
            "client_options",
            f"unknown client option {name!r}",
            f"valid client options are: {', '.join(valid)}",
        )
        for name in sorted(set(client_options) - set(valid))
    ]


def build_usecase(options: Mapping[str, Any]) -> Usecase:
    """The client ``Usecase`` from validated options (``usecase`` may be a ``Usecase``)."""
    value = options.get("usecase") or DEFAULT_ALIAS
    base = value if isinstance(value, Usecase) else None
    name = base.name if base is not None else str(value)
    compression = options.get("compression") or (base.compression if base else "zstd")
    policy: ExpirationPolicy | None
    if is_policy_source(options.get("expiration_policy")):
        policy = None  # decided per save, never frozen here
    elif options.get("expiration_policy") is not None:
        policy = parse_expiration_policy(options["expiration_policy"])
    else:
        policy = base.expiration_policy if base else None
    threshold = base.multipart_threshold if base else DEFAULT_MULTIPART_THRESHOLD
    return Usecase(name, compression, policy, multipart_threshold=threshold)
