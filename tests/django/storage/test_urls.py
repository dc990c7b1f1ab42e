"""ObjectstoreStorage.url(): proxy, presigned and direct, without network I/O."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import urllib3
from django.core.files.base import ContentFile
from django.test import override_settings

from django_objectstore.storage import ObjectstoreStorage

UNREACHABLE = "http://127.0.0.1:9"


def fetch(url: str) -> tuple[int, bytes]:
    response = urllib3.request("GET", url, retries=False)
    return response.status, response.data


@pytest.fixture
def signed(make_storage: Any, objectstore_auth_server: Any) -> Any:
    def make(**options: Any) -> ObjectstoreStorage:
        return make_storage(  # type: ignore[no-any-return]
            base_url=str(objectstore_auth_server),
            signing_key=objectstore_auth_server.private_key_pem,
            signing_kid=objectstore_auth_server.kid,
            **options,
        )

    return make


def test_proxy_url_reverses_the_download_view(storage: ObjectstoreStorage) -> None:
    url = storage.url("org=1;project=2/abc/def.txt")
    assert url == "/objectstore/org=1;project=2/abc/def.txt"


def test_proxy_url_names_a_storage_other_than_the_views_default(make_storage: Any) -> None:
    assert make_storage(alias="avatars").url("_/k") == "/objectstore/_/k?storage=avatars"


def test_proxy_url_of_the_only_objectstore_storage_has_no_query(make_storage: Any) -> None:
    storages = {"files": {"BACKEND": "django_objectstore.storage.ObjectstoreStorage"}}
    with override_settings(STORAGES=storages):
        assert make_storage(alias="files").url("_/k") == "/objectstore/_/k"


def test_url_needs_a_name(storage: ObjectstoreStorage) -> None:
    with pytest.raises(ValueError):
        storage.url("")


def test_presigned_url_downloads_the_object(signed: Any, prefix: str) -> None:
    storage = signed(url_mode="presigned")
    body_text = b"presigned body " * 100  # compressible, so it is stored zstd
    name = storage.save(f"{prefix}/p.txt", ContentFile(body_text))
    url = storage.url(name)
    assert parse_qs(urlsplit(url).query)["os_duration"] == ["3600"]
    status, body = fetch(url)
    assert status == 200
    # The URL serves the stored bytes; compressed objects arrive zstd-encoded.
    import zstandard

    assert zstandard.ZstdDecompressor().decompressobj().decompress(body) == body_text


def test_presigned_url_takes_a_per_call_expiry(signed: Any) -> None:
    storage = signed(url_mode="presigned", url_expiry="10m")
    assert parse_qs(urlsplit(storage.url("_/k")).query)["os_duration"] == ["600"]
    url = storage.url("_/k", expire=timedelta(seconds=90))
    assert parse_qs(urlsplit(url).query)["os_duration"] == ["90"]
    assert parse_qs(urlsplit(storage.url("_/k", expire=30)).query)["os_duration"] == ["30"]


def test_direct_url_with_a_signing_key_embeds_a_read_token(signed: Any, prefix: str) -> None:
    storage = signed(url_mode="direct", compression="none")
    name = storage.save(f"{prefix}/d.txt", ContentFile(b"direct body"))
    url = storage.url(name)
    assert "os_auth=" in url
    assert fetch(url) == (200, b"direct body")


def test_direct_url_without_credentials_is_the_plain_object_url(
    make_storage: Any, prefix: str, objectstore_server: str
) -> None:
    storage = make_storage(url_mode="direct", compression="none")
    name = storage.save(f"{prefix}/d.txt", ContentFile(b"plain"))
    url = storage.url(name)
    assert url.startswith(str(objectstore_server)) and "?" not in url
    assert fetch(url) == (200, b"plain")


@pytest.mark.parametrize("mode", ["proxy", "presigned", "direct"])
def test_url_does_no_network_io(make_storage: Any, objectstore_auth_server: Any, mode: str) -> None:
    options: dict[str, Any] = {"base_url": UNREACHABLE, "url_mode": mode}
    if mode == "presigned":
        options.update(
            signing_key=objectstore_auth_server.private_key_pem,
            signing_kid=objectstore_auth_server.kid,
        )
    storage = make_storage(**options)
    assert "/_/some/key" in storage.url("_/some/key")
