from __future__ import annotations

from django.apps import AppConfig


class ExampleConfig(AppConfig):
    name = "testproject.example"
    label = "example"
    verbose_name = "Example: organizations, projects and attachments"
    default_auto_field = "django.db.models.BigAutoField"
