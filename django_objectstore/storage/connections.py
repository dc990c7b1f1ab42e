"""The storage's connections: where they go, one client made on first use, and a session
per scope.

Both are created lazily and shared by every thread using the storage; ``close()``
releases the client's connections and the next use makes a new client. A shared client
(``OBJECTSTORE["clients"]``, see :mod:`.clients`) belongs to every storage naming it, so
``close()`` only lets go of it. Without a
``base_url`` a storage connects to ``OBJECTSTORE["base_url"]``, else to an embedded
store in the project directory (:func:`default_base_url`).

Relative ``embedded:`` URLs are resolved against ``settings.BASE_DIR``, never the
current directory (:func:`resolve_base_url`): a management command run from another
directory must find the same objects as the web process, not an empty store of its own.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from django_objectstore.client import Client, Session, Usecase
from django_objectstore.conf import objectstore_settings
from django_objectstore.wire.scopes import Scopes

__all__ = [
    "DATA_DIRECTORY",
    "EMBEDDED_SCHEME",
    "SESSION_CACHE_SIZE",
    "StorageConnections",
    "default_base_url",
    "is_relative_embedded",
    "resolve_base_url",
]

SESSION_CACHE_SIZE = 1024
"""Sessions kept per storage; the cache is emptied when it is full."""

DATA_DIRECTORY = ".objectstore-data"
"""Directory of the default embedded store, under ``BASE_DIR``."""

EMBEDDED_SCHEME = "embedded:"


def is_relative_embedded(url: str) -> bool:
    """``embedded:`` or ``embedded:rel/dir``: a directory that needs ``BASE_DIR``."""
    if not url.startswith(EMBEDDED_SCHEME):
        return False
    return not url[len(EMBEDDED_SCHEME) :].startswith("/")


def resolve_base_url(base_url: str | None) -> str:
    """Where a storage with this ``base_url`` option connects to.

    ``base_url``, else ``OBJECTSTORE["base_url"]``, else the default embedded store
    (``BASE_DIR/.objectstore-data``). A relative embedded URL becomes absolute against
    ``settings.BASE_DIR``: ``embedded:`` alone is the default directory
    ``BASE_DIR/.objectstore-data`` and ``embedded:rel/dir`` is ``BASE_DIR/rel/dir``.
    Without ``BASE_DIR`` a relative one raises ``ImproperlyConfigured`` (system check
    ``E017``) instead of silently depending on the current directory.
    """
    url = base_url or objectstore_settings.base_url or EMBEDDED_SCHEME
    if not is_relative_embedded(url):
        return url
    relative = url[len(EMBEDDED_SCHEME) :] or DATA_DIRECTORY
    base_dir = getattr(settings, "BASE_DIR", None)
    if base_dir is None:
        raise ImproperlyConfigured(
            f"the embedded objectstore {url!r} is a relative path, and settings.BASE_DIR "
            f"is not set: set BASE_DIR (startproject does) or use embedded:///absolute/dir"
        )
    directory = (Path(base_dir) / relative).resolve()
    return f"embedded://{directory.as_posix()}"


def default_base_url() -> str:
    """``OBJECTSTORE["base_url"]``, else ``embedded:`` + ``BASE_DIR/.objectstore-data``,
    resolved as :func:`resolve_base_url` does."""
    return resolve_base_url(None)


class StorageConnections:
    """A lazily made client and its sessions for one usecase (thread-safe).

    ``shared``: the client is used by other storages too, so ``close()`` does not close it.
    """

    def __init__(
        self, make_client: Callable[[], Client], usecase: Usecase, *, shared: bool = False
    ) -> None:
        self._make_client = make_client
        self._usecase = usecase
        self._shared = shared
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
        if client is not None and not self._shared:
            client.close()
