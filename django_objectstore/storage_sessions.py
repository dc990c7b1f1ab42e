"""The storage's connections: one client, made on first use, and a session per scope.

Both are created lazily and shared by every thread using the storage; ``close()``
releases the client's connections and the next use makes a new client.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from django.core.exceptions import ImproperlyConfigured

from django_objectstore import storage_options as opts
from django_objectstore.client import Client, SecretKey, Session, Usecase
from django_objectstore.wire.scopes import Scopes

if TYPE_CHECKING:
    from django_objectstore.storage import ObjectstoreStorage

__all__ = ["SESSION_CACHE_SIZE", "StorageConnections", "build_client"]

SESSION_CACHE_SIZE = 1024
"""Sessions kept per storage; the cache is emptied when it is full."""


def build_client(storage: ObjectstoreStorage) -> Client:
    """A client for ``storage``'s base URL and credentials; ``ImproperlyConfigured``."""
    credential: SecretKey | str | None = storage.token
    if storage.signing_key is not None and storage.signing_kid is not None:
        credential = SecretKey(storage.signing_kid, storage.signing_key)
    base_url = storage.resolved_base_url()
    try:
        opts.validate_base_url(base_url)
        return Client(base_url, token=credential, **storage.client_options)
    except ValueError as exc:
        raise ImproperlyConfigured(
            f"storage {storage.display_alias!r}: cannot create the objectstore client: {exc}"
        ) from exc


class StorageConnections:
    """A lazily made client and its sessions for one usecase (thread-safe)."""

    def __init__(self, make_client: Callable[[], Client], usecase: Usecase) -> None:
        self._make_client = make_client
        self._usecase = usecase
        self._lock = threading.Lock()
        self._client: Client | None = None
        self._sessions: dict[Scopes, Session] = {}

    @property
    def client(self) -> Client:
        client = self._client
        if client is None:
            with self._lock:
                if self._client is None:
                    self._client = self._make_client()
                client = self._client
        return client

    def session(self, scopes: Scopes) -> Session:
        session = self._sessions.get(scopes)
        if session is None:
            client = self.client
            with self._lock:
                session = self._sessions.get(scopes)
                if session is None:
                    if len(self._sessions) >= SESSION_CACHE_SIZE:
                        self._sessions.clear()
                    session = self._sessions[scopes] = Session(client, self._usecase, scopes)
        return session

    def close(self) -> None:
        with self._lock:
            client, self._client = self._client, None
            self._sessions.clear()
        if client is not None:
            client.close()
