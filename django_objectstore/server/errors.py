"""Errors the protocol core turns into HTTP responses."""

from __future__ import annotations

import errno
import json
from collections.abc import Iterator
from contextlib import contextmanager
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


INSUFFICIENT_STORAGE = 507
"""The status for a full disk (RFC 4918 §11.5); see ``docs/storage-engine.md``."""
_FULL = frozenset({errno.ENOSPC, errno.EDQUOT})


def is_disk_full(error: BaseException) -> bool:
    """Whether ``error`` is the storage running out of space (``ENOSPC``, ``EDQUOT``)."""
    return isinstance(error, OSError) and error.errno in _FULL


@contextmanager
def disk_full_as_507() -> Iterator[None]:
    """Turn a full disk during a write into ``ProtocolError(507)`` whose body says so.

    Other failures pass through unchanged (the app answers them with a generic 500).
    The write has already removed its draft: nothing of it stays on disk.
    """
    try:
        yield
    except OSError as error:
        if not is_disk_full(error):
            raise
        raise ProtocolError(
            INSUFFICIENT_STORAGE,
            "service error: insufficient storage: the disk is full; "
            "nothing was stored, retry once space is freed",
            causes=[error.strerror or str(error)],
        ) from error
