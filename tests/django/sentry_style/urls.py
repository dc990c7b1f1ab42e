"""URLs with the organization only in the path: the default resolver's scope is then
``{"org": ...}``, the debug files' scope."""

from __future__ import annotations

from django.urls import include, path

from django_objectstore.views import download

urlpatterns = [
    path("organizations/<org_id>/files/<path:name>", download, name="org-file"),
    path("objectstore/", include("django_objectstore.urls")),
]
