"""The storage's error policy: client exceptions become Django's.

| client                         | storage                                    |
|--------------------------------|--------------------------------------------|
| ``ObjectNotFound`` (404)       | ``FileNotFoundError``                      |
| ``Unauthorized``/``Forbidden`` | ``django.core.exceptions.PermissionDenied`` |
| unreachable server             | ``ObjectstoreStorageError`` naming base_url |
| any other ``RequestError``     | ``ObjectstoreStorageError`` with ``status`` |
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.core.exceptions import PermissionDenied

from django_objectstore.client import (
    Forbidden,
    ObjectNotFound,
    ObjectstoreConnectionError,
    RequestError,
    Unauthorized,
)
from django_objectstore.exceptions import ObjectstoreStorageError

__all__ = ["translate_errors"]


@contextmanager
def translate_errors(
    operation: str, name: str, describe: Callable[[], tuple[str, str, str]]
) -> Iterator[None]:
    """Re-raise client exceptions from the block as the storage's exceptions.

    ``describe()`` returns ``(alias, usecase, base_url)`` for the message; it is only
    called when something failed.
    """
    try:
        yield
    except RequestError as exc:
        raise _translate(exc, operation, name, *describe()) from exc


def _translate(
    exc: RequestError, operation: str, name: str, alias: str, usecase: str, base_url: str
) -> Exception:
    where = f"{operation} of {name!r} in storage {alias!r} (usecase {usecase!r})"
    if isinstance(exc, ObjectNotFound):
        return FileNotFoundError(f"{where}: no such object")
    if isinstance(exc, Unauthorized | Forbidden):
        return PermissionDenied(f"{where} was refused by objectstore: {exc}")
    if isinstance(exc, ObjectstoreConnectionError):
        message = f"{where} failed: cannot reach objectstore at {base_url}: {exc}"
    else:
        message = f"{where} failed: {exc}"
    return ObjectstoreStorageError(
        message, alias=alias, usecase=usecase, name=name, operation=operation, status=exc.status
    )
