"""URLs of the example site.

Every page links files through ``file.url``, which points at the download view mounted
at ``/objectstore/``. It is also mounted under each project (the scope comes from the
URL, see ``example/scopes.py``), for links an app builds with the scope in the path.
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
    path(f"{project}keepalive/", views.project_keepalive, name="project-keepalive"),
    path("objectstore/", include("django_objectstore.urls")),
    path("admin/", admin.site.urls),
]
