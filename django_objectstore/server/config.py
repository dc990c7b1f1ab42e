"""Server configuration, shaped like the real objectstore binary's.

Loading from ``OS__*`` environment variables and YAML files is hosting's business
(:func:`django_objectstore.server.hosting.load_config`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

StorageType = Literal["filesystem", "memory"]


@dataclass
class StorageConfig:
    type: StorageType = "filesystem"
    path: str = "data"
    """Root directory of the filesystem backend (relative to the working directory)."""
    fsync: bool = True
    """Flush every write to disk before it is answered: SQLite ``synchronous=FULL`` and an
    ``fsync`` of every revision file. Turning it off (``synchronous=NORMAL``, no file
    ``fsync``) keeps writes atomic and safe from a killed process, but a power loss may
    undo the latest ones: for test stores."""


@dataclass
class KeyConfig:
    key_files: list[str] = field(default_factory=list)
    """Ed25519 public keys (SPKI PEM); several for key rotation."""
    max_permissions: list[str] = field(default_factory=list)


@dataclass
class AuthConfig:
    enforce: bool = True
    keys: dict[str, KeyConfig] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        """Auth runs when enforced or when any key is configured."""
        return self.enforce or bool(self.keys)


@dataclass
class PolicyRule:
    """Whether a usecase accepts objects with this expiration policy (``manual``)."""

    allowed: bool = True


@dataclass
class DurationRule(PolicyRule):
    """A TTL or TTI policy rule: allowed at all, and the longest duration accepted."""

    max: timedelta | None = None
    """Longest accepted duration (equal passes); also caps PATCH deadlines of objects
    with this policy, measured from the request time. ``None``: no cap."""


@dataclass
class UsecaseExpiration:
    """The real server's ``usecases.<name>.expiration`` (``usecases.rs``)."""

    manual: PolicyRule = field(default_factory=PolicyRule)
    ttl: DurationRule = field(default_factory=DurationRule)
    tti: DurationRule = field(default_factory=DurationRule)


@dataclass
class UsecaseConfig:
    expiration: UsecaseExpiration = field(default_factory=UsecaseExpiration)


@dataclass
class HttpConfig:
    """Limits of the HTTP layer; the real server keeps its ``http`` settings here too."""

    body_idle_timeout: timedelta = timedelta(seconds=30)
    """How long a request body may send nothing before the upload is aborted (nothing is
    stored) and the connection closed. Only time spent waiting for the client counts."""
    header_timeout: timedelta = timedelta(seconds=30)
    """How long a client may take to send a request's line and headers (hyper's
    ``header_read_timeout`` default) before the connection is closed."""


LogLevel = Literal["trace", "debug", "info", "warn", "error", "off"]


@dataclass
class LoggingConfig:
    level: LogLevel = "info"
    """Minimum level written to stderr; ``trace`` logs like ``debug``, ``off`` silences."""
    format: Literal["auto", "pretty", "simplified", "json"] = "auto"
    """Accepted for compatibility with the real server; the output is always plain text."""


@dataclass
class ServerConfig:
    http_addr: str = "0.0.0.0:8888"
    http: HttpConfig = field(default_factory=HttpConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)
    auth: AuthConfig = field(default_factory=AuthConfig)
    usecases: dict[str, UsecaseConfig] = field(default_factory=dict)
    sweep_interval: timedelta = timedelta(minutes=10)
    """How often expired objects are removed from disk (0 disables the background sweep)."""
    workers: int = 1
    """Server processes serving one port and one storage root (this server only)."""
