"""ObjectstoreScopeMiddleware: the request's scope for the request only, sync and async."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest
from asgiref.sync import async_to_sync, iscoroutinefunction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.test import AsyncClient, Client, override_settings
from django.urls import path

from django_objectstore.middleware import ObjectstoreScopeMiddleware
from django_objectstore.scope import get_current_scope, objectstore_scope
from django_objectstore.wire.scopes import format_scopes

pytestmark = pytest.mark.urls(__name__)


def _scope_text() -> str | None:
    scopes = get_current_scope()
    return None if scopes is None else format_scopes(scopes)


def scope_view(request: HttpRequest, **kwargs: object) -> JsonResponse:
    return JsonResponse({"scope": _scope_text()})


async def async_scope_view(request: HttpRequest, **kwargs: object) -> JsonResponse:
    return JsonResponse({"scope": _scope_text()})


def from_header(request: HttpRequest) -> Mapping[str, object] | None:
    tenant = request.headers.get("X-Tenant")
    return {"tenant": tenant} if tenant else None


def invalid_scope(request: HttpRequest) -> Mapping[str, object] | None:
    return {"org": "not/valid"}


urlpatterns = [
    path("orgs/<int:org_id>/projects/<int:project_id>/", scope_view),
    path("orgs/<int:org_id>/", scope_view),
    path("async/orgs/<int:org_id>/projects/<int:project_id>/", async_scope_view),
    path("plain/", scope_view),
]


def _scope_of(response: Any) -> object:
    assert response.status_code == 200
    return json.loads(response.content)["scope"]


def test_scope_comes_from_the_url_through_the_configured_resolver() -> None:
    assert _scope_of(Client().get("/orgs/4/projects/2/")) == "org=4;project=2"
    assert _scope_of(Client().get("/orgs/4/")) == "org=4"


def test_request_without_a_resolved_scope_has_no_scope() -> None:
    assert _scope_of(Client().get("/plain/")) is None


def test_scope_is_reset_after_the_request() -> None:
    Client().get("/orgs/4/projects/2/")
    assert get_current_scope() is None


def test_request_does_not_inherit_an_enclosing_scope() -> None:
    with objectstore_scope(org=99):
        assert _scope_of(Client().get("/plain/")) is None
        assert get_current_scope() == (("org", "99"),)


@override_settings(OBJECTSTORE={"scope_resolver": f"{__name__}.from_header"})
def test_custom_resolver_from_settings_is_used() -> None:
    response = Client().get("/plain/", headers={"X-Tenant": "acme"})
    assert _scope_of(response) == "tenant=acme"


@override_settings(OBJECTSTORE={"scope_resolver": f"{__name__}.invalid_scope"})
def test_invalid_scope_from_the_resolver_names_the_resolver() -> None:
    with pytest.raises(ValueError, match="invalid_scope"):
        Client().get("/plain/")


def test_async_request_gets_its_scope_and_resets_it() -> None:
    async def run() -> tuple[Any, object]:
        response = await AsyncClient().get("/async/orgs/7/projects/8/")
        return response, get_current_scope()

    response, after = async_to_sync(run)()
    assert _scope_of(response) == "org=7;project=8"
    assert after is None


def test_sync_view_under_async_handler_sees_the_scope() -> None:
    response = async_to_sync(AsyncClient().get)("/orgs/3/projects/1/")
    assert _scope_of(response) == "org=3;project=1"


def test_middleware_is_a_coroutine_function_in_front_of_an_async_handler() -> None:
    async def get_response(request: HttpRequest) -> HttpResponse:
        return HttpResponse()

    def sync_get_response(request: HttpRequest) -> HttpResponse:
        return HttpResponse()

    assert iscoroutinefunction(ObjectstoreScopeMiddleware(get_response))
    assert not iscoroutinefunction(ObjectstoreScopeMiddleware(sync_get_response))
