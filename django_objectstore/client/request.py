"""Sending one request for a session: auth headers, and statuses mapped to typed errors.

Every session operation, batch and multipart request goes through :func:`send_request`
(via ``Session._request``), so each failure carries the same message shape: the
method, usecase, scope, key and server URL, then the status and the server's text.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from django_objectstore.client.errors import (
    ObjectstoreConnectionError,
    error_for_status,
    status_text,
)
from django_objectstore.client.transport import RequestBody, TransportResponse

if TYPE_CHECKING:
    from django_objectstore.client.session import Session

__all__ = ["ERROR_BODY_LIMIT", "send_request"]

ERROR_BODY_LIMIT = 4096
"""Bytes of an error response's body quoted in the exception message."""


def send_request(
    session: Session,
    method: str,
    key: str | None,
    *,
    endpoint: str,
    query: str,
    headers: Mapping[str, str] | None,
    body: RequestBody,
    expected_missing: bool,
) -> TransportResponse:
    """Send one request; typed :class:`RequestError` for statuses >= 400.

    A 404 is returned as a response when ``expected_missing``; a connection failure
    is re-raised as :class:`ObjectstoreConnectionError` naming the request.
    """
    all_headers = session._auth_headers()
    if headers:
        all_headers.update(headers)
    try:
        response = session.transport.request(
            method, session._path(key, endpoint), query=query, headers=all_headers, body=body
        )
    except ObjectstoreConnectionError as error:
        raise ObjectstoreConnectionError(
            f"{session._describe(method, key, endpoint)} failed: {error}"
        ) from error
    status = response.status
    if status >= 400 and not (status == 404 and expected_missing):
        try:
            text = response.read(ERROR_BODY_LIMIT).decode("utf-8", "replace")
        finally:
            response.close()
        message = f"{session._describe(method, key, endpoint)} failed: {status_text(status)}"
        raise error_for_status(status, f"{message}: {text}" if text else message, text)
    return response
