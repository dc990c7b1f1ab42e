"""Checks of shared clients (E018, E019) and of the redirect URL mode (E006, W003, W004)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import override_settings

from tests.django.checks.test_ids import PEM, ids, storages_with

CLIENT = {"base_url": "memory://shared"}


@pytest.mark.parametrize(
    "options",
    [
        {"client": "missing"},
        {"client": "main", "base_url": "memory://other"},
        {"client": "main", "token": "a.b.c"},
        {"client": "main", "client_options": {"retries": 1}},
    ],
)
def test_client_option_problems_are_e018(options: dict[str, Any]) -> None:
    storages = storages_with(**options)
    storages["attachments"]["OPTIONS"].pop("base_url", None)
    storages["attachments"]["OPTIONS"].update(options)
    with override_settings(STORAGES=storages, OBJECTSTORE={"clients": {"main": CLIENT}}):
        assert ids() == ["django_objectstore.E018"]


@pytest.mark.parametrize(
    "config",
    [
        {"base_url": "ftp://host"},
        {"base_url": "memory://x", "pool": 3},
        {"base_url": "memory://x", "signing_kid": "k"},
        {"base_url": "memory://x", "signing_key": "nope", "signing_kid": "k"},
        {"base_url": "memory://x", "retries": -1},
        {"base_url": "memory://x", "timeout_ms": "fast"},
        {"base_url": "memory://x", "metrics_backend": "myproject.nowhere.Metrics"},
        {"base_url": "memory://x", "propagate_traces": "yes"},
        "http://host",
    ],
)
def test_invalid_shared_client_configurations_are_e019(config: Any) -> None:
    with override_settings(OBJECTSTORE={"clients": {"main": config}}):
        assert ids() == ["django_objectstore.E019"]


def test_a_storage_on_a_valid_shared_client_passes_every_check() -> None:
    storages = storages_with(client="main")
    del storages["attachments"]["OPTIONS"]["base_url"]
    config = {**CLIENT, "signing_key": PEM, "signing_kid": "k", "retries": 2, "timeout_ms": 500}
    with override_settings(STORAGES=storages, OBJECTSTORE={"clients": {"main": config}}):
        assert ids() == []


def test_redirect_without_a_signing_key_is_e006() -> None:
    with override_settings(STORAGES=storages_with(url_mode="redirect", compression="none")):
        assert ids() == ["django_objectstore.E006"]


def test_redirect_with_the_shared_clients_key_passes() -> None:
    storages = storages_with(client="main", url_mode="redirect", compression="none")
    del storages["attachments"]["OPTIONS"]["base_url"]
    config = {**CLIENT, "signing_key": PEM, "signing_kid": "k"}
    with override_settings(STORAGES=storages, OBJECTSTORE={"clients": {"main": config}}):
        assert ids() == []


def test_redirect_of_zstd_objects_warns_w004() -> None:
    options = {"url_mode": "redirect", "signing_key": PEM, "signing_kid": "k"}
    with override_settings(STORAGES=storages_with(**options)):
        assert ids() == ["django_objectstore.W004"]


def test_redirect_without_the_download_urls_warns_w003() -> None:
    options = {"url_mode": "redirect", "signing_key": PEM, "signing_kid": "k"}
    storages = storages_with(compression="none", **options)
    with override_settings(STORAGES=storages, ROOT_URLCONF="tests.django.checks.urls"):
        assert ids() == ["django_objectstore.W003"]
