"""Constructing ObjectstoreStorage: OPTIONS, precedence, defaults, deconstruction."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.test import override_settings

from django_objectstore.client import Usecase
from django_objectstore.conf import objectstore_settings
from django_objectstore.storage import ObjectstoreStorage
from django_objectstore.wire.expiration import TimeToIdle, TimeToLive

BACKEND = "django_objectstore.storage.ObjectstoreStorage"


def test_storage_constructs_without_arguments_with_documented_defaults() -> None:
    storage = ObjectstoreStorage()
    assert storage.usecase.name == "attachments"
    assert storage.usecase.compression == "zstd"
    assert storage.usecase.expiration_policy is None
    assert storage.url_mode == "proxy"
    assert storage.key_mode == "server"
    assert storage.allow_overwrite is False
    assert storage.url_expiry == timedelta(hours=1)


def test_options_build_the_usecase() -> None:
    storage = ObjectstoreStorage(
        usecase="avatars", compression="none", expiration_policy="tti:30 days"
    )
    assert isinstance(storage.usecase, Usecase)
    assert (storage.usecase.name, storage.usecase.compression) == ("avatars", "none")
    assert storage.usecase.expiration_policy == TimeToIdle(timedelta(days=30))


def test_unknown_option_is_improperly_configured_listing_valid_ones() -> None:
    with pytest.raises(ImproperlyConfigured) as info:
        ObjectstoreStorage(bucket_name="x")
    message = str(info.value)
    assert "'bucket_name'" in message and "usecase" in message and "url_mode" in message


@pytest.mark.parametrize(
    ("options", "fragment"),
    [
        ({"usecase": "a b"}, "usecase"),
        ({"compression": "gzip"}, "compression"),
        ({"expiration_policy": "forever"}, "expiration_policy"),
        ({"url_mode": "public"}, "url_mode"),
        ({"key_mode": "random"}, "key_mode"),
        ({"base_url": "ftp://host"}, "scheme"),
        ({"base_url": "http://"}, "no host"),
        ({"url_mode": "presigned"}, "signing key"),
        ({"signing_kid": "k"}, "together"),
        ({"client_options": {"pool": 3}}, "'pool'"),
        ({"allow_overwrite": "yes"}, "allow_overwrite"),
        ({"url_expiry": "30 days"}, "one-week"),
    ],
)
def test_invalid_options_are_improperly_configured(options: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ImproperlyConfigured, match=fragment):
        ObjectstoreStorage(**options)


def test_options_override_class_attributes_which_override_defaults() -> None:
    class AvatarStorage(ObjectstoreStorage):
        usecase = Usecase("avatars", "none", TimeToLive(timedelta(days=1)))
        url_mode = "direct"
        key_mode = "name"

    from_class = AvatarStorage()
    assert from_class.usecase.name == "avatars"
    assert from_class.usecase.compression == "none"
    assert from_class.usecase.expiration_policy == TimeToLive(timedelta(days=1))
    assert (from_class.url_mode, from_class.key_mode) == ("direct", "name")

    from_options = AvatarStorage(compression="zstd", url_mode="proxy")
    assert from_options.usecase.name == "avatars"
    assert from_options.usecase.compression == "zstd"
    assert from_options.url_mode == "proxy"
    assert from_options.key_mode == "name"


def test_deconstruct_uses_the_short_path_and_drops_secrets() -> None:
    storage = ObjectstoreStorage(usecase="files", token="secret-jwt", url_mode="direct")
    path, args, kwargs = storage.deconstruct()
    assert path == "django_objectstore.storage.ObjectstoreStorage"
    assert args == ()
    assert kwargs == {"usecase": "files", "url_mode": "direct"}
    rebuilt = ObjectstoreStorage(*args, **kwargs)
    assert rebuilt.usecase.name == "files"


def test_subclass_deconstructs_to_its_own_path() -> None:
    path, _, _ = _Sub(usecase="subs").deconstruct()
    assert path.endswith("test_options._Sub")


class _Sub(ObjectstoreStorage):
    pass


def test_default_base_url_is_objectstore_setting(tmp_path: Path) -> None:
    with override_settings(OBJECTSTORE={"base_url": "http://objectstore.example:8888"}):
        assert ObjectstoreStorage().resolved_base_url() == "http://objectstore.example:8888"


def test_default_base_url_is_embedded_under_base_dir(tmp_path: Path) -> None:
    with override_settings(BASE_DIR=tmp_path, OBJECTSTORE={}):
        url = ObjectstoreStorage().resolved_base_url()
    assert url == f"embedded://{(tmp_path / '.objectstore-data').as_posix()}"


def test_default_base_url_without_base_dir_is_an_error_not_the_current_directory(
    settings: Any,
) -> None:
    del settings.BASE_DIR
    with pytest.raises(ImproperlyConfigured, match="BASE_DIR"):
        ObjectstoreStorage().resolved_base_url()


def test_embedded_default_store_round_trips(tmp_path: Path) -> None:
    with override_settings(BASE_DIR=tmp_path):
        storage = ObjectstoreStorage(usecase="embedded-test")
        name = storage.save("_/x.txt", ContentFile(b"embedded"))
        assert storage.open(name).read() == b"embedded"
        storage.close()
    assert (tmp_path / ".objectstore-data").is_dir()


def test_storages_setting_options_are_the_constructor_arguments(objectstore_server: str) -> None:
    config = {
        "files": {
            "BACKEND": BACKEND,
            "OPTIONS": {"base_url": str(objectstore_server), "usecase": "filesuc"},
        }
    }
    with override_settings(STORAGES=config):
        storage = storages["files"]
        assert isinstance(storage, ObjectstoreStorage)
        assert storage.usecase.name == "filesuc"
        assert storage.display_alias == "files"  # found from STORAGES without an alias option


def test_unknown_storages_option_fails_when_the_storage_is_created() -> None:
    with (
        override_settings(STORAGES={"files": {"BACKEND": BACKEND, "OPTIONS": {"usecas": "x"}}}),
        pytest.raises(ImproperlyConfigured, match="'usecas'"),
    ):
        storages["files"]


def test_objectstore_setting_rejects_unknown_keys() -> None:
    with (
        override_settings(OBJECTSTORE={"base_ur": "http://x"}),
        pytest.raises(ImproperlyConfigured, match=r"base_ur.*valid keys"),
    ):
        _ = objectstore_settings.base_url


@override_settings(OBJECTSTORE={})
def test_objectstore_setting_is_read_on_access() -> None:
    assert objectstore_settings.scope_resolver == "django_objectstore.scope.default_scope_resolver"
    with override_settings(OBJECTSTORE={"scope_resolver": "x.y", "download_permission": "a.b"}):
        assert objectstore_settings.scope_resolver == "x.y"
        assert objectstore_settings.download_permission == "a.b"
    assert objectstore_settings.download_permission is None


def test_client_options_reach_the_client(objectstore_server: str) -> None:
    storage = ObjectstoreStorage(
        base_url=str(objectstore_server), client_options={"retries": 0, "timeout_ms": 5000}
    )
    assert storage.client.base_url == str(objectstore_server)
    assert storage.client is storage.client


def test_close_releases_the_client_and_a_new_one_is_made(objectstore_server: str) -> None:
    storage = ObjectstoreStorage(base_url=str(objectstore_server))
    first = storage.client
    storage.close()
    assert storage.client is not first
    storage.close()


def test_settings_docs_cover_every_option_and_key() -> None:
    from django_objectstore.conf import DEFAULTS
    from django_objectstore.storage.options import OPTION_NAMES

    text = (Path(__file__).resolve().parents[3] / "docs" / "settings.md").read_text()
    headings = {
        part.strip().strip("`")
        for line in text.splitlines()
        if line.startswith("### ")
        for part in line[4:].split(",")
    }
    assert set(OPTION_NAMES) <= headings
    assert set(DEFAULTS) <= headings
