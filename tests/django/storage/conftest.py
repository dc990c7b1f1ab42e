"""Fixtures of the storage tests: a fresh scope and storages on the test server."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from django_objectstore.storage import ObjectstoreStorage
from django_objectstore.wire.scopes import Scopes, format_scopes, make_scopes


@pytest.fixture
def scopes(objectstore_scope: dict[str, str]) -> Scopes:
    return make_scopes(objectstore_scope)


@pytest.fixture
def prefix(scopes: Scopes) -> str:
    """The scope part of names in this test, e.g. ``org=3;project=ab12``."""
    return format_scopes(scopes)


@pytest.fixture
def make_storage(objectstore_server: str, objectstore_usecase: str) -> Iterator[Any]:
    made: list[ObjectstoreStorage] = []

    def make(**options: Any) -> ObjectstoreStorage:
        options.setdefault("base_url", str(objectstore_server))
        options.setdefault("usecase", objectstore_usecase)
        storage = ObjectstoreStorage(**options)
        made.append(storage)
        return storage

    yield make
    for storage in made:
        storage.close()


@pytest.fixture
def storage(make_storage: Any) -> ObjectstoreStorage:
    return make_storage(alias="attachments")  # type: ignore[no-any-return]


@pytest.fixture
def signed(make_storage: Any, objectstore_auth_server: Any) -> Any:
    """Like ``make_storage``, on the auth-enforcing server with its signing key."""

    def make(**options: Any) -> ObjectstoreStorage:
        return make_storage(  # type: ignore[no-any-return]
            base_url=str(objectstore_auth_server),
            signing_key=objectstore_auth_server.private_key_pem,
            signing_kid=objectstore_auth_server.kid,
            **options,
        )

    return make
