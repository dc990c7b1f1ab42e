"""``ObjectstoreScopeMiddleware``: the request's objectstore scope, for the request only.

Add it to ``MIDDLEWARE`` after the middleware that identifies the tenant (authentication,
your organization middleware). For every request it

1. activates *no scope* on entry, so nothing leaks in from an enclosing context;
2. once the URL is resolved (``process_view``: every request-phase middleware has run
   and ``request.resolver_match`` is set), asks the resolver
   (``OBJECTSTORE["scope_resolver"]``, default
   :func:`django_objectstore.scope.default_scope_resolver`) for the scope and activates it;
3. restores the previous scope when the response leaves the middleware.

The resolved scope (or ``None``) is also kept as ``request.objectstore_scope``; the
download view reads it to tell "no middleware" from "the resolver found no scope" when
it explains a refusal.

The resolver is a plain function ``resolver(request) -> Mapping | None``. Under ASGI the
middleware runs natively async; Django calls ``process_view`` in a worker thread, so a
resolver may use the ORM in both modes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from functools import lru_cache
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponseBase
from django.utils.module_loading import import_string

from django_objectstore.conf import objectstore_settings
from django_objectstore.scope import reset_current_scope, scope_from_mapping, set_current_scope
from django_objectstore.wire.scopes import Scopes

__all__ = ["ObjectstoreScopeMiddleware", "resolve_request_scope"]

Resolver = Callable[[HttpRequest], Mapping[str, object] | None]


@lru_cache(maxsize=8)
def _load_resolver(path: str) -> Resolver:
    resolver: Resolver = import_string(path)
    return resolver


def resolve_request_scope(request: HttpRequest) -> Scopes | None:
    """Run the configured resolver on ``request`` and validate what it returns."""
    path = objectstore_settings.scope_resolver
    resolved = _load_resolver(path)(request)
    if resolved is None:
        return None
    try:
        return scope_from_mapping(resolved)
    except ValueError as error:
        raise ValueError(
            f'OBJECTSTORE["scope_resolver"] ({path}) returned an invalid scope '
            f"{dict(resolved)!r}: {error}"
        ) from error


class ObjectstoreScopeMiddleware:
    sync_capable = True
    async_capable = True

    def __init__(
        self,
        get_response: Callable[[HttpRequest], HttpResponseBase]
        | Callable[[HttpRequest], Awaitable[HttpResponseBase]],
    ) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self.__acall__(request)
        token = set_current_scope(None)
        try:
            return self.get_response(request)
        finally:
            reset_current_scope(token)

    async def __acall__(self, request: HttpRequest) -> HttpResponseBase:
        token = set_current_scope(None)
        try:
            response: HttpResponseBase = await self.get_response(request)  # type: ignore[misc]
            return response
        finally:
            reset_current_scope(token)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., Any],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> None:
        # Setting the variable here is undone by the reset in __call__/__acall__: the
        # token restores the value from before the request, whatever happened since.
        # Under ASGI, asgiref copies this change back into the request's context.
        scopes = resolve_request_scope(request)
        request.objectstore_scope = scopes  # type: ignore[attr-defined]
        set_current_scope(scopes)
        return None
