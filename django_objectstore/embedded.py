"""Where this project's ``embedded:`` storages keep their data."""

from __future__ import annotations

from pathlib import Path

from django.core.files.storage import storages

from django_objectstore.storage import ObjectstoreStorage

EMBEDDED_SCHEME = "embedded:"


def embedded_path(base_url: str) -> Path:
    """``embedded:///abs/dir`` -> ``/abs/dir``; ``embedded:rel/dir`` -> ``<cwd>/rel/dir``."""
    if not base_url.startswith(EMBEDDED_SCHEME):
        raise ValueError(f"{base_url!r} is not an embedded: URL")
    rest = base_url[len(EMBEDDED_SCHEME) :]
    if rest.startswith("//"):
        rest = rest[2:]
    return Path(rest or ".").resolve()


def embedded_roots() -> list[Path]:
    """The distinct directories of the configured storages that use ``embedded:``."""
    roots: list[Path] = []
    for alias in storages.backends:
        storage = storages[alias]
        if isinstance(storage, ObjectstoreStorage) and storage.base_url.startswith(
            EMBEDDED_SCHEME
        ):
            root = embedded_path(storage.base_url)
            if root not in roots:
                roots.append(root)
    return roots
