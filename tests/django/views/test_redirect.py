"""``url_mode="redirect"``: the view checks access as for proxy URLs, then answers 302 to a
short-lived pre-signed objectstore URL, which the real auth-enforcing server serves."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import urllib3
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.test import Client, override_settings

from django_objectstore.storage import ObjectstoreStorage, signed_urls
from django_objectstore.views import REDIRECT_VALIDITY
from django_objectstore.wire.scopes import format_scopes, make_scopes
from tests.django.attachments import attachments_from
from tests.signing_keys import SigningKey

pytestmark = pytest.mark.django_db

BODY = b"redirected body\n" * 50
NO_HOOK = {"download_permission": None}


def _storage_config(base_url: str, usecase: str, **extra: Any) -> dict[str, Any]:
    return {
        "BACKEND": "django_objectstore.storage.ObjectstoreStorage",
        "OPTIONS": {
            "alias": "attachments",
            "base_url": base_url,
            "usecase": usecase,
            "compression": "none",
            "url_mode": "redirect",
            **extra,
        },
    }


@pytest.fixture
def redirecting(
    objectstore_auth_server: Any, objectstore_usecase: str
) -> Iterator[ObjectstoreStorage]:
    config = _storage_config(
        str(objectstore_auth_server),
        objectstore_usecase,
        signing_key=objectstore_auth_server.private_key_pem,
        signing_kid=objectstore_auth_server.kid,
    )
    with attachments_from(config, OBJECTSTORE=NO_HOOK) as storage:
        yield storage


@pytest.fixture
def prefix(objectstore_scope: dict[str, str]) -> str:
    return format_scopes(make_scopes(objectstore_scope))


def _fetch(url: str, method: str = "GET") -> urllib3.BaseHTTPResponse:
    return urllib3.request(method, url, retries=False, redirect=False)


def test_a_signed_url_redirects_to_a_presigned_objectstore_url(
    redirecting: ObjectstoreStorage, objectstore_auth_server: Any, prefix: str
) -> None:
    name = redirecting.save(f"{prefix}/notes.txt", ContentFile(BODY))
    url = redirecting.url(name)
    assert urlsplit(url).path.startswith("/objectstore/")  # the view's URL, as for proxy
    response = Client().get(url)
    assert response.status_code == 302
    assert response["Cache-Control"] == "no-store"
    target = response["Location"]
    assert target.startswith(str(objectstore_auth_server))
    query = parse_qs(urlsplit(target).query)
    assert query["os_duration"] == [str(int(REDIRECT_VALIDITY.total_seconds()))]
    fetched = _fetch(target)
    assert fetched.status == 200 and fetched.data == BODY


def test_head_is_redirected_too(redirecting: ObjectstoreStorage, prefix: str) -> None:
    name = redirecting.save(f"{prefix}/h.txt", ContentFile(BODY))
    response = Client().head(redirecting.url(name))
    assert response.status_code == 302
    assert _fetch(response["Location"], "HEAD").status == 200


def test_an_unsigned_request_of_another_scope_is_refused_without_a_redirect(
    redirecting: ObjectstoreStorage,
) -> None:
    name = redirecting.save("org=1;project=2/secret.txt", ContentFile(b"secret"))
    response = Client().get(f"/orgs/3/projects/4/files/{name}")
    assert response.status_code == 404
    assert "Location" not in response


def test_an_unsigned_request_of_its_own_scope_is_redirected(
    redirecting: ObjectstoreStorage,
) -> None:
    name = redirecting.save("org=5;project=6/mine.txt", ContentFile(b"mine"))
    response = Client().get(f"/orgs/5/projects/6/files/{name}")
    assert response.status_code == 302
    assert _fetch(response["Location"]).data == b"mine"


def test_an_expired_signature_is_refused_without_a_redirect(
    redirecting: ObjectstoreStorage, prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = redirecting.save(f"{prefix}/old.txt", ContentFile(b"old"))
    url = redirecting.url(name)
    later = signed_urls.now() + 2 * 3600
    monkeypatch.setattr(signed_urls, "now", lambda: later)
    response = Client().get(url)
    assert response.status_code == 403


def test_an_in_process_store_is_streamed_instead(tmp_path: Any, objectstore_usecase: str) -> None:
    # A browser cannot follow a redirect into the Django process's own store.
    config = _storage_config(f"embedded://{tmp_path}", objectstore_usecase)
    config["OPTIONS"]["url_mode"] = "proxy"
    with override_settings(STORAGES={**settings.STORAGES, "attachments": config}):
        name = storages["attachments"].save("_/e.txt", ContentFile(b"embedded"))
    config["OPTIONS"].update(
        url_mode="redirect",
        signing_key=SigningKey().private_pem,
        signing_kid="k",
    )
    with override_settings(
        STORAGES={**settings.STORAGES, "attachments": config}, OBJECTSTORE=NO_HOOK
    ):
        storage = storages["attachments"]
        response = Client().get(storage.url(name))
        assert response.status_code == 200
        assert b"".join(response.streaming_content) == b"embedded"


def test_redirect_without_a_signing_key_is_improperly_configured(objectstore_server: str) -> None:
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="url_mode='redirect' needs a signing key"):
        ObjectstoreStorage(base_url=str(objectstore_server), url_mode="redirect")
