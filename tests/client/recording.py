"""A transport that records the requests it passes to an in-memory server."""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from django_objectstore.client.transports import InProcessTransport, RequestBody, TransportResponse


class RecordingTransport:
    """The in-process transport, remembering each request's method and path."""

    def __init__(self) -> None:
        self.inner = InProcessTransport.for_url(f"memory://{uuid.uuid4().hex}")
        self.base_url = self.inner.base_url
        self.calls: list[tuple[str, str]] = []

    def request(
        self,
        method: str,
        path: str,
        *,
        query: str = "",
        headers: Mapping[str, str] | None = None,
        body: RequestBody = None,
        retry_reads: bool = False,
    ) -> TransportResponse:
        self.calls.append((method, path))
        return self.inner.request(
            method, path, query=query, headers=headers, body=body, retry_reads=retry_reads
        )

    def close(self) -> None:
        self.inner.close()
