"""Storages pickle and deep-copy (cache framework, task queues, copied settings in tests),
also after they made requests; the copy connects on its own on first use."""

from __future__ import annotations

import copy
import pickle
from typing import Any

from django.core.files.base import ContentFile
from django.test import override_settings

from django_objectstore.storage import ObjectstoreStorage


def _used(storage: ObjectstoreStorage, prefix: str) -> str:
    name = storage.save(f"{prefix}/p.txt", ContentFile(b"pickled"))
    assert storage.exists(name)
    with storage.open(name) as handle:
        handle.read()
    return name


def test_a_storage_that_made_requests_pickles_and_the_copy_works(
    make_storage: Any, prefix: str
) -> None:
    storage = make_storage(expiration_policy="tti:30 days", url_mode="proxy")
    name = _used(storage, prefix)
    restored = pickle.loads(pickle.dumps(storage))
    try:
        assert type(restored) is ObjectstoreStorage
        assert restored.usecase.name == storage.usecase.name
        assert restored.expiration_policy == storage.expiration_policy
        assert restored.deconstruct() == storage.deconstruct()
        with restored.open(name) as handle:
            assert handle.read() == b"pickled"
        assert restored.client is not storage.client
    finally:
        restored.close()


def test_a_storage_that_made_requests_deep_copies(make_storage: Any, prefix: str) -> None:
    storage = make_storage()
    name = _used(storage, prefix)
    duplicate = copy.deepcopy(storage)
    try:
        assert duplicate.exists(name)
        assert duplicate.client is not storage.client
        storage.close()
        assert duplicate.exists(name)  # closing the original leaves the copy's pool alone
    finally:
        duplicate.close()


def test_a_signing_storage_with_a_policy_path_pickles(signed: Any, prefix: str) -> None:
    storage = signed(
        expiration_policy="tests.django.storage.test_save_options.retention_policy",
    )
    name = _used(storage, prefix)
    restored = pickle.loads(pickle.dumps(storage))
    try:
        assert restored.exists(name)
        assert restored.expiration_source == storage.expiration_source
    finally:
        restored.close()


def test_a_storage_on_a_shared_client_pickles_back_onto_the_same_client(
    objectstore_server: str, objectstore_usecase: str, prefix: str
) -> None:
    clients = {"main": {"base_url": str(objectstore_server), "connection_kwargs": {"maxsize": 4}}}
    with override_settings(OBJECTSTORE={"clients": clients}):
        storage = ObjectstoreStorage(client="main", usecase=objectstore_usecase)
        name = _used(storage, prefix)
        restored = pickle.loads(pickle.dumps(storage))
        assert restored.exists(name)
        assert restored.client is storage.client  # one client per name per process
        assert copy.deepcopy(storage).client is storage.client
