"""Load :class:`ServerConfig` the way the real objectstore binary does.

Sources, highest precedence first: ``OS__*`` environment variables (``__`` separates
nesting levels, names are case-insensitive), a YAML file, the defaults. The same keys
work in both, so scripts written for the real server run this one::

    OS__HTTP_ADDR=127.0.0.1:8888
    OS__STORAGE__TYPE=filesystem   OS__STORAGE__PATH=/data
    OS__AUTH__ENFORCE=false
    OS__AUTH__KEYS={kid={key_files=["/keys/pub.pem"],max_permissions=["object.read"]}}
    OS__USECASES__ATTACHMENTS__EXPIRATION__TTL__MAX=90d
    OS__HTTP__BODY_IDLE_TIMEOUT=30s   OS__LOGGING__LEVEL=debug   OS__WORKERS=2

``OS__LOG__LEVEL`` is read as ``OS__LOGGING__LEVEL`` when that is not set (the official
client's test harness sets the former). Sections of the real server's config this server
does not implement (``killswitches``, ``rate_limits``, ``service``, ``metrics``,
``sentry``, ``runtime``), settings such as ``http.max_requests`` and ``logging.format``,
and unknown names at the top level or in ``http`` and ``logging`` are ignored with one
warning each, naming them, so a file written for the real server starts this one and
says what it does not do. Unknown keys inside ``storage``, ``auth`` and ``usecases``
are errors: there a typo would silently weaken storage or access rules.
Every error and warning names the variable or key at fault.

PyYAML (the ``server`` extra) is imported only when a file is given.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

from django_objectstore.server.config import (
    AuthConfig,
    DurationRule,
    HttpConfig,
    KeyConfig,
    LoggingConfig,
    LogLevel,
    PolicyRule,
    ServerConfig,
    StorageConfig,
    UsecaseConfig,
    UsecaseExpiration,
)
from django_objectstore.server.hosting.envmap import EnvMapError, parse_env_value
from django_objectstore.wire.durations import parse_duration

logger = logging.getLogger("django_objectstore.server.config")

INSTALL_HINT = 'pip install "django-objectstore[server]"'
ENV_PREFIX = "OS__"
PERMISSIONS = ("object.read", "object.write", "object.delete")
STORAGE_TYPES = ("filesystem", "memory")
LOG_LEVELS: dict[str, LogLevel] = {
    "trace": "trace",
    "debug": "debug",
    "info": "info",
    "warn": "warn",
    "warning": "warn",
    "error": "error",
    "off": "off",
}
LOG_FORMATS = ("auto", "pretty", "simplified", "json")
# Sections of the real server's configuration (objectstore-server/src/config.rs) that
# this server reads past: what each would do there, for the start-up warning.
UNSUPPORTED_SECTIONS = {
    "killswitches": "no request is refused by a killswitch",
    "rate_limits": "no rate or bandwidth limit is applied",
    "service": "no concurrency limit or queue is applied",
    "metrics": "no metrics are sent",
    "sentry": "no errors or traces are sent to Sentry",
    "runtime": "the worker threads of the real server; see `workers` for processes here",
}
UNSUPPORTED_SETTINGS = {
    ("http", "max_requests"): "no limit on requests in flight is applied",
    ("logging", "format"): "logs are always plain text",
}
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}

KeyPath = tuple[str, ...]


class ConfigError(ValueError):
    """The configuration is invalid; the message names the variable or key and the fix."""


class _Sources:
    """Remembers where each setting came from, to name it in errors."""

    def __init__(self, config_file: str | None) -> None:
        self.config_file = config_file
        self.env: dict[KeyPath, str] = {}

    def name(self, path: KeyPath) -> str:
        for length in range(len(path), 0, -1):
            variable = self.env.get(path[:length])
            if variable is not None:
                suffix = ".".join(path[length:])
                return f"{variable}" + (f" (at {suffix})" if suffix else "")
        below = sorted(var for key, var in self.env.items() if key[: len(path)] == path)
        if below:  # a section set through variables for its keys
            return ", ".join(below)
        dotted = ".".join(path)
        return f"{dotted!r} in {self.config_file}" if self.config_file else repr(dotted)

    def error(self, path: KeyPath, message: str) -> ConfigError:
        return ConfigError(f"{self.name(path)}: {message}")


def _merge(base: dict[str, Any], override: Mapping[str, Any]) -> None:
    for name, value in override.items():
        current = base.get(name)
        if isinstance(current, dict) and isinstance(value, Mapping):
            _merge(current, value)
        else:
            base[name] = value


def _read_file(config_file: str) -> dict[str, Any]:
    try:
        import yaml
    except ImportError as error:
        raise ConfigError(
            f"reading the config file {config_file} needs PyYAML ({error}); {INSTALL_HINT}"
        ) from None
    try:
        text = Path(config_file).read_text(encoding="utf-8")
    except OSError as error:
        raise ConfigError(f"cannot read the config file {config_file}: {error.strerror}") from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError(f"the config file {config_file} is not valid YAML: {error}") from None
    if document is None:
        return {}
    if not isinstance(document, dict):
        raise ConfigError(f"the config file {config_file} must hold a mapping at the top level")
    return document


def _read_env(environ: Mapping[str, str], sources: _Sources) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for variable in sorted(environ):
        if not variable.upper().startswith(ENV_PREFIX):
            continue
        path = tuple(part.lower() for part in variable[len(ENV_PREFIX) :].split("__"))
        if not all(path):
            raise ConfigError(f"{variable}: empty name between '__' separators")
        try:
            value = parse_env_value(environ[variable])
        except EnvMapError as error:
            raise ConfigError(f"{variable}: {error}") from None
        nested: Any = value
        for part in reversed(path):
            nested = {part: nested}
        _merge(tree, nested)
        sources.env[path] = variable
    return tree


def load_config(
    environ: Mapping[str, str] = os.environ,
    config_file: str | None = None,
    *,
    require_keys: bool = True,
    warn: bool = True,
) -> ServerConfig:
    """The server configuration from ``environ`` (``OS__*``) over ``config_file`` (YAML).

    ``require_keys=False`` skips the "enforced auth needs keys" check, for commands
    that only need the address (``healthcheck``). With ``warn`` each setting read but
    not implemented is logged once, as a warning naming it.
    """
    sources = _Sources(config_file)
    tree: dict[str, Any] = _read_file(config_file) if config_file else {}
    _merge(tree, _read_env(environ, sources))
    builder = _Builder(sources)
    config = builder.build(tree)
    if warn:
        for notice in builder.notices:
            logger.warning("%s", notice)
    check_workers(config, sources.name(("workers",)))
    if require_keys and config.auth.enforce and not config.auth.keys:
        raise ConfigError(
            "auth is enforced (auth.enforce / OS__AUTH__ENFORCE, default true) but no keys"
            " are configured: add keys (auth.keys / OS__AUTH__KEYS) or set"
            " OS__AUTH__ENFORCE=false to run without auth"
        )
    return config


def check_workers(config: ServerConfig, setting: str = "workers") -> None:
    """``ConfigError`` for a worker count the storage cannot be shared by."""
    if config.workers < 1:
        raise ConfigError(f"{setting}: expected a whole number of at least 1")
    if config.workers > 1 and config.storage.type == "memory":
        raise ConfigError(
            f"{setting}: {config.workers} workers cannot share the memory storage (each"
            " process would hold its own objects); use storage type filesystem, or 1 worker"
        )


class _Builder:
    # Ours, beside the real server's: see ServerConfig. `log` is the harness's alias.
    TOP_LEVEL = (
        "http_addr",
        "http",
        "logging",
        "log",
        "storage",
        "auth",
        "usecases",
        "sweep_interval",
        "workers",
    )

    def __init__(self, sources: _Sources) -> None:
        self.sources = sources
        self.notices: list[str] = []

    def ignore(self, path: KeyPath, reason: str) -> None:
        self.notices.append(f"{self.sources.name(path)} is ignored: {reason}")

    def ignore_unknown(self, tree: dict[str, Any], path: KeyPath, known: tuple[str, ...]) -> None:
        for name in tree:
            key = (*path, str(name))
            reason = UNSUPPORTED_SETTINGS.get(key) if len(key) == 2 else None
            if reason is not None:
                self.ignore(key, f"not implemented by this server ({reason})")
            elif name not in known:
                self.ignore(key, "unknown setting")

    def build(self, tree: dict[str, Any]) -> ServerConfig:
        config = ServerConfig()
        for name in tree:
            if name in UNSUPPORTED_SECTIONS:
                reason = UNSUPPORTED_SECTIONS[name]
                self.ignore((name,), f"section not implemented by this server ({reason})")
            elif name not in self.TOP_LEVEL:
                self.ignore((str(name),), "unknown setting")
        if "http_addr" in tree:
            config.http_addr = self.string(tree["http_addr"], ("http_addr",))
            parse_http_addr(config.http_addr, self.sources.name(("http_addr",)))
        if "http" in tree:
            config.http = self.http(tree["http"])
        if "logging" in tree or "log" in tree:
            config.logging = self.logging(tree.get("logging", {}), tree.get("log", {}))
        if "storage" in tree:
            config.storage = self.storage(tree["storage"])
        if "auth" in tree:
            config.auth = self.auth(tree["auth"])
        if "usecases" in tree:
            usecases = self.mapping(tree["usecases"], ("usecases",))
            config.usecases = {
                str(name): self.usecase(value, ("usecases", str(name)))
                for name, value in usecases.items()
            }
        if "sweep_interval" in tree:
            config.sweep_interval = self.duration(tree["sweep_interval"], ("sweep_interval",))
        if "workers" in tree:
            text = self.string(tree["workers"], ("workers",)).strip()
            if not text.isdigit() or int(text) < 1:
                raise self.sources.error(("workers",), "expected a whole number of at least 1")
            config.workers = int(text)
        return config

    def mapping(self, value: Any, path: KeyPath, allowed: tuple[str, ...] = ()) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.sources.error(path, "expected a map ({name=value,...} in a variable)")
        if allowed:
            for name in value:
                if name not in allowed:
                    raise self.sources.error(
                        (*path, str(name)), f"unknown setting; expected one of {', '.join(allowed)}"
                    )
        return value

    def string(self, value: Any, path: KeyPath) -> str:
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise self.sources.error(path, "expected a string")
        return str(value)

    def boolean(self, value: Any, path: KeyPath) -> bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise self.sources.error(path, f"expected true or false, not {value!r}")

    def strings(self, value: Any, path: KeyPath) -> list[str]:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list):
            raise self.sources.error(path, 'expected a list of strings (["a","b"])')
        return [self.string(item, (*path, str(index))) for index, item in enumerate(value)]

    def duration(self, value: Any, path: KeyPath) -> timedelta:
        try:
            return parse_duration(self.string(value, path))
        except ValueError as error:
            raise self.sources.error(path, f"{error} (e.g. 90d, 12h, 30m)") from None

    def timeout(self, value: Any, path: KeyPath) -> timedelta:
        """A positive duration; a bare number is seconds (``30``, ``1.5``, ``30s``, ``2m``)."""
        text = self.string(value, path).strip()
        try:
            delta = timedelta(seconds=float(text))
        except (ValueError, OverflowError):
            delta = self.duration(text, path)
        if not timedelta(0) < delta <= timedelta(days=1):
            raise self.sources.error(path, f"expected a duration in (0, 1d], not {text!r}")
        return delta

    def http(self, value: Any) -> HttpConfig:
        names = ("body_idle_timeout", "header_timeout")
        tree = self.mapping(value, ("http",))
        self.ignore_unknown(tree, ("http",), names)
        http = HttpConfig()
        for name in names:
            if name in tree:
                setattr(http, name, self.timeout(tree[name], ("http", name)))
        return http

    def logging(self, value: Any, alias: Any) -> LoggingConfig:
        tree = self.mapping(value, ("logging",))
        self.ignore_unknown(tree, ("logging",), ("level",))
        logging = LoggingConfig()
        path: KeyPath = ("logging", "level")
        level = tree.get("level")
        if level is None:
            path = ("log", "level")
            level = self.mapping(alias, ("log",)).get("level")
        if level is not None:
            text = self.string(level, path).strip().lower()
            if text not in LOG_LEVELS:
                choices = ", ".join(LOG_LEVELS)
                raise self.sources.error(path, f"unknown log level {text!r}; use {choices}")
            logging.level = LOG_LEVELS[text]
        if "format" in tree:
            text = self.string(tree["format"], ("logging", "format")).strip().lower() or "auto"
            if text not in LOG_FORMATS:
                raise self.sources.error(
                    ("logging", "format"), f"unknown format {text!r}; use {', '.join(LOG_FORMATS)}"
                )
            logging.format = text  # type: ignore[assignment]
        return logging

    def storage(self, value: Any) -> StorageConfig:
        tree = self.mapping(value, ("storage",), ("type", "path", "fsync"))
        storage = StorageConfig()
        if "type" in tree:
            kind = self.string(tree["type"], ("storage", "type")).lower()
            if kind not in STORAGE_TYPES:
                raise self.sources.error(
                    ("storage", "type"),
                    f"unsupported storage type {kind!r}; use {' or '.join(STORAGE_TYPES)}",
                )
            storage.type = "memory" if kind == "memory" else "filesystem"
        if "path" in tree:
            storage.path = self.string(tree["path"], ("storage", "path"))
        if "fsync" in tree:
            storage.fsync = self.boolean(tree["fsync"], ("storage", "fsync"))
        return storage

    def auth(self, value: Any) -> AuthConfig:
        tree = self.mapping(value, ("auth",), ("enforce", "keys"))
        auth = AuthConfig()
        if "enforce" in tree:
            auth.enforce = self.boolean(tree["enforce"], ("auth", "enforce"))
        if "keys" in tree:
            keys = self.mapping(tree["keys"], ("auth", "keys"))
            auth.keys = {
                str(kid): self.key(key, ("auth", "keys", str(kid))) for kid, key in keys.items()
            }
        return auth

    def key(self, value: Any, path: KeyPath) -> KeyConfig:
        tree = self.mapping(value, path, ("key_files", "max_permissions"))
        key = KeyConfig()
        key.key_files = self.strings(tree.get("key_files", []), (*path, "key_files"))
        if not key.key_files:
            raise self.sources.error((*path, "key_files"), "at least one public key file is needed")
        permissions = self.strings(tree.get("max_permissions", []), (*path, "max_permissions"))
        for permission in permissions:
            if permission not in PERMISSIONS:
                raise self.sources.error(
                    (*path, "max_permissions"),
                    f"unknown permission {permission!r}; use {', '.join(PERMISSIONS)}",
                )
        key.max_permissions = permissions
        return key

    def usecase(self, value: Any, path: KeyPath) -> UsecaseConfig:
        """``usecases.<name>``: the real server's ``usecases.rs`` format.

        ``expiration.manual.allowed``, ``expiration.ttl.{allowed,max}`` and
        ``expiration.tti.{allowed,max}``; anything else is an error, since a policy key
        that is silently dropped would leave a usecase without the cap it was meant to have.
        """
        tree = self.mapping(value, path, ("expiration",))
        usecase = UsecaseConfig()
        if "expiration" not in tree:
            return usecase
        exp_path = (*path, "expiration")
        if isinstance(tree["expiration"], dict) and "max" in tree["expiration"]:
            raise self.sources.error(
                (*exp_path, "max"),
                "one cap for both policies is not a setting of objectstore; set"
                " expiration.ttl.max and expiration.tti.max (OS__USECASES__<NAME>__EXPIRATION"
                "__TTL__MAX, ...__TTI__MAX)",
            )
        expiration = self.mapping(tree["expiration"], exp_path, ("manual", "ttl", "tti"))
        result = UsecaseExpiration()
        if "manual" in expiration:
            rule = self.mapping(expiration["manual"], (*exp_path, "manual"), ("allowed",))
            allowed = self.boolean(rule.get("allowed", True), (*exp_path, "manual", "allowed"))
            result.manual = PolicyRule(allowed=allowed)
        for name in ("ttl", "tti"):
            if name in expiration:
                setattr(result, name, self.duration_rule(expiration[name], (*exp_path, name)))
        usecase.expiration = result
        return usecase

    def duration_rule(self, value: Any, path: KeyPath) -> DurationRule:
        rule = self.mapping(value, path, ("allowed", "max"))
        result = DurationRule(allowed=self.boolean(rule.get("allowed", True), (*path, "allowed")))
        if rule.get("max") is not None:
            result.max = self.duration(rule["max"], (*path, "max"))
        return result


def parse_http_addr(addr: str, setting: str = "OS__HTTP_ADDR") -> tuple[str, int]:
    """``"127.0.0.1:8888"`` / ``"[::1]:8888"`` -> ``(host, port)``; ``ConfigError`` if not."""
    host, sep, port_text = addr.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not port_text.isdigit() or int(port_text) > 65535:
        raise ConfigError(f"{setting}: expected host:port (e.g. 127.0.0.1:8888), not {addr!r}")
    return host, int(port_text)


def _seconds(delta: timedelta) -> str:
    return f"{delta.total_seconds():g}s"


def _rule(rule: DurationRule) -> str:
    cap = _seconds(rule.max) if rule.max is not None else "none"
    return f"{{allowed={rule.allowed} max={cap}}}"


def describe_config(config: ServerConfig) -> str:
    """The effective configuration as one line for the start-up log.

    Key ids, key file paths and permissions are shown; key material never is (the
    files are not read here), and this server's configuration holds no other secret.
    """
    keys = ", ".join(
        f"{kid}: files=[{', '.join(key.key_files)}] permissions=[{', '.join(key.max_permissions)}]"
        for kid, key in sorted(config.auth.keys.items())
    )
    usecases = ", ".join(
        f"{name}: manual={rules.expiration.manual.allowed}"
        f" ttl={_rule(rules.expiration.ttl)} tti={_rule(rules.expiration.tti)}"
        for name, rules in sorted(config.usecases.items())
    )
    parts = [
        f"http_addr={config.http_addr}",
        f"http.body_idle_timeout={_seconds(config.http.body_idle_timeout)}",
        f"http.header_timeout={_seconds(config.http.header_timeout)}",
        f"storage.type={config.storage.type}",
        f"storage.path={config.storage.path}",
        f"storage.fsync={str(config.storage.fsync).lower()}",
        f"auth.enforce={str(config.auth.enforce).lower()}",
        f"auth.keys={{{keys}}}",
        f"usecases={{{usecases}}}",
        f"sweep_interval={_seconds(config.sweep_interval)}",
        f"workers={config.workers}",
        f"logging.level={config.logging.level}",
    ]
    return " ".join(parts)
