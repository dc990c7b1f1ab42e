"""An in-process objectstore for endpoint tests: the protocol core over a memory backend.

Requests go through ``App.handle`` exactly as the HTTP adapter sends them (raw path,
raw query, header names as sent, streamed body). The backend records every write so
tests can assert that a rejected request stored nothing.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django_objectstore.server.app import App, create_app
from django_objectstore.server.backends.base import Backend
from django_objectstore.server.backends.memory import MemoryBackend
from django_objectstore.server.backends.records import (
    DeadlineRenewal,
    ObjectHead,
    ObjectLocation,
    ObjectMetadata,
    StoredObject,
)
from django_objectstore.server.backends.tiered import TieredBackend
from django_objectstore.server.backends.uploads import UploadStore
from django_objectstore.server.config import AuthConfig, ServerConfig
from django_objectstore.server.messages import BodyReader, BytesBody, Headers, Request
from django_objectstore.wire.timestamps import parse_timestamp

BASE = "/v1/objects/test-usecase/org=42;project=1337"
BACKENDS = ["memory", "tiered"]


START = datetime(2026, 3, 1, 12, 0, 0, 250000, tzinfo=UTC)
"""Where the harness clock starts: a fraction into a second, like a real clock."""


class FrozenClock:
    """A clock that moves only when told, so "the same second" is exact in tests."""

    def __init__(self, start: datetime = START) -> None:
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta) -> None:
        with self._lock:
            self._now += delta


class DelegatingBackend:
    """A backend that hands every call to ``inner``; test wrappers override what they watch."""

    def __init__(self, inner: Backend) -> None:
        self.inner = inner

    def put(self, location: ObjectLocation, metadata: ObjectMetadata, body: BodyReader) -> int:
        return self.inner.put(location, metadata, body)

    def get(self, location: ObjectLocation) -> StoredObject | None:
        return self.inner.get(location)

    def head(self, location: ObjectLocation) -> ObjectHead | None:
        return self.inner.head(location)

    def update_metadata(
        self,
        location: ObjectLocation,
        update: Callable[[ObjectMetadata], ObjectMetadata | None],
    ) -> ObjectMetadata | None:
        return self.inner.update_metadata(location, update)

    def renew_many(self, renewals: Sequence[tuple[ObjectLocation, DeadlineRenewal]]) -> None:
        self.inner.renew_many(renewals)

    def delete(self, location: ObjectLocation) -> None:
        self.inner.delete(location)

    def sweep(self, now: datetime) -> int:
        return self.inner.sweep(now)

    @property
    def uploads(self) -> UploadStore:
        return self.inner.uploads


class RecordingBackend(DelegatingBackend):
    """Wraps a real backend, recording the calls that change something."""

    def __init__(self, inner: Backend | None = None) -> None:
        super().__init__(inner if inner is not None else MemoryBackend())
        self.writes: list[str] = []

    def put(self, location: ObjectLocation, metadata: ObjectMetadata, body: BodyReader) -> int:
        self.writes.append(f"put {location.key}")
        return self.inner.put(location, metadata, body)

    def update_metadata(
        self,
        location: ObjectLocation,
        update: Callable[[ObjectMetadata], ObjectMetadata | None],
    ) -> ObjectMetadata | None:
        changed: list[bool] = []

        def recording(current: ObjectMetadata) -> ObjectMetadata | None:
            new = update(current)
            changed.append(new is not None)
            return new

        result = self.inner.update_metadata(location, recording)
        if any(changed):
            self.writes.append(f"update {location.key}")
        return result

    def renew_many(self, renewals: Sequence[tuple[ObjectLocation, DeadlineRenewal]]) -> None:
        for location, renewal in renewals:
            self.update_metadata(location, renewal)

    def delete(self, location: ObjectLocation) -> None:
        self.writes.append(f"delete {location.key}")
        self.inner.delete(location)

    def stored(self, location: ObjectLocation) -> ObjectMetadata | None:
        """The stored metadata, expired or not, or ``None``."""
        found = self.inner.get(location)
        if found is None:
            return None
        found.close()
        return found.metadata


def make_backend(kind: str, root: Path) -> Backend:
    """``memory`` or ``tiered`` (rooted at ``root``, without fsync for speed)."""
    if kind == "memory":
        return MemoryBackend()
    return TieredBackend(root, fsync=False)


@dataclass
class Result:
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    names: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.names = [name for name, _ in self.headers]

    def header(self, name: str) -> str | None:
        values = [value for key, value in self.headers if key == name]
        return values[-1] if values else None

    def timestamp(self, name: str) -> datetime:
        value = self.header(name)
        assert value is not None, f"missing {name}"
        return parse_timestamp(value)

    def json(self) -> object:
        return json.loads(self.body)


class Harness:
    """One app, one clock, one recording backend."""

    def __init__(self, config: ServerConfig | None = None, backend: Backend | None = None) -> None:
        self.clock = FrozenClock()
        self.backend = RecordingBackend(backend)
        self.config = config or ServerConfig(auth=AuthConfig(enforce=False))
        self.app: App = create_app(self.config, clock=self.clock, backend=self.backend)

    def request(
        self,
        method: str,
        path: str,
        *,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
        query: str = "",
    ) -> Result:
        request = Request(method, path, query, Headers(headers), BytesBody(body))
        response = self.app.handle(request)
        try:
            payload = b"".join(response.body)
        finally:
            response.close()
        return Result(response.status, response.headers, payload)

    def put(self, key: str, body: bytes = b"data", **headers: str) -> Result:
        pairs = [(name.replace("_", "-"), value) for name, value in headers.items()]
        result = self.request("PUT", f"{BASE}/{key}", headers=pairs, body=body)
        assert result.status == 200, result.body
        return result

    def get(self, key: str, headers: Iterable[tuple[str, str]] = ()) -> Result:
        return self.request("GET", f"{BASE}/{key}", headers=headers)

    def head(self, key: str) -> Result:
        return self.request("HEAD", f"{BASE}/{key}")

    def patch(self, key: str, document: bytes, content_type: str = "application/json") -> Result:
        headers = [("content-type", content_type)] if content_type else []
        return self.request("PATCH", f"{BASE}/{key}", headers=headers, body=document)

    def advance(self, **delta: float) -> None:
        self.clock.advance(timedelta(**delta))
