"""The Django storage never waits forever for a server that accepts and never answers.

The "server" here is a listening socket nobody reads: the kernel completes the TCP
handshake and buffers the request, and no byte ever comes back. Every storage call
must fail within its read timeout with the storage's typed error, whose message names
the URL and the timeout. Calls run in a thread, so a hang fails the test instead of
hanging the run.
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.test import Client, override_settings
from django.urls import reverse

from django_objectstore.exceptions import ObjectstoreStorageError
from django_objectstore.storage import ObjectstoreStorage

from .hostile_support import LOOPBACK, hostile

TIMEOUT_MS = 300
WITHIN = 10.0
"""Seconds a call may take at most with a 300 ms read timeout (retries included)."""
MAX_DEFAULT_READ_TIMEOUT = 300.0
"""A default read timeout longer than five minutes is as good as none."""
NAME = "org=1;project=2/4f0c0c6bd1d84a1d8b1fbb7c4a1f4c11"


@pytest.fixture
def silent_url() -> Iterator[str]:
    """``http://`` URL of a socket that accepts connections and never answers."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind((LOOPBACK, 0))
    listener.listen(64)
    try:
        yield f"http://{LOOPBACK}:{listener.getsockname()[1]}"
    finally:
        listener.close()  # pending connections are reset, so a hung call ends too


@dataclass
class Outcome:
    elapsed: float
    error: BaseException | None
    finished: bool


def call_within(action: Callable[[], Any], seconds: float) -> Outcome:
    """Run ``action`` in a daemon thread for at most ``seconds``."""
    box: list[BaseException | None] = []

    def run() -> None:
        try:
            action()
        except BaseException as error:
            box.append(error)
        else:
            box.append(None)

    started = time.monotonic()
    thread = threading.Thread(target=run, name="storage-call", daemon=True)
    thread.start()
    thread.join(seconds)
    return Outcome(time.monotonic() - started, box[0] if box else None, not thread.is_alive())


def storage_for(url: str, **options: Any) -> ObjectstoreStorage:
    return ObjectstoreStorage(base_url=url, usecase="hostile", compression="none", **options)


def _assert_typed_timeout(outcome: Outcome, url: str) -> None:
    assert outcome.finished, f"still waiting after {outcome.elapsed:.1f} s"
    assert isinstance(outcome.error, ObjectstoreStorageError), repr(outcome.error)
    message = str(outcome.error)
    assert url in message, message
    assert re.search(r"time(d)?[ -]?out", message, re.IGNORECASE), message
    assert re.search(r"\b0\.3\b|\b300\s*ms\b", message), message


@pytest.mark.parametrize(
    "operation",
    ["exists", "open", "save", "size"],
)
def test_storage_call_fails_within_its_read_timeout_naming_url_and_timeout(
    silent_url: str, operation: str
) -> None:
    storage = storage_for(silent_url, client_options={"timeout_ms": TIMEOUT_MS})
    actions: dict[str, Callable[[], object]] = {
        "exists": lambda: storage.exists(NAME),
        "open": lambda: storage.open(NAME).read(),
        "save": lambda: storage.save("org=1;project=2/report.txt", ContentFile(b"report")),
        "size": lambda: storage.size(NAME),
    }
    hostile()
    try:
        outcome = call_within(actions[operation], WITHIN)
    finally:
        storage.close()

    _assert_typed_timeout(outcome, silent_url)


def test_storage_has_a_finite_default_read_timeout(silent_url: str) -> None:
    storage = storage_for(silent_url)
    try:
        timeout = storage.client.transport.pool.timeout  # type: ignore[attr-defined]
    finally:
        storage.close()

    read = timeout.read_timeout
    assert isinstance(read, int | float), f"no default read timeout: {timeout!r}"
    assert 0 < read <= MAX_DEFAULT_READ_TIMEOUT


@pytest.mark.django_db
def test_download_view_fails_within_the_read_timeout(silent_url: str) -> None:
    options = {
        "alias": "attachments",
        "base_url": silent_url,
        "usecase": "hostile",
        "client_options": {"timeout_ms": TIMEOUT_MS},
    }
    backend = {"BACKEND": "django_objectstore.storage.ObjectstoreStorage", "OPTIONS": options}
    url = reverse("project-file", kwargs={"org_id": 1, "project_id": 2, "name": NAME})
    hostile()
    with override_settings(STORAGES={**settings.STORAGES, "attachments": backend}):
        storage = storages["attachments"]
        assert isinstance(storage, ObjectstoreStorage)
        client = Client(raise_request_exception=False)
        responses: list[Any] = []
        try:
            outcome = call_within(lambda: responses.append(client.get(url)), WITHIN)
        finally:
            storage.close()

    assert outcome.finished, f"the download view still waited after {outcome.elapsed:.1f} s"
    assert outcome.error is None, repr(outcome.error)
    assert responses[0].status_code >= 500
