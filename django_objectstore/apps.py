"""The app config: registers the system checks."""

from __future__ import annotations

from django.apps import AppConfig


class DjangoObjectstoreConfig(AppConfig):
    name = "django_objectstore"
    label = "django_objectstore"
    verbose_name = "Objectstore"

    def ready(self) -> None:
        # Not at module level: the checks import the field and the storage, which need
        # settings and the app registry, and this module is imported to build it.
        from django_objectstore import checks

        checks.register()
