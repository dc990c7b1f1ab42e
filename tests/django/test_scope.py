"""The scope context variable, the context manager and the default resolver."""

from __future__ import annotations

import threading
from types import SimpleNamespace

import pytest
from django.test import RequestFactory

from django_objectstore.scope import (
    default_scope_resolver,
    get_current_scope,
    objectstore_scope,
    reset_current_scope,
    set_current_scope,
)


def test_no_scope_is_active_by_default() -> None:
    assert get_current_scope() is None


def test_objectstore_scope_activates_the_scope_inside_the_block_only() -> None:
    with objectstore_scope(org=42, project=1337) as scopes:
        assert scopes == (("org", "42"), ("project", "1337"))
        assert get_current_scope() == scopes
    assert get_current_scope() is None


def test_nested_objectstore_scope_restores_the_outer_scope() -> None:
    with objectstore_scope(org=1):
        with objectstore_scope(org=2):
            assert get_current_scope() == (("org", "2"),)
        assert get_current_scope() == (("org", "1"),)


def test_objectstore_scope_restores_the_scope_after_an_exception() -> None:
    with pytest.raises(RuntimeError), objectstore_scope(org=1):
        raise RuntimeError
    assert get_current_scope() is None


def test_objectstore_scope_without_arguments_is_the_empty_scope() -> None:
    with objectstore_scope() as scopes:
        assert scopes == ()
        assert get_current_scope() == ()


def test_objectstore_scope_reduces_objects_to_their_primary_key() -> None:
    with objectstore_scope(org=SimpleNamespace(pk=7), project=SimpleNamespace(id=8)) as scopes:
        assert scopes == (("org", "7"), ("project", "8"))


def test_objectstore_scope_rejects_invalid_values() -> None:
    with pytest.raises(ValueError, match="org/x"), objectstore_scope(org="org/x"):
        pass  # pragma: no cover


def test_scope_is_not_shared_with_other_threads() -> None:
    seen: list[object] = []
    with objectstore_scope(org=1):
        thread = threading.Thread(target=lambda: seen.append(get_current_scope()))
        thread.start()
        thread.join()
    assert seen == [None]


def test_set_and_reset_current_scope() -> None:
    token = set_current_scope((("org", "3"),))
    assert get_current_scope() == (("org", "3"),)
    reset_current_scope(token)
    assert get_current_scope() is None


def test_default_resolver_reads_organization_and_project_of_the_request() -> None:
    request = RequestFactory().get("/")
    request.organization = SimpleNamespace(pk=42)  # type: ignore[attr-defined]
    request.project = 1337  # type: ignore[attr-defined]
    assert default_scope_resolver(request) == {"org": 42, "project": 1337}


def test_default_resolver_falls_back_to_url_keyword_arguments() -> None:
    request = RequestFactory().get("/")
    request.resolver_match = SimpleNamespace(  # type: ignore[assignment]
        kwargs={"organization_id": 5, "project_id": 6}
    )
    assert default_scope_resolver(request) == {"org": 5, "project": 6}


def test_default_resolver_returns_none_without_organization_or_project() -> None:
    assert default_scope_resolver(RequestFactory().get("/")) is None
