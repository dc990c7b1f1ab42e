"""Shared clients: ``OBJECTSTORE["clients"]``, one client per name per process.

A project with several usecases on one objectstore (attachments, debug files, avatars)
wants one connection pool and one set of credentials, not one per ``STORAGES`` entry::

    OBJECTSTORE = {
        "clients": {
            "default": {
                "base_url": "http://objectstore.internal:8888",
                "signing_key": os.environ["OBJECTSTORE_SIGNING_KEY"],
                "signing_kid": "django",
                "retries": 3,
                "timeout_ms": 10_000,
                "connection_kwargs": {"maxsize": 32},
                "propagate_traces": True,
                "metrics_backend": "myproject.metrics.ObjectstoreMetrics",
            },
        },
    }

and each storage names it with the ``client`` option. :func:`shared_client` makes the
:class:`~django_objectstore.client.Client` of a name on first use and hands the same
object to every storage naming it afterwards; a storage's ``close()`` leaves it open (other
storages use it). When the configuration of a name changes (``override_settings`` in
tests) the next storage to connect gets a new client for the new configuration.

:data:`CLIENT_KEYS` are the keys of one configuration; :func:`client_config_problems`
validates one offline (system check ``E019``).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from django_objectstore.client import Client, MetricsBackend, SecretKey
from django_objectstore.conf import objectstore_settings
from django_objectstore.storage.connections import resolve_base_url
from django_objectstore.storage.options import (
    DEFAULT_TIMEOUT_MS,
    credential_problems,
    validate_base_url,
)

__all__ = [
    "CLIENT_KEYS",
    "client_config",
    "client_config_problems",
    "client_signs",
    "shared_client",
]

CLIENT_KEYS = (
    "base_url",
    "connection_kwargs",
    "metrics_backend",
    "propagate_traces",
    "retries",
    "signing_key",
    "signing_kid",
    "timeout_ms",
    "token",
)
"""The keys of one ``OBJECTSTORE["clients"]`` entry."""

_lock = threading.Lock()
_clients: dict[str, tuple[dict[str, Any], Client]] = {}


def client_config(name: str) -> Mapping[str, Any]:
    """The configuration of the shared client ``name``; ``ImproperlyConfigured`` if none."""
    configured = objectstore_settings.clients
    try:
        return configured[name]
    except KeyError:
        known = ", ".join(map(repr, sorted(configured))) or "none"
        raise ImproperlyConfigured(
            f"no client {name!r} in OBJECTSTORE['clients'] (configured: {known})"
        ) from None


def client_signs(name: str) -> bool:
    """Whether the shared client ``name`` has a signing key (needed to pre-sign URLs)."""
    config = client_config(name)
    return config.get("signing_key") is not None or isinstance(config.get("token"), SecretKey)


def shared_client(name: str) -> Client:
    """The one client of ``name`` in this process (made on first use; thread-safe)."""
    config = dict(client_config(name))
    with _lock:
        entry = _clients.get(name)
        if entry is not None and entry[0] == config:
            return entry[1]
        client = _build(name, config)
        _clients[name] = (config, client)
        return client


def _build(name: str, config: Mapping[str, Any]) -> Client:
    problems = client_config_problems(config)
    if problems:
        raise ImproperlyConfigured(f"OBJECTSTORE['clients'][{name!r}]: {problems[0]}")
    token: SecretKey | str | None = config.get("token")
    if config.get("signing_key") is not None:
        token = SecretKey(config["signing_kid"], config["signing_key"])
    timeout_ms = config.get("timeout_ms")
    return Client(
        resolve_base_url(config.get("base_url")),
        metrics_backend=_metrics_backend(config.get("metrics_backend")),
        propagate_traces=bool(config.get("propagate_traces", False)),
        retries=config.get("retries"),
        timeout_ms=DEFAULT_TIMEOUT_MS if timeout_ms is None else timeout_ms,
        connection_kwargs=config.get("connection_kwargs"),
        token=token,
    )


def _metrics_backend(value: object) -> MetricsBackend | None:
    """An instance as given; a dotted path to an instance, or to a class or factory that
    is called without arguments."""
    if value is None:
        return None
    if isinstance(value, str):
        value = import_string(value)
        if isinstance(value, type) or not isinstance(value, MetricsBackend):
            value = value()  # type: ignore[operator]
    if not isinstance(value, MetricsBackend):
        raise ImproperlyConfigured(
            f"metrics_backend {value!r} has no increment/gauge/distribution methods"
        )
    return value


def client_config_problems(config: object) -> list[str]:
    """What is wrong with one client configuration (offline: nothing is connected or
    instantiated; a ``metrics_backend`` path is imported)."""
    if not isinstance(config, Mapping):
        return [f"a client configuration must be a dict, got {type(config).__name__}"]
    problems = [
        f"unknown key {key!r}; valid keys are {', '.join(CLIENT_KEYS)}"
        for key in sorted(set(config) - set(CLIENT_KEYS))
    ]
    if config.get("base_url") is not None:
        try:
            validate_base_url(config["base_url"])
        except ValueError as exc:
            problems.append(str(exc))
    token = config.get("token")
    plain = {k: config.get(k) for k in ("signing_key", "signing_kid")}
    plain["token"] = None if isinstance(token, SecretKey) else token
    if isinstance(token, SecretKey) and plain["signing_key"] is not None:
        problems.append("set either token (a SecretKey) or signing_key/signing_kid, not both")
    problems.extend(problem.message for problem in credential_problems(plain))
    problems.extend(_value_problems(config))
    return problems


def _value_problems(config: Mapping[str, Any]) -> list[str]:
    problems: list[str] = []
    retries = config.get("retries")
    if retries is not None and (not isinstance(retries, int) or retries < 0):
        problems.append(f"retries must be a non-negative int, got {retries!r}")
    timeout_ms = config.get("timeout_ms")
    if timeout_ms is not None and (
        not isinstance(timeout_ms, int | float) or isinstance(timeout_ms, bool) or timeout_ms <= 0
    ):
        problems.append(f"timeout_ms must be a positive number of milliseconds, got {timeout_ms!r}")
    kwargs = config.get("connection_kwargs")
    if kwargs is not None and not isinstance(kwargs, Mapping):
        problems.append(f"connection_kwargs must be a dict, got {kwargs!r}")
    traces = config.get("propagate_traces")
    if traces is not None and not isinstance(traces, bool):
        problems.append(f"propagate_traces must be a bool, got {traces!r}")
    backend = config.get("metrics_backend")
    if isinstance(backend, str):
        try:
            backend = import_string(backend)
        except ImportError as exc:
            problems.append(f"metrics_backend {config['metrics_backend']!r}: {exc}")
            return problems
    if backend is not None and not callable(backend) and not isinstance(backend, MetricsBackend):
        problems.append(
            f"metrics_backend {config['metrics_backend']!r} is neither a metrics backend "
            "nor a class or factory making one"
        )
    return problems
