"""Errors the protocol core turns into HTTP responses."""

from __future__ import annotations

import json
from typing import Literal

from django_objectstore.server.messages import Response

BodyKind = Literal["json", "text", "empty"]


class ProtocolError(Exception):
    """A failure with the status and body shape the real server uses for it."""

    def __init__(
        self,
        status: int,
        detail: str = "",
        *,
        body: BodyKind = "json",
        causes: list[str] | None = None,
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.body = body
        self.causes = causes or []
        self.headers = headers or []

    def to_json(self) -> bytes:
        document: dict[str, object] = {"detail": self.detail}
        if self.causes:
            document["causes"] = self.causes
        return json.dumps(document).encode()

    def to_response(self) -> Response:
        headers = list(self.headers)
        if self.body == "json":
            payload = self.to_json()
            headers.append(("content-type", "application/json"))
        elif self.body == "text":
            payload = self.detail.encode()
            headers.append(("content-type", "text/plain; charset=utf-8"))
        else:
            payload = b""
        headers.append(("content-length", str(len(payload))))
        return Response(self.status, headers, [payload] if payload else [])
