"""``STORAGES`` entries for the management command tests."""

from __future__ import annotations

from typing import Any


def storage_config(base_url: str, usecase: str, **options: Any) -> dict[str, Any]:
    return {
        "BACKEND": "django_objectstore.storage.ObjectstoreStorage",
        "OPTIONS": {"alias": "attachments", "base_url": base_url, "usecase": usecase, **options},
    }
