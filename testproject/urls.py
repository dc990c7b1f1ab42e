"""URLs of the example site.

The download view is mounted twice: under each project (the scope comes from the URL,
see ``example/scopes.py``) for the site's own pages, and at ``/objectstore/`` where the
storage's ``url()`` points (used by the admin's file links; staff only).
"""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from django_objectstore.views import download
from testproject.example import views

project = "orgs/<int:org_id>/projects/<int:project_id>/"

urlpatterns = [
    path("", views.index, name="index"),
    path(project, views.project_detail, name="project"),
    path(f"{project}files/<path:name>", download, name="project-file"),
    path(
        f"{project}attachments/<int:pk>/delete/",
        views.attachment_delete,
        name="attachment-delete",
    ),
    path("objectstore/", include("django_objectstore.urls")),
    path("admin/", admin.site.urls),
]
