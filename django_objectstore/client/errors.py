"""The exceptions the client raises.

One error policy for the whole client: every failed request raises a
:class:`RequestError` (or a subclass chosen by status) whose message names the method,
usecase, scope, key and server, e.g.::

    GET attachments/org=42;project=1337/abc on http://127.0.0.1:8888 failed: 403 Forbidden: ...

Bad arguments raise :class:`ValueError` before any request is sent.
"""

from __future__ import annotations

from http import HTTPStatus


class RequestError(Exception):
    """A request failed; ``status`` is the HTTP status (``None`` if there was no response)."""

    def __init__(self, message: str, status: int | None = None, body: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.body = body

    @property
    def response(self) -> str | None:
        """The response body text (the official client's name for :attr:`body`)."""
        return self.body


class Unauthorized(RequestError):
    """401: the token or signature is malformed, expired or signed by an unknown key."""


class Forbidden(RequestError):
    """403: the credentials do not grant this operation on this usecase and scope."""


class ObjectNotFound(RequestError):
    """404 where absence is an error (``extend_expiry``); ``get``/``head`` return ``None``."""


class Conflict(RequestError):
    """409: e.g. an expiry extension on a non-expiring object."""


ExpiryExtensionRejected = Conflict
"""The official client's name for a rejected expiry extension (409)."""


class RateLimited(RequestError):
    """429: the server is at capacity or the usecase hit a rate limit; retry later."""


class ServerUnavailable(RequestError):
    """5xx: the server failed or is unavailable."""


class ObjectstoreConnectionError(RequestError, ConnectionError):
    """The server could not be reached (refused, DNS, TLS, timeout, connection lost).

    A :class:`RequestError` with ``status=None`` so that ``except RequestError`` covers
    every failure of a call, and a builtin :class:`ConnectionError` for generic handlers.
    """


class ObjectstoreTimeoutError(ObjectstoreConnectionError, TimeoutError):
    """The server sent nothing for longer than the read timeout (``timeout_ms``).

    Its message names the URL and the timeout. Also a builtin :class:`TimeoutError`.
    """


_BY_STATUS: dict[int, type[RequestError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: ObjectNotFound,
    409: Conflict,
    429: RateLimited,
}


def error_for_status(status: int, message: str, body: str | None = None) -> RequestError:
    """The typed error for ``status`` (``RequestError`` for statuses without a subclass)."""
    cls = _BY_STATUS.get(status)
    if cls is None:
        cls = ServerUnavailable if status >= 500 else RequestError
    return cls(message, status, body)


def status_text(status: int) -> str:
    """``403 Forbidden``; just the number for unknown codes."""
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)
