"""The storage's connections: where they go, one client made on first use, and a session
per scope.

Both are created lazily and shared by every thread using the storage; ``close()``
releases the client's connections and the next use makes a new client. Without a
``base_url`` a storage connects to ``OBJECTSTORE["base_url"]``, else to an embedded
store in the project directory (:func:`default_base_url`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from django.conf import settings

from django_objectstore.client import Client, Session, Usecase
from django_objectstore.conf import objectstore_settings
from django_objectstore.wire.scopes import Scopes

__all__ = ["DATA_DIRECTORY", "SESSION_CACHE_SIZE", "StorageConnections", "default_base_url"]

SESSION_CACHE_SIZE = 1024
"""Sessions kept per storage; the cache is emptied when it is full."""

DATA_DIRECTORY = ".objectstore-data"
"""Directory of the default embedded store, under ``BASE_DIR`` (else the current one)."""


def default_base_url() -> str:
    """``OBJECTSTORE["base_url"]``, else ``embedded:`` + ``BASE_DIR/.objectstore-data``.

    Without a ``BASE_DIR`` setting the directory is relative to the current directory.
    """
    configured = objectstore_settings.base_url
    if configured:
        return configured
    base_dir = getattr(settings, "BASE_DIR", None)
    if base_dir is None:
        return f"embedded:{DATA_DIRECTORY}"
    directory = Path(base_dir).resolve() / DATA_DIRECTORY
    return f"embedded://{directory.as_posix()}"


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
