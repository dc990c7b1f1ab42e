"""The request channel: how every request of one usecase and scope is sent.

:class:`Channel` sits below the session, batch, multipart and large-upload code, which
all send through it, so every request gets the same plumbing: the ``/v1/<endpoint>/
<usecase>/<scope>/<key>`` path, the auth headers, the object's write headers with the
usecase's defaults, metrics, and one error policy. A status >= 400 raises the typed
:class:`RequestError` for it (a 404 is handed back instead when the caller expects
missing objects), and the message names the method, usecase, scope, key and server,
then the status and the server's text.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Protocol

from django_objectstore.client.auth import Credentials
from django_objectstore.client.errors import (
    ObjectstoreConnectionError,
    error_for_status,
    status_text,
)
from django_objectstore.client.metadata import build_metadata_headers
from django_objectstore.client.metrics import MetricsBackend, OperationMetrics
from django_objectstore.client.transports import (
    HttpTransport,
    RequestBody,
    Transport,
    TransportResponse,
)
from django_objectstore.client.usecase import Usecase, validate_compression
from django_objectstore.wire.expiration import ExpirationPolicy
from django_objectstore.wire.paths import quote_path
from django_objectstore.wire.scopes import Scopes, format_scopes

__all__ = ["ERROR_BODY_LIMIT", "Channel", "HasChannel"]

ERROR_BODY_LIMIT = 4096
"""Bytes of an error response's body quoted in the exception message."""


class Channel:
    """Sends the requests of one usecase and scope over one transport."""

    def __init__(
        self,
        transport: Transport,
        usecase: Usecase,
        scopes: Scopes,
        *,
        credentials: Credentials,
        metrics_backend: MetricsBackend | None = None,
    ) -> None:
        self.transport = transport
        self.usecase = usecase
        self.scopes = scopes
        self.credentials = credentials
        self.metrics_backend = metrics_backend
        self.label = f"{usecase.name}/{format_scopes(scopes)}/"
        """``usecase/scope/``: where this channel's objects live, as error messages say."""
        self._prefixes: dict[str, str] = {}
        self._fixed_headers = credentials.fixed_headers()

    def path(self, key: str | None, endpoint: str = "objects") -> str:
        """The percent-encoded request path of ``key`` (or of the scope, for ``None``)."""
        prefix = self._prefixes.get(endpoint)
        if prefix is None:
            prefix = self._prefixes[endpoint] = quote_path(f"/v1/{endpoint}/{self.label}")
        return prefix + quote_path(key) if key else prefix

    def describe(self, method: str, key: str | None, endpoint: str = "objects") -> str:
        """``GET usecase/scope/key on http://server``: how error messages name a request."""
        where = self.label + (key or "")
        if endpoint != "objects":
            where = f"{endpoint} {where}"
        return f"{method} {where} on {self.transport.base_url}"

    def send(
        self,
        method: str,
        key: str | None,
        *,
        endpoint: str = "objects",
        query: str = "",
        headers: Mapping[str, str] | None = None,
        body: RequestBody = None,
        expected_missing: bool = False,
    ) -> TransportResponse:
        """Send one request; typed :class:`RequestError` for statuses >= 400.

        A 404 is returned as a response when ``expected_missing``; a connection failure
        is re-raised as :class:`ObjectstoreConnectionError` naming the request.
        """
        fixed = self._fixed_headers
        if fixed is None:
            all_headers = self.credentials.headers(self.usecase.name, self.scopes)
            if headers:
                all_headers.update(headers)
        else:  # built once per session: no token to refresh, no trace to continue
            all_headers = {**fixed, **headers} if headers else fixed
        try:
            response = self.transport.request(
                method, self.path(key, endpoint), query=query, headers=all_headers, body=body
            )
        except ObjectstoreConnectionError as error:
            # The same class (a timeout stays a timeout), now naming the request.
            raise type(error)(f"{self.describe(method, key, endpoint)} failed: {error}") from error
        status = response.status
        if status >= 400 and not (status == 404 and expected_missing):
            try:
                text = response.read(ERROR_BODY_LIMIT).decode("utf-8", "replace")
            finally:
                response.close()
            message = f"{self.describe(method, key, endpoint)} failed: {status_text(status)}"
            raise error_for_status(status, f"{message}: {text}" if text else message, text)
        return response

    def write_headers(
        self,
        *,
        compression: str | None,
        content_type: str | None,
        metadata: Mapping[str, str] | None,
        expiration_policy: ExpirationPolicy | None,
        origin: str | None,
        filename: str | None,
    ) -> dict[str, str]:
        """The object's write headers; the usecase supplies compression and policy defaults."""
        return build_metadata_headers(
            compression=validate_compression(compression or self.usecase.compression),
            content_type=content_type,
            metadata=metadata,
            expiration_policy=expiration_policy or self.usecase.expiration_policy,
            origin=origin,
            filename=filename,
        )

    def metrics(self, op: str) -> OperationMetrics | None:
        """A collector for ``op``'s metrics, or ``None`` without a metrics backend."""
        backend = self.metrics_backend
        return None if backend is None else OperationMetrics(backend, op, self.usecase.name)

    @contextmanager
    def measure(self, op: str) -> Iterator[None]:
        """Emit ``op``'s metrics when the block ends, also after an error."""
        metrics = self.metrics(op)
        try:
            yield
        finally:
            if metrics is not None:
                metrics.finish()

    def reserve_connections(self, count: int) -> None:
        """Let ``count`` threads send at once and keep their pooled connections."""
        if isinstance(self.transport, HttpTransport):
            self.transport.ensure_pool_size(count)


class HasChannel(Protocol):
    """What batch, multipart and large uploads need of a session: its channel."""

    @property
    def channel(self) -> Channel: ...
