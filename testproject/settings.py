"""Settings of the example site (``bash scripts/run-example``); also the test settings.

Attachments go to the embedded objectstore in ``testproject/.objectstore-data`` (no server
to run). Set ``OBJECTSTORE_URL=http://localhost:8888`` to use a real objectstore server
instead; ``OBJECTSTORE_TOKEN`` (a JWT) if it enforces auth. ``DATABASE_URL`` (a
``postgres://`` URL) replaces the SQLite database.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "insecure-example-key-change-me")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = ["*"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_objectstore",
    "testproject.example",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # After authentication: the scope resolver may look at request.user.
    "django_objectstore.middleware.ObjectstoreScopeMiddleware",
]

ROOT_URLCONF = "testproject.urls"
WSGI_APPLICATION = "testproject.wsgi.application"
ASGI_APPLICATION = "testproject.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES: dict[str, dict[str, Any]] = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": BASE_DIR / "db.sqlite3",
    }
}
if os.environ.get("DATABASE_URL"):
    # postgres://user:password@host:port/name, or postgres://user@/name?host=/socket/dir
    # (how CI points the Django-layer tests at PostgreSQL).
    _db = urlsplit(os.environ["DATABASE_URL"])
    if _db.scheme not in ("postgres", "postgresql"):
        raise ImproperlyConfigured(f"DATABASE_URL: only postgres:// is supported, got {_db.scheme}")
    DATABASES["default"] = {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": _db.path.lstrip("/") or "postgres",
        "USER": unquote(_db.username or ""),
        "PASSWORD": unquote(_db.password or ""),
        "HOST": parse_qs(_db.query).get("host", [_db.hostname or ""])[0],
        "PORT": str(_db.port or ""),
    }

_objectstore_options: dict[str, object] = {
    "alias": "attachments",
    "usecase": "attachments",
    "compression": "zstd",
    # Time to idle: a file expires 30 days after its last read; objectstore_keepalive
    # (or the project page's button) keeps referenced files alive.
    "expiration_policy": "tti:30 days",
}
if os.environ.get("OBJECTSTORE_TOKEN"):
    _objectstore_options["token"] = os.environ["OBJECTSTORE_TOKEN"]

STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "attachments": {
        "BACKEND": "django_objectstore.storage.ObjectstoreStorage",
        "OPTIONS": _objectstore_options,
    },
}

OBJECTSTORE = {
    # None: the embedded store in BASE_DIR/.objectstore-data.
    "base_url": os.environ.get("OBJECTSTORE_URL") or None,
    "scope_resolver": "testproject.example.scopes.scope_from_url",
    "download_permission": "testproject.example.scopes.can_download",
}

USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
STATIC_URL = "static/"
MEDIA_ROOT = BASE_DIR / "media"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
LOGIN_URL = "admin:login"
