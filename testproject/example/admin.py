from __future__ import annotations

from django.contrib import admin

from testproject.example.models import Attachment, Organization, Project


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name", "organization"]
    list_filter = ["organization"]


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["original_name", "project", "file", "uploaded_at"]
    list_filter = ["project__organization"]


# Report is not registered: its files take the request's scope, and admin pages have none.
