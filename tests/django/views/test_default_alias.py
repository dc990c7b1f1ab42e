"""Proxy URLs of every objectstore storage download through the view.

The view serves one storage without ``?storage=``: the only objectstore entry of
``STORAGES``, else ``attachments``. Subclasses of ObjectstoreStorage are objectstore
entries too, for the URLs and for the view alike.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.test import Client, override_settings

from django_objectstore.pytest_plugin import ObjectstoreServer
from django_objectstore.scope import objectstore_scope
from django_objectstore.storage import ObjectstoreStorage

pytestmark = pytest.mark.django_db

BASE = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}


class AvatarStorage(ObjectstoreStorage):
    compression = "none"


def entry(backend: str, server: ObjectstoreServer, usecase: str) -> dict[str, Any]:
    return {"BACKEND": backend, "OPTIONS": {"base_url": str(server), "usecase": usecase}}


def download(client: Client, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, url
    return b"".join(response.streaming_content)  # type: ignore[arg-type]


def save_and_download(alias: str, client: Client) -> tuple[str, bytes]:
    storage = storages[alias]
    with objectstore_scope():
        name = storage.save("hello.txt", ContentFile(f"from {alias}".encode()))
    url = storage.url(name)
    return url, download(client, url)


def test_base_class_and_subclass_storages_both_download_through_the_view(
    admin_client: Client, objectstore_server: ObjectstoreServer, objectstore_usecase: str
) -> None:
    configured = {
        **BASE,
        "files": entry(
            "django_objectstore.storage.ObjectstoreStorage", objectstore_server, objectstore_usecase
        ),
        "avatars": entry(
            f"{__name__}.AvatarStorage", objectstore_server, f"{objectstore_usecase}-av"
        ),
    }
    with override_settings(STORAGES=configured):
        files_url, files_body = save_and_download("files", admin_client)
        avatars_url, avatars_body = save_and_download("avatars", admin_client)
    assert files_body == b"from files"
    assert avatars_body == b"from avatars"
    assert parse_qs(urlsplit(files_url).query)["storage"] == ["files"]
    assert parse_qs(urlsplit(avatars_url).query)["storage"] == ["avatars"]


def test_an_only_subclass_storage_is_the_views_default(
    admin_client: Client, objectstore_server: ObjectstoreServer, objectstore_usecase: str
) -> None:
    configured = {
        **BASE,
        "avatars": entry(f"{__name__}.AvatarStorage", objectstore_server, objectstore_usecase),
    }
    with override_settings(STORAGES=configured):
        url, body = save_and_download("avatars", admin_client)
    assert "storage" not in parse_qs(urlsplit(url).query)
    assert body == b"from avatars"
