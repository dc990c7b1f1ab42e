"""Refused downloads say what to fix under DEBUG, and nothing otherwise."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.test import Client, override_settings
from django.urls import reverse

from django_objectstore.storage import signed_urls
from testproject.example.models import Attachment, Project

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("attachments_storage")]

NO_HOOK = {"download_permission": None}
NO_HOOK_URL_SCOPE = {**NO_HOOK, "scope_resolver": "testproject.example.scopes.scope_from_url"}
WITHOUT_MIDDLEWARE = [m for m in settings.MIDDLEWARE if "objectstore" not in m]


def _attach(project: Project) -> Attachment:
    return Attachment.objects.create(project=project, file=ContentFile(b"x", "a.txt"))


def _project_url(project: Project, name: str) -> str:
    return reverse(
        "project-file",
        kwargs={"org_id": project.organization_id, "project_id": project.pk, "name": name},
    )


def _get(url: str, *, debug: bool, **overrides: Any) -> Any:
    with override_settings(DEBUG=debug, **overrides):
        return Client().get(url)


def _cases(project: Project, monkeypatch: pytest.MonkeyPatch) -> dict[str, tuple[Any, ...]]:
    attachment = _attach(project)
    signed = attachment.file.url
    unsigned = signed.split("?", 1)[0]
    other = Project.objects.create(organization=project.organization, name="Other")
    foreign = _attach(other)
    return {
        "middleware": (
            unsigned,
            403,
            "ObjectstoreScopeMiddleware is not installed",
            {"OBJECTSTORE": NO_HOOK, "MIDDLEWARE": WITHOUT_MIDDLEWARE},
        ),
        "resolver": (
            unsigned,
            403,
            "(testproject.example.scopes.scope_from_url) returned no scope",
            {"OBJECTSTORE": NO_HOOK_URL_SCOPE},
        ),
        "expired": (signed, 403, "signature expired at", {"OBJECTSTORE": NO_HOOK}),
        "other scope": (
            _project_url(project, str(foreign.file.name)),
            404,
            f"belongs to scope 'org={project.organization_id};project={other.pk}', but this "
            f"request's scope is 'org={project.organization_id};project={project.pk}'",
            {"OBJECTSTORE": NO_HOOK_URL_SCOPE},
        ),
        "hook": (
            unsigned,
            403,
            "OBJECTSTORE['download_permission'] (testproject.example.scopes.can_download) "
            "refused this request",
            {},
        ),
    }


CASES = ["middleware", "resolver", "expired", "other scope", "hook"]


@pytest.mark.parametrize("case", CASES)
def test_debug_refusals_say_what_to_fix(
    project: Project, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    url, status, explanation, overrides = _cases(project, monkeypatch)[case]
    if case == "expired":
        monkeypatch.setattr(signed_urls, "now", lambda: 4_000_000_000)
    response = _get(url, debug=True, **overrides)
    assert response.status_code == status
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert explanation in response.content.decode()


@pytest.mark.parametrize("case", CASES)
def test_refusals_leak_nothing_without_debug(
    project: Project, monkeypatch: pytest.MonkeyPatch, case: str
) -> None:
    url, status, _explanation, overrides = _cases(project, monkeypatch)[case]
    if case == "expired":
        monkeypatch.setattr(signed_urls, "now", lambda: 4_000_000_000)
    response = _get(url, debug=False, **overrides)
    assert response.status_code == status
    body = response.content.decode()
    for secret in ("scope", "signature", "OBJECTSTORE", "Middleware", "org="):
        assert secret not in body
