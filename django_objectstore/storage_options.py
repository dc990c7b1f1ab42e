"""The options of :class:`~django_objectstore.storage.ObjectstoreStorage`, validated offline.

Shared by the storage (which raises :class:`~django.core.exceptions.ImproperlyConfigured`
for the first problem) and the system checks (which report each problem under its own
id). Nothing here touches the network.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django_objectstore.client.usecase import DEFAULT_MULTIPART_THRESHOLD, Usecase
from django_objectstore.expiration import parse_duration_option, parse_expiration_policy
from django_objectstore.wire.expiration import ExpirationPolicy
from django_objectstore.wire.paths import validate_usecase

__all__ = [
    "DEFAULT_USECASE",
    "KEY_MODES",
    "OPTION_NAMES",
    "URL_MODES",
    "OptionProblem",
    "build_usecase",
    "client_option_names",
    "find_problems",
    "validate_base_url",
]

DEFAULT_USECASE = "attachments"
URL_MODES = ("proxy", "presigned", "direct")
KEY_MODES = ("server", "name", "content")
COMPRESSIONS = ("zstd", "none")
MAX_PRESIGNED_EXPIRY_SECONDS = 7 * 24 * 3600

OPTION_NAMES: tuple[str, ...] = (
    "alias",
    "allow_overwrite",
    "base_url",
    "client_options",
    "compression",
    "expiration_policy",
    "key_mode",
    "signing_key",
    "signing_kid",
    "token",
    "url_expiry",
    "url_mode",
    "usecase",
)
"""Every key ``STORAGES[alias]["OPTIONS"]`` may contain."""

_STATIC_CLIENT_OPTIONS = (
    "connection_kwargs",
    "metrics_backend",
    "propagate_traces",
    "retries",
    "timeout_ms",
)


@dataclass(frozen=True)
class OptionProblem:
    """One invalid option: ``kind`` selects the system check id, ``message`` says why."""

    kind: str
    option: str
    message: str
    hint: str | None = None


def client_option_names() -> tuple[str, ...]:
    """Keyword arguments of :class:`~django_objectstore.client.Client` that OPTIONS may set."""
    try:
        from django_objectstore.client import Client
    except ImportError:  # pragma: no cover - the client is part of this package
        return _STATIC_CLIENT_OPTIONS
    names = [
        name
        for name, parameter in inspect.signature(Client.__init__).parameters.items()
        if parameter.kind in (parameter.KEYWORD_ONLY, parameter.POSITIONAL_OR_KEYWORD)
        and name not in ("self", "base_url", "token")
    ]
    return tuple(sorted(names))


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


def _check(
    problems: list[OptionProblem],
    kind: str,
    option: str,
    check: Callable[[], object],
    hint: str | None = None,
) -> None:
    try:
        check()
    except (ValueError, TypeError) as exc:
        problems.append(OptionProblem(kind, option, str(exc), hint))


def find_problems(options: Mapping[str, Any]) -> list[OptionProblem]:
    """Every problem in ``options`` (constructor kwargs; ``None`` means "not set")."""
    problems: list[OptionProblem] = []
    unknown = sorted(set(options) - set(OPTION_NAMES))
    for name in unknown:
        problems.append(
            OptionProblem(
                "unknown",
                name,
                f"unknown option {name!r} for ObjectstoreStorage",
                f"valid options are: {', '.join(OPTION_NAMES)}",
            )
        )

    def value(name: str) -> Any:
        return options.get(name)

    if value("base_url") is not None:
        _check(problems, "base_url", "base_url", lambda: validate_base_url(value("base_url")))
    usecase = value("usecase")
    if usecase is not None and isinstance(usecase, str):
        _check(problems, "usecase", "usecase", lambda: validate_usecase(usecase))
    elif usecase is not None and not hasattr(usecase, "name"):
        problems.append(
            OptionProblem(
                "usecase", "usecase", f"usecase must be a name or Usecase, got {usecase!r}"
            )
        )
    if value("compression") is not None and value("compression") not in COMPRESSIONS:
        problems.append(
            OptionProblem(
                "compression",
                "compression",
                f"invalid compression {value('compression')!r}: use 'zstd' or 'none'",
            )
        )
    _check(
        problems,
        "expiration",
        "expiration_policy",
        lambda: parse_expiration_policy(value("expiration_policy")),
        "e.g. 'tti:30 days', 'ttl:1h' or 'manual'",
    )
    for name, allowed in (("url_mode", URL_MODES), ("key_mode", KEY_MODES)):
        if value(name) is not None and value(name) not in allowed:
            problems.append(
                OptionProblem(
                    "choice",
                    name,
                    f"invalid {name} {value(name)!r}: use one of {', '.join(allowed)}",
                )
            )
    if value("url_expiry") is not None:
        _check(
            problems,
            "url_expiry",
            "url_expiry",
            lambda: _check_url_expiry(value("url_expiry")),
        )
    allow = value("allow_overwrite")
    if allow is not None and not isinstance(allow, bool):
        problems.append(
            OptionProblem(
                "choice", "allow_overwrite", f"allow_overwrite must be a bool, got {allow!r}"
            )
        )
    problems.extend(_credential_problems(options))
    problems.extend(_client_option_problems(value("client_options")))
    return problems


def _check_url_expiry(value: object) -> None:
    delta = parse_duration_option(value, option="url_expiry")
    if delta.total_seconds() > MAX_PRESIGNED_EXPIRY_SECONDS:
        raise ValueError(f"url_expiry {value!r} exceeds the one-week maximum of signed URLs")


def _credential_problems(options: Mapping[str, Any]) -> list[OptionProblem]:
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
    if options.get("url_mode") == "presigned" and key is None:
        problems.append(
            OptionProblem(
                "presigned",
                "url_mode",
                "url_mode='presigned' needs a signing key to sign URLs",
                "set signing_key and signing_kid, or use url_mode='proxy'",
            )
        )
    return problems


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
    value = options.get("usecase") or DEFAULT_USECASE
    base = value if isinstance(value, Usecase) else None
    name = base.name if base is not None else str(value)
    compression = options.get("compression") or (base.compression if base else "zstd")
    policy: ExpirationPolicy | None
    if options.get("expiration_policy") is not None:
        policy = parse_expiration_policy(options["expiration_policy"])
    else:
        policy = base.expiration_policy if base else None
    threshold = base.multipart_threshold if base else DEFAULT_MULTIPART_THRESHOLD
    return Usecase(name, compression, policy, multipart_threshold=threshold)
