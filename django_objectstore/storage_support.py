"""Helpers of :mod:`django_objectstore.storage` that need no storage instance."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings

from django_objectstore.client import Metadata, Session
from django_objectstore.conf import objectstore_settings

__all__ = [
    "DATA_DIRECTORY",
    "SIZE_METADATA",
    "default_base_url",
    "django_time",
    "guess_alias",
    "proxy_default_alias",
    "uncompressed_size",
]

SIZE_METADATA = "size"
"""Custom metadata (``x-snme-size``) holding the uncompressed size, written on save."""

DATA_DIRECTORY = ".objectstore-data"
"""Directory of the default embedded store, under ``BASE_DIR`` (else the current one)."""

_COUNT_CHUNK = 256 * 1024


def default_base_url() -> str:
    """``OBJECTSTORE["base_url"]``, else ``embedded:`` + ``BASE_DIR/.objectstore-data``.

    Without a ``BASE_DIR`` setting the directory is relative to the current directory.
    """
    configured = objectstore_settings.base_url
    if configured:
        return configured
    base_dir = getattr(settings, "BASE_DIR", None)
    if base_dir is None:
        return f"embedded:{DATA_DIRECTORY}"
    directory = Path(base_dir).resolve() / DATA_DIRECTORY
    return f"embedded://{directory.as_posix()}"


def django_time(value: datetime) -> datetime:
    """Aware UTC under ``USE_TZ``; otherwise naive local time, as FileSystemStorage does."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    if settings.USE_TZ:
        return value.astimezone(UTC)
    return datetime.fromtimestamp(value.timestamp())


def uncompressed_size(session: Session, key: str, meta: Metadata) -> int | None:
    """The object's size as read back (decompressed); ``None`` if it vanished.

    1. ``x-snme-size``, written by this storage on every save;
    2. the stored size, when the object is not compressed;
    3. otherwise the object is streamed and counted (objects written by other clients).
    """
    recorded = meta.custom.get(SIZE_METADATA)
    if recorded is not None and recorded.isdigit():
        return int(recorded)
    if not meta.compression and meta.size is not None:
        return meta.size
    response = session.get(key)
    if response is None:
        return None
    total = 0
    with response:
        while chunk := response.payload.read(_COUNT_CHUNK):
            total += len(chunk)
    return total


def guess_alias(storage: object, options: Mapping[str, Any]) -> str | None:
    """The ``STORAGES`` alias configured with this class and these options, if any."""
    configured = getattr(settings, "STORAGES", None) or {}
    cls = type(storage)
    path = f"{cls.__module__}.{cls.__qualname__}"
    for alias, config in configured.items():
        if not isinstance(config, Mapping):
            continue
        backend = config.get("BACKEND")
        if backend not in (path, "django_objectstore.storage.ObjectstoreStorage"):
            continue
        given = cls.effective_options(config.get("OPTIONS") or {})  # type: ignore[attr-defined]
        if given == dict(options):
            return str(alias)
    return None


def proxy_default_alias() -> str:
    """The alias the download view serves without ``?storage=``.

    The only ``STORAGES`` entry using ObjectstoreStorage, else ``"attachments"``.
    """
    configured = getattr(settings, "STORAGES", None) or {}
    aliases = [
        alias
        for alias, config in configured.items()
        if isinstance(config, Mapping)
        and config.get("BACKEND") == "django_objectstore.storage.ObjectstoreStorage"
    ]
    return str(aliases[0]) if len(aliases) == 1 else "attachments"
