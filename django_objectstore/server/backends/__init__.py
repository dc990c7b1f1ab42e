"""Storage backends: where the engine keeps payloads, metadata and multipart uploads.

``records`` holds what a backend stores, ``uploads`` the staging interface for
multipart uploads, ``base`` the :class:`~.base.Backend` protocol over both;
``memory`` and ``tiered`` (the ``filesystem`` storage type) implement it.
"""

from __future__ import annotations

from django_objectstore.server.backends.base import Backend
from django_objectstore.server.backends.memory import MemoryBackend
from django_objectstore.server.config import StorageConfig


def create_backend(config: StorageConfig) -> Backend:
    """The backend ``config.type`` names (``filesystem`` or ``memory``).

    ``filesystem`` is the :class:`~.tiered.TieredBackend` rooted at ``config.path``:
    a SQLite database for small objects and every object's metadata, revision files
    for large ones. ``OldFormatError`` (a ``ValueError``) when the directory holds the
    one-file-per-object format of earlier development versions.
    """
    if config.type == "memory":
        return MemoryBackend()
    if config.type == "filesystem":
        # Imported when asked for: it needs POSIX (directory fsync), the memory backend
        # runs anywhere.
        from django_objectstore.server.backends.tiered.backend import TieredBackend

        return TieredBackend(config.path, fsync=config.fsync)
    raise ValueError(
        f"unknown storage type {config.type!r} (OS__STORAGE__TYPE): use filesystem or memory"
    )
