"""Exceptions raised by the Django layer.

The storage never lets a client exception escape: a missing object becomes
:class:`FileNotFoundError`, a refused one :class:`django.core.exceptions.PermissionDenied`,
and everything else (server errors, an unreachable server, rejected metadata) an
:class:`ObjectstoreStorageError` whose message names the storage, usecase, file name and
cause, with the client exception kept as ``__cause__``. When objectstore cannot be
reached, does not answer within the read timeout, or answers that it is overloaded
(429, 503), the error is an :class:`ObjectstoreUnavailableError` (an
:class:`ObjectstoreTimeoutError` for a timeout), which the download view answers with
**503** and ``Retry-After``.
"""

from __future__ import annotations


class ObjectstoreStorageError(OSError):
    """A storage operation failed for a reason other than a missing or refused object.

    An :class:`OSError`, so code that already handles I/O failures of other storages
    handles this one too. ``alias``, ``usecase``, ``name`` and ``operation`` say what
    failed; ``status`` is the HTTP status when the server answered (``None`` when it could
    not be reached).
    """

    def __init__(
        self,
        message: str,
        *,
        alias: str | None = None,
        usecase: str | None = None,
        name: str | None = None,
        operation: str | None = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message)
        self.alias = alias
        self.usecase = usecase
        self.name = name
        self.operation = operation
        self.status = status

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class ObjectstoreUnavailableError(ObjectstoreStorageError):
    """objectstore could not be reached (refused, DNS, TLS, connection lost), did not
    answer in time, or answered that it is overloaded (429, 503): worth retrying later.
    ``status`` is ``None`` when no answer came."""


class ObjectstoreTimeoutError(ObjectstoreUnavailableError, TimeoutError):
    """objectstore accepted the connection but sent nothing for longer than the read
    timeout; ``timeout`` is that timeout in seconds. Also a builtin :class:`TimeoutError`."""

    def __init__(
        self,
        message: str,
        *,
        timeout: float | None = None,
        alias: str | None = None,
        usecase: str | None = None,
        name: str | None = None,
        operation: str | None = None,
    ) -> None:
        super().__init__(
            message, alias=alias, usecase=usecase, name=name, operation=operation, status=None
        )
        self.timeout = timeout


class ObjectstoreFieldError(Exception):
    """Fields cannot be used as asked: no ``ObjectstoreFileField`` matches a label, or a
    field's storage is not an ``ObjectstoreStorage``.

    Raised by the jobs behind the management commands, which report it as a
    ``CommandError``.
    """
