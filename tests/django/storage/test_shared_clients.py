"""``OBJECTSTORE["clients"]``: storages naming one client share one Client and one pool."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.test import override_settings

from django_objectstore.client import SecretKey
from django_objectstore.storage import ObjectstoreStorage
from django_objectstore.storage.options import DEFAULT_TIMEOUT_MS

BACKEND = "django_objectstore.storage.ObjectstoreStorage"


class RecordingMetrics:
    """A metrics backend that keeps what it is given (imported by dotted path)."""

    instances: list[RecordingMetrics] = []

    def __init__(self) -> None:
        self.names: list[str] = []
        RecordingMetrics.instances.append(self)

    def increment(self, name: str, value: float = 1, tags: Any = None) -> None:
        self.names.append(name)

    def gauge(self, name: str, value: float, tags: Any = None) -> None:
        self.names.append(name)

    def distribution(self, name: str, value: float, tags: Any = None, unit: Any = None) -> None:
        self.names.append(name)


@pytest.fixture
def shared(objectstore_server: str) -> Iterator[dict[str, Any]]:
    config: dict[str, Any] = {
        "base_url": str(objectstore_server),
        "retries": 1,
        "timeout_ms": 5_000,
        "connection_kwargs": {"maxsize": 7},
        "metrics_backend": f"{__name__}.RecordingMetrics",
    }
    with override_settings(OBJECTSTORE={"clients": {"main": config}}):
        yield config


def _storages(**aliases: dict[str, Any]) -> dict[str, Any]:
    return {
        **settings.STORAGES,
        **{alias: {"BACKEND": BACKEND, "OPTIONS": options} for alias, options in aliases.items()},
    }


def test_two_storages_naming_one_client_share_the_client_and_its_pool(
    shared: dict[str, Any], objectstore_usecase: str
) -> None:
    config = _storages(
        files={"client": "main", "usecase": objectstore_usecase},
        dumps={"client": "main", "usecase": "dumps", "compression": "none"},
    )
    with override_settings(STORAGES=config):
        files, dumps = storages["files"], storages["dumps"]
        assert isinstance(files, ObjectstoreStorage) and isinstance(dumps, ObjectstoreStorage)
        name = files.save("_/a.txt", ContentFile(b"one"))
        dumps.save("_/b.txt", ContentFile(b"two"))
        assert files.client is dumps.client
        assert files.client.transport is dumps.client.transport
        with files.open(name) as handle:
            assert handle.read() == b"one"


def test_the_shared_client_has_the_configured_settings(
    shared: dict[str, Any], objectstore_server: str, objectstore_usecase: str
) -> None:
    storage = ObjectstoreStorage(client="main", usecase=objectstore_usecase)
    client = storage.client
    assert client.base_url == str(objectstore_server)
    transport: Any = client.transport
    assert transport.pool.pool.maxsize == 7  # connection_kwargs reach the urllib3 pool
    assert isinstance(client.metrics_backend, RecordingMetrics)
    assert storage.read_timeout == 5.0
    storage.save("_/m.txt", ContentFile(b"metrics"))
    assert "storage.put.latency" in client.metrics_backend.names


def test_closing_one_storage_leaves_the_shared_client_usable(
    shared: dict[str, Any], objectstore_usecase: str
) -> None:
    first = ObjectstoreStorage(client="main", usecase=objectstore_usecase)
    second = ObjectstoreStorage(client="main", usecase=objectstore_usecase)
    name = first.save("_/c.txt", ContentFile(b"kept"))
    first.close()
    assert second.exists(name)
    assert first.client is second.client


def test_a_changed_configuration_gets_a_new_client(
    shared: dict[str, Any], objectstore_usecase: str
) -> None:
    before = ObjectstoreStorage(client="main", usecase=objectstore_usecase).client
    with override_settings(OBJECTSTORE={"clients": {"main": {**shared, "retries": 0}}}):
        after = ObjectstoreStorage(client="main", usecase=objectstore_usecase).client
    assert after is not before


def test_the_storage_default_timeout_applies_to_shared_clients(objectstore_server: str) -> None:
    with override_settings(OBJECTSTORE={"clients": {"plain": {"base_url": objectstore_server}}}):
        storage = ObjectstoreStorage(client="plain")
        assert storage.read_timeout == DEFAULT_TIMEOUT_MS / 1000
        assert storage.resolved_base_url() == str(objectstore_server)


def test_a_shared_client_signs_with_kid_and_key_on_an_auth_server(
    objectstore_auth_server: Any, objectstore_usecase: str, prefix: str
) -> None:
    config = {
        "base_url": str(objectstore_auth_server),
        "signing_key": objectstore_auth_server.private_key_pem,
        "signing_kid": objectstore_auth_server.kid,
    }
    with override_settings(OBJECTSTORE={"clients": {"signed": config}}):
        storage = ObjectstoreStorage(
            client="signed", usecase=objectstore_usecase, url_mode="presigned"
        )
        name = storage.save(f"{prefix}/s.txt", ContentFile(b"signed"))
        assert isinstance(storage.client.token, SecretKey)
        assert storage.can_sign
        url = storage.url(name)
        assert url.startswith(str(objectstore_auth_server)) and "os_kid=" in url
        with storage.open(name) as handle:
            assert handle.read() == b"signed"


@pytest.mark.parametrize(
    "conflict",
    [
        {"base_url": "http://elsewhere:8888"},
        {"token": "a.b.c"},
        {"client_options": {"retries": 1}},
        {"signing_kid": "k"},
    ],
)
def test_options_the_shared_client_decides_conflict_with_it(
    shared: dict[str, Any], conflict: dict[str, Any]
) -> None:
    with pytest.raises(ImproperlyConfigured, match="cannot be set together with client='main'"):
        ObjectstoreStorage(client="main", **conflict)


def test_an_unknown_client_name_is_improperly_configured(shared: dict[str, Any]) -> None:
    with pytest.raises(ImproperlyConfigured, match=r"client 'other' is not in .*'main'"):
        ObjectstoreStorage(client="other")


def test_a_subclass_may_name_its_client_as_a_class_attribute(
    shared: dict[str, Any], objectstore_usecase: str
) -> None:
    class MainStorage(ObjectstoreStorage):
        client = "main"  # type: ignore[assignment]

    storage = MainStorage(usecase=objectstore_usecase)
    assert storage.client_name == "main"
    assert storage.client is ObjectstoreStorage(client="main").client
