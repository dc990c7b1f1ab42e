"""The active objectstore scope: one context variable, set per request or per block.

A scope is the tenant an object belongs to, e.g. ``org=42;project=1337``. While a scope
is active, the storage refuses to open, describe or delete files of any other scope
(``PermissionDenied``); with no active scope (management commands, tasks outside any
``objectstore_scope`` block) every name is reachable, because names carry their scope.

- :class:`~django_objectstore.middleware.ObjectstoreScopeMiddleware` sets it for each
  request from the configured resolver (``OBJECTSTORE["scope_resolver"]``).
- :func:`objectstore_scope` sets it for a block of code: tasks, shells, tests.

The value lives in a :class:`contextvars.ContextVar`, so threads and asyncio tasks each
see their own scope and nothing leaks from one request into the next.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from django_objectstore.wire.scopes import Scopes, make_scopes

__all__ = [
    "default_scope_resolver",
    "get_current_scope",
    "objectstore_scope",
    "reset_current_scope",
    "scope_from_mapping",
    "set_current_scope",
]

_current: contextvars.ContextVar[Scopes | None] = contextvars.ContextVar(
    "django_objectstore_scope", default=None
)


def get_current_scope() -> Scopes | None:
    """The active scope, or ``None`` when no scope is active."""
    return _current.get()


def set_current_scope(scopes: Scopes | None) -> contextvars.Token[Scopes | None]:
    """Activate ``scopes`` (``None``: no scope); pass the token to :func:`reset_current_scope`."""
    return _current.set(scopes)


def reset_current_scope(token: contextvars.Token[Scopes | None]) -> None:
    """Restore the scope that was active before the matching :func:`set_current_scope`."""
    _current.reset(token)


def scope_from_mapping(scope: Mapping[str, object]) -> Scopes:
    """Validate ``{"org": 42, "project": 1337}`` into :data:`Scopes`, order kept.

    Model instances are reduced to their primary key, so ``{"org": request.organization}``
    works. ``ValueError`` names the offending part.
    """
    return make_scopes({name: _scope_value(value) for name, value in scope.items()})


@contextmanager
def objectstore_scope(**scope: object) -> Iterator[Scopes]:
    """Make ``scope`` the active scope inside the ``with`` block.

    ``with objectstore_scope(org=42, project=1337):`` in a task or a shell; the block
    yields the validated :data:`Scopes`. ``objectstore_scope()`` with no arguments
    activates the empty scope (``_``), which is a scope of its own, not "no scope".
    """
    scopes = scope_from_mapping(scope)
    token = set_current_scope(scopes)
    try:
        yield scopes
    finally:
        reset_current_scope(token)


def default_scope_resolver(request: Any) -> Mapping[str, object] | None:
    """The default ``OBJECTSTORE["scope_resolver"]``: org and project of the request.

    Looks, in order, at

    1. ``request.organization`` and ``request.project`` (set by your own middleware or
       view mixins; model instances are reduced to their primary key, plain values are
       used as they are), then
    2. the URL's keyword arguments ``organization_id``/``org_id`` and ``project_id``
       (``request.resolver_match.kwargs``, available once the URL is resolved, i.e. in
       views, not in middleware that runs before routing).

    Returns ``{"org": ..., "project": ...}`` with whichever of the two were found, or
    ``None`` when neither was: the request then has no scope.
    """
    found: dict[str, object] = {}
    kwargs: Mapping[str, object] = {}
    match = getattr(request, "resolver_match", None)
    if match is not None:
        kwargs = match.kwargs
    org = _first(getattr(request, "organization", None), kwargs, "organization_id", "org_id")
    project = _first(getattr(request, "project", None), kwargs, "project_id")
    if org is not None:
        found["org"] = org
    if project is not None:
        found["project"] = project
    return found or None


def _first(value: object, kwargs: Mapping[str, object], *names: str) -> object:
    if value is not None:
        return _scope_value(value)
    for name in names:
        if kwargs.get(name) is not None:
            return kwargs[name]
    return None


def _scope_value(value: object) -> object:
    """A model instance (or any object with ``pk``/``id``) stands for its key."""
    if isinstance(value, str | int):
        return value
    for attribute in ("pk", "id"):
        key = getattr(value, attribute, None)
        if key is not None:
            return key
    return value
