"""A storage subclass configured by class attributes (for the checks tests)."""

from __future__ import annotations

from django_objectstore.storage import ObjectstoreStorage


class PresignedStorage(ObjectstoreStorage):
    url_mode = "presigned"
    compression = "none"
