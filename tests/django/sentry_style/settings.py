"""Settings as a project like Sentry writes them (imported by the tests of this folder).

One objectstore client for the whole process, configured once from the environment: its
Ed25519 key and key id sign a token per usecase and scope, with retries, a read timeout
and a bigger connection pool. Two usecases name it:

- ``attachments``: zstd-compressed, scoped to organization and project, kept for a
  retention period that operators change at runtime (``SENTRY_ATTACHMENTS_RETENTION_DAYS``
  here; Sentry reads an option), so the policy is a dotted path called for every save;
  downloads stream through Django (which decompresses for clients without zstd);
- ``debug-files``: stored uncompressed, expiring 90 days after their last use, scoped to
  the organization only (its projects share them); downloads redirect to objectstore.
"""

from __future__ import annotations

import os
from datetime import timedelta

from django.conf import settings

from django_objectstore.client import TimeToLive

BACKEND = "django_objectstore.storage.ObjectstoreStorage"
DEFAULT_RETENTION_DAYS = 30


def attachments_retention() -> TimeToLive:
    """The attachments' time to live, read when each one is saved."""
    days = getattr(settings, "SENTRY_ATTACHMENTS_RETENTION_DAYS", DEFAULT_RETENTION_DAYS)
    return TimeToLive(timedelta(days=days))


OBJECTSTORE = {
    "clients": {
        "default": {
            "base_url": os.environ["SENTRY_OBJECTSTORE_URL"],
            "signing_key": os.environ["SENTRY_OBJECTSTORE_SIGNING_KEY"],
            "signing_kid": os.environ["SENTRY_OBJECTSTORE_SIGNING_KID"],
            "retries": 3,
            "timeout_ms": 10_000,
            "connection_kwargs": {"maxsize": 16},
            "propagate_traces": True,
            "metrics_backend": "tests.django.sentry_style.metrics.Metrics",
        },
    },
    "download_permission": None,
}

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "attachments": {
        "BACKEND": BACKEND,
        "OPTIONS": {
            "client": "default",
            "usecase": "attachments",
            "expiration_policy": "tests.django.sentry_style.settings.attachments_retention",
        },
    },
    "debug-files": {
        "BACKEND": BACKEND,
        "OPTIONS": {
            "client": "default",
            "usecase": "debug-files",
            "compression": "none",
            "expiration_policy": "tti:90 days",
            "url_mode": "redirect",
        },
    },
}
