"""The storage's error policy: client exceptions become Django's.

| client                           | storage                                         |
|----------------------------------|-------------------------------------------------|
| ``ObjectNotFound`` (404)         | ``FileNotFoundError``                           |
| ``Unauthorized``/``Forbidden``   | ``django.core.exceptions.PermissionDenied``     |
| no answer within the read timeout| ``ObjectstoreTimeoutError`` naming URL, timeout |
| unreachable server, 429, 503     | ``ObjectstoreUnavailableError`` naming base_url |
| any other ``RequestError``       | ``ObjectstoreStorageError`` with ``status``     |
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from types import TracebackType

from django.core.exceptions import PermissionDenied
from urllib3.exceptions import ReadTimeoutError

from django_objectstore.client import (
    Forbidden,
    ObjectNotFound,
    ObjectstoreConnectionError,
    RateLimited,
    RequestError,
    Unauthorized,
)
from django_objectstore.exceptions import (
    ObjectstoreStorageError,
    ObjectstoreTimeoutError,
    ObjectstoreUnavailableError,
)

__all__ = ["StorageDescription", "translate_errors", "translated_error"]


@dataclass(frozen=True)
class StorageDescription:
    """What an error message names: the storage, its usecase, URL and read timeout."""

    alias: str
    usecase: str
    base_url: str
    read_timeout: float | None
    """Seconds; ``None`` when the transport has none (in-process stores)."""


def translate_errors(
    operation: str, name: str, describe: Callable[[], StorageDescription]
) -> AbstractContextManager[None]:
    """Re-raise client exceptions from the block as the storage's exceptions.

    ``describe()`` is only called when something failed.
    """
    return _Translating(operation, name, describe)


class _Translating:
    """What :func:`translate_errors` returns: a plain class rather than a generator
    context manager (or an ABC), as every storage call and every read of a file enters
    one."""

    __slots__ = ("describe", "name", "operation")

    def __init__(
        self, operation: str, name: str, describe: Callable[[], StorageDescription]
    ) -> None:
        self.operation = operation
        self.name = name
        self.describe = describe

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if isinstance(exc, RequestError):
            raise translated_error(exc, self.operation, self.name, self.describe()) from exc


def translated_error(
    exc: RequestError, operation: str, name: str, storage: StorageDescription
) -> Exception:
    """The storage's exception for ``exc`` (raise it ``from exc``).

    For hot paths that catch ``RequestError`` themselves: a ``try`` costs nothing until
    something fails, where entering :func:`translate_errors` costs two calls.
    """
    where = f"{operation} of {name!r} in storage {storage.alias!r} (usecase {storage.usecase!r})"
    details = {
        "alias": storage.alias,
        "usecase": storage.usecase,
        "name": name,
        "operation": operation,
    }
    if isinstance(exc, ObjectNotFound):
        return FileNotFoundError(f"{where}: no such object")
    if isinstance(exc, Unauthorized | Forbidden):
        return PermissionDenied(f"{where} was refused by objectstore: {exc}")
    if isinstance(exc, ObjectstoreConnectionError) and _timed_out(exc):
        waited = f"{storage.read_timeout:g} s" if storage.read_timeout is not None else "too long"
        return ObjectstoreTimeoutError(
            f"{where} failed: objectstore at {storage.base_url} sent nothing for {waited} "
            f"(the read timeout, client_options['timeout_ms']): {exc}",
            timeout=storage.read_timeout,
            **details,
        )
    if isinstance(exc, ObjectstoreConnectionError):
        return ObjectstoreUnavailableError(
            f"{where} failed: cannot reach objectstore at {storage.base_url}: {exc}",
            status=None,
            **details,
        )
    if isinstance(exc, RateLimited) or exc.status == 503:
        return ObjectstoreUnavailableError(
            f"{where} failed: objectstore at {storage.base_url} is unavailable: {exc}",
            status=exc.status,
            **details,
        )
    return ObjectstoreStorageError(f"{where} failed: {exc}", status=exc.status, **details)


def _timed_out(exc: BaseException) -> bool:
    """Whether a read timeout is among the causes (the client does not say itself).

    Only the read timeout: urllib3 counts a refused connection as a connect timeout.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, TimeoutError | ReadTimeoutError):
            return True
        if isinstance(getattr(current, "reason", None), TimeoutError | ReadTimeoutError):
            return True
        current = current.__cause__ or current.__context__
    return False
