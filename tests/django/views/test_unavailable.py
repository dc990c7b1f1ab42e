"""An objectstore that is down or hangs answers 503 with Retry-After, never 500."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.core.files.storage import storages
from django.test import Client, override_settings

from django_objectstore.views import RETRY_AFTER_SECONDS
from tests.django.storage.silent import silent_server

pytestmark = pytest.mark.django_db

BOUND_SECONDS = 10


@contextmanager
def attachments_at(base_url: str, *, debug: bool = False) -> Iterator[str]:
    """Point ``attachments`` at ``base_url``; yield the signed URL of a file there."""
    entry = {
        "BACKEND": "django_objectstore.storage.ObjectstoreStorage",
        "OPTIONS": {
            "alias": "attachments",
            "base_url": base_url,
            "client_options": {"timeout_ms": 300, "retries": 0},
        },
    }
    with override_settings(STORAGES={**settings.STORAGES, "attachments": entry}, DEBUG=debug):
        storage = storages["attachments"]
        try:
            yield storage.url("org=1;project=2/some-key")
        finally:
            storage.close()


def _get(url: str) -> tuple[object, float]:
    started = time.monotonic()
    response = Client(raise_request_exception=False).get(url)
    return response, time.monotonic() - started


@pytest.mark.parametrize("debug", [False, True])
def test_a_hung_objectstore_answers_503_within_the_timeout(debug: bool) -> None:
    with silent_server() as base_url, attachments_at(base_url, debug=debug) as url:
        response, elapsed = _get(url)
    assert elapsed < BOUND_SECONDS
    assert response.status_code == 503  # type: ignore[attr-defined]
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)  # type: ignore[index]
    body = response.content.decode()  # type: ignore[attr-defined]
    if debug:
        assert base_url in body
        assert "0.3 s" in body
    else:
        assert base_url not in body
        assert "127.0.0.1" not in body


def test_an_unreachable_objectstore_answers_503() -> None:
    with attachments_at("http://127.0.0.1:9") as url:
        response, _ = _get(url)
    assert response.status_code == 503  # type: ignore[attr-defined]
    assert response["Retry-After"] == str(RETRY_AFTER_SECONDS)  # type: ignore[index]
    assert "127.0.0.1" not in response.content.decode()  # type: ignore[attr-defined]
