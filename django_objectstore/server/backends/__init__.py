"""Storage backends: where the engine keeps payloads and metadata."""

from __future__ import annotations

from django_objectstore.server.backends.base import Backend
from django_objectstore.server.config import StorageConfig


def create_backend(config: StorageConfig) -> Backend:
    """The backend ``config.type`` names (``filesystem`` or ``memory``)."""
    if config.type == "memory":
        from django_objectstore.server.backends.memory import MemoryBackend

        return MemoryBackend()
    if config.type == "filesystem":
        from django_objectstore.server.backends.filesystem.backend import FilesystemBackend

        return FilesystemBackend(config.path, fsync=config.fsync)
    raise ValueError(
        f"unknown storage type {config.type!r} (OS__STORAGE__TYPE): use filesystem or memory"
    )
