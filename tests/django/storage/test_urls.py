"""ObjectstoreStorage.url(): proxy, presigned and direct, without network I/O."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import urllib3
from django.core.files.base import ContentFile
from django.test import override_settings

from django_objectstore.storage import ObjectstoreStorage, signed_urls

UNREACHABLE = "http://127.0.0.1:9"


def fetch(url: str) -> tuple[int, bytes]:
    # The bytes as sent: some urllib3 versions decode zstd themselves.
    response = urllib3.request("GET", url, retries=False, decode_content=False)
    return response.status, response.data


def _query(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def test_proxy_url_reverses_the_download_view_with_a_signature(
    storage: ObjectstoreStorage,
) -> None:
    url = storage.url("org=1;project=2/abc/def.txt")
    assert urlsplit(url).path == "/objectstore/org=1;project=2/abc/def.txt"
    assert sorted(_query(url)) == ["expires", "signature"]


def test_proxy_url_names_a_storage_other_than_the_views_default(make_storage: Any) -> None:
    url = make_storage(alias="avatars").url("_/k")
    assert urlsplit(url).path == "/objectstore/_/k"
    assert _query(url)["storage"] == "avatars"


def test_proxy_url_of_the_only_objectstore_storage_names_no_storage(make_storage: Any) -> None:
    storages = {"files": {"BACKEND": "django_objectstore.storage.ObjectstoreStorage"}}
    with override_settings(STORAGES=storages):
        url = make_storage(alias="files").url("_/k")
    assert "storage" not in _query(url)


def test_proxy_url_expiry_is_rounded_up_to_a_tenth_of_url_expiry(
    storage: ObjectstoreStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(signed_urls, "now", lambda: 1_000_000_001.5)
    # url_expiry is one hour: expiries are multiples of 6 minutes, at least 1 h ahead.
    expires = int(_query(storage.url("_/k"))["expires"])
    assert expires % 360 == 0
    assert 1_000_000_001.5 + 3600 <= expires < 1_000_000_001.5 + 3600 + 360


def test_proxy_urls_rendered_within_one_bucket_are_identical(
    storage: ObjectstoreStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = 1_800_000_000  # a multiple of 360
    urls = set()
    for offset in (1, 100, 359):
        monkeypatch.setattr(signed_urls, "now", lambda offset=offset: start + offset)
        urls.add(storage.url("_/k"))
    assert len(urls) == 1
    monkeypatch.setattr(signed_urls, "now", lambda: start + 361)
    assert storage.url("_/k") not in urls


def test_proxy_url_takes_a_per_call_expiry(
    storage: ObjectstoreStorage, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = 60480 * 33_000  # a multiple of a tenth of both validities
    monkeypatch.setattr(signed_urls, "now", lambda: start)
    assert int(_query(storage.url("_/k", expire=600))["expires"]) == start + 600
    week = int(_query(storage.url("_/k", expire=timedelta(days=7)))["expires"])
    assert week == start + 7 * 86400


def test_proxy_url_signatures_differ_per_name_and_storage(make_storage: Any) -> None:
    one, other = make_storage(alias="attachments"), make_storage(alias="avatars")
    signatures = {
        _query(one.url("_/a"))["signature"],
        _query(one.url("_/b"))["signature"],
        _query(other.url("_/a"))["signature"],
    }
    assert len(signatures) == 3


@pytest.mark.parametrize("mode", ["proxy", "presigned", "direct"])
def test_url_validity_is_capped_at_seven_days(signed: Any, mode: str) -> None:
    storage = signed(url_mode=mode)
    with pytest.raises(ValueError, match="maximum of 7 days"):
        storage.url("_/k", expire=timedelta(days=365))
    with pytest.raises(ValueError, match="maximum of 7 days"):
        storage.url("_/k", expire=timedelta(days=7, seconds=1))
    assert storage.url("_/k", expire=timedelta(days=7))


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


def test_direct_url_with_a_signing_key_is_presigned_for_the_one_object(
    signed: Any, prefix: str
) -> None:
    storage = signed(url_mode="direct", compression="none")
    name = storage.save(f"{prefix}/d.txt", ContentFile(b"direct body"))
    url = storage.url(name)
    # A JWT (os_auth) grants a whole scope; a pre-signed URL only this path.
    assert "os_auth=" not in url
    assert "os_sig=" in url
    assert fetch(url) == (200, b"direct body")


@pytest.mark.parametrize("mode", ["direct", "presigned"])
def test_swapping_the_key_of_a_signed_url_is_refused_by_the_server(
    signed: Any, prefix: str, mode: str
) -> None:
    storage = signed(url_mode=mode, compression="none")
    mine = storage.save(f"{prefix}/mine.txt", ContentFile(b"mine"))
    theirs = storage.save(f"{prefix}/theirs.txt", ContentFile(b"theirs"))
    url = storage.url(mine)
    my_key, their_key = mine.split("/", 1)[1], theirs.split("/", 1)[1]
    status, body = fetch(url.replace(my_key, their_key))
    assert status in (401, 403)
    assert b"theirs" not in body
    assert fetch(url) == (200, b"mine")


def test_direct_url_validity_is_the_signature_duration(signed: Any) -> None:
    storage = signed(url_mode="direct", url_expiry="2 days")
    assert _query(storage.url("_/k"))["os_duration"] == str(2 * 86400)


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
