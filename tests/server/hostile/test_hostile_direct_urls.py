"""``url_mode="direct"`` URLs with a signing key: capped at 7 days, good for one object.

The storage signs what it hands out; whoever holds the URL must get exactly the one
file, for at most the documented maximum (7 days, like pre-signed URLs), even when the
caller asks for a year. Swapping the key in the URL for another object of the same
scope must be refused by the server.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files.base import ContentFile

from django_objectstore.storage import ObjectstoreStorage

from .hostile_support import KID, AuthServer, Response, ServerProcess, hostile

MAX_VALIDITY = 7 * 24 * 3600
SKEW = 120
"""Seconds of clock slack allowed when reading a URL's expiry."""
SCOPE = "org=1;project=2"


@pytest.fixture(scope="module")
def storage(auth_server: AuthServer) -> Iterator[ObjectstoreStorage]:
    storage = ObjectstoreStorage(
        base_url=auth_server.server.url,
        usecase="hostile",
        compression="none",
        url_mode="direct",
        signing_key=auth_server.keys.private_pem,
        signing_kid=KID,
    )
    yield storage
    storage.close()


@pytest.fixture(scope="module")
def names(storage: ObjectstoreStorage) -> tuple[str, str]:
    first = storage.save(f"{SCOPE}/first.txt", ContentFile(b"first file"))
    second = storage.save(f"{SCOPE}/second.txt", ContentFile(b"second file"))
    return first, second


def _fetch(server: ServerProcess, url: str) -> Response:
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    return server.request("GET", target)


def _jwt_claims(token: str) -> dict[str, object]:
    payload = token.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert isinstance(claims, dict)
    return claims


def _validity_seconds(url: str) -> float:
    """How long from now the credential embedded in ``url`` stays valid."""
    query = parse_qs(urlsplit(url).query)
    if "os_auth" in query:
        expires = _jwt_claims(query["os_auth"][0])["exp"]
        assert isinstance(expires, int | float)
        return float(expires) - time.time()
    if "os_duration" in query:
        return float(query["os_duration"][0])
    raise AssertionError(f"no credential in the direct URL {url!r}")


def test_direct_url_is_valid_for_at_most_seven_days(
    auth_server: AuthServer, storage: ObjectstoreStorage, names: tuple[str, str]
) -> None:
    with pytest.raises(ValueError, match="maximum of 7 days"):
        storage.url(names[0], expire=timedelta(days=365))
    url = storage.url(names[0], expire=timedelta(days=7))

    assert _validity_seconds(url) <= MAX_VALIDITY + SKEW
    response = _fetch(auth_server.server, url)
    assert (response.status, response.body) == (200, b"first file")


def test_direct_url_grants_only_its_own_object(
    auth_server: AuthServer, storage: ObjectstoreStorage, names: tuple[str, str]
) -> None:
    url = storage.url(names[0])
    assert _fetch(auth_server.server, url).status == 200
    first_key = names[0].rsplit("/", 1)[1]
    second_key = names[1].rsplit("/", 1)[1]
    parts = urlsplit(url)
    assert parts.path.endswith("/" + first_key), url
    swapped = parts._replace(path=parts.path[: -len(first_key)] + second_key).geturl()

    hostile()
    response = _fetch(auth_server.server, swapped)

    assert response.status in (401, 403), response
    assert b"second file" not in response.body
