"""The storage never waits forever: a server that accepts and never answers times out."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.files.base import ContentFile

from django_objectstore.exceptions import (
    ObjectstoreStorageError,
    ObjectstoreTimeoutError,
    ObjectstoreUnavailableError,
)
from django_objectstore.storage import ObjectstoreStorage
from django_objectstore.storage.options import DEFAULT_TIMEOUT_MS
from tests.django.storage.silent import silent_server

TIMEOUT_MS = 300
BOUND_SECONDS = 10  # far above the timeout, far below "forever"


@pytest.fixture
def hung(make_storage: Any) -> Iterator[tuple[str, ObjectstoreStorage]]:
    with silent_server() as url:
        storage = make_storage(base_url=url, client_options={"timeout_ms": TIMEOUT_MS})
        yield url, storage
        storage.close()


OPERATIONS: dict[str, Callable[[ObjectstoreStorage], object]] = {
    "exists": lambda storage: storage.exists("_/some-key"),
    "open": lambda storage: storage.open("_/some-key").read(),
    "save": lambda storage: storage.save("_/new.txt", ContentFile(b"body")),
}


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_a_server_that_never_answers_times_out_with_the_typed_error(
    hung: tuple[str, ObjectstoreStorage], operation: str
) -> None:
    url, storage = hung
    started = time.monotonic()
    with pytest.raises(ObjectstoreTimeoutError) as caught:
        OPERATIONS[operation](storage)
    assert time.monotonic() - started < BOUND_SECONDS
    error = caught.value
    assert isinstance(error, ObjectstoreUnavailableError)
    assert isinstance(error, ObjectstoreStorageError)
    assert isinstance(error, TimeoutError)
    assert error.timeout == TIMEOUT_MS / 1000
    assert error.operation == operation
    message = str(error)
    assert url in message
    assert "0.3 s" in message
    assert "timeout_ms" in message


def test_the_default_read_timeout_is_30_seconds(make_storage: Any) -> None:
    storage = make_storage(base_url="http://127.0.0.1:9")
    assert DEFAULT_TIMEOUT_MS == 30_000
    assert storage.read_timeout == 30.0
    assert storage.client.transport.pool.timeout.read_timeout == 30.0  # type: ignore[attr-defined]


def test_client_options_override_the_read_timeout(make_storage: Any) -> None:
    storage = make_storage(base_url="http://127.0.0.1:9", client_options={"timeout_ms": 1500})
    assert storage.read_timeout == 1.5
    assert storage.client.transport.pool.timeout.read_timeout == 1.5  # type: ignore[attr-defined]


def test_timeout_ms_none_means_the_default(make_storage: Any) -> None:
    storage = make_storage(base_url="http://127.0.0.1:9", client_options={"timeout_ms": None})
    assert storage.read_timeout == 30.0
    assert storage.client.transport.pool.timeout.read_timeout == 30.0  # type: ignore[attr-defined]


def test_timeout_ms_infinite_waits_without_a_limit(make_storage: Any) -> None:
    forever = {"timeout_ms": float("inf")}
    storage = make_storage(base_url="http://127.0.0.1:9", client_options=forever)
    assert storage.read_timeout is None
    assert storage.client.transport.pool.timeout.read_timeout is None  # type: ignore[attr-defined]


def test_an_unreachable_server_raises_the_unavailable_error(make_storage: Any) -> None:
    storage = make_storage(base_url="http://127.0.0.1:9", client_options={"retries": 0})
    with pytest.raises(ObjectstoreUnavailableError) as caught:
        storage.exists("_/k")
    assert not isinstance(caught.value, ObjectstoreTimeoutError)
    assert "http://127.0.0.1:9" in str(caught.value)
    assert caught.value.status is None


def test_a_server_stalling_mid_body_times_out_with_the_typed_error(make_storage: Any) -> None:
    head = b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: 1000\r\n\r\n"
    with silent_server(answer=head + b"0123456789") as url:
        storage = make_storage(base_url=url, client_options={"timeout_ms": TIMEOUT_MS})
        started = time.monotonic()
        with storage.open("_/some-key") as file, pytest.raises(ObjectstoreTimeoutError) as caught:
            file.read()
        storage.close()
    assert time.monotonic() - started < BOUND_SECONDS
    assert caught.value.operation == "read"
    assert url in str(caught.value)
