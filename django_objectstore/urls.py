"""URLs of the download view: ``path("files/", include("django_objectstore.urls"))``.

``reverse("django_objectstore:download", kwargs={"name": name})`` is the proxy URL of a
stored file; add ``?storage=<alias>`` for a ``STORAGES`` entry other than the default.
"""

from __future__ import annotations

from django.urls import path

from django_objectstore.views import download

app_name = "django_objectstore"

urlpatterns = [
    path("<path:name>", download, name="download"),
]
