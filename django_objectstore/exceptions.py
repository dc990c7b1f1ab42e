"""Exceptions raised by the Django layer.

The storage never lets a client exception escape: a missing object becomes
:class:`FileNotFoundError`, a refused one :class:`django.core.exceptions.PermissionDenied`,
and everything else (server errors, an unreachable server, rejected metadata) an
:class:`ObjectstoreStorageError` whose message names the storage, usecase, file name and
cause, with the client exception kept as ``__cause__``.
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


class ObjectstoreFieldError(Exception):
    """Fields cannot be used as asked: no ``ObjectstoreFileField`` matches a label, or a
    field's storage is not an ``ObjectstoreStorage``.

    Raised by the jobs behind the management commands, which report it as a
    ``CommandError``.
    """
