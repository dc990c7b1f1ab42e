"""The example site's scope resolver and download permission hook.

Pages of a project live under ``/orgs/<org_id>/projects/<project_id>/``, so the scope
is read from the URL. A real site must also check here that ``request.user`` belongs to
that organization and return ``None`` (no scope: nothing is reachable) otherwise; the
example has no accounts, so every visitor may see every demo project.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.http import HttpRequest

from django_objectstore.scope import get_current_scope


def scope_from_url(request: HttpRequest) -> Mapping[str, object] | None:
    match = request.resolver_match
    kwargs = match.kwargs if match is not None else {}
    if "org_id" not in kwargs:
        return None
    scope: dict[str, object] = {"org": kwargs["org_id"]}
    if "project_id" in kwargs:
        scope["project"] = kwargs["project_id"]
    return scope


def can_download(request: HttpRequest, name: str) -> bool:
    """Scoped requests already passed the scope check; unscoped ones (the admin's file
    links under ``/objectstore/``) are for staff only."""
    if get_current_scope() is not None:
        return True
    return bool(getattr(request.user, "is_staff", False))
