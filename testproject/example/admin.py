from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html

from testproject.example.models import Attachment, KeepaliveRun, Organization, Project


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["name", "organization"]
    list_filter = ["organization"]


@admin.register(Attachment)
class AttachmentAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Changing an attachment's project moves its file into the new project's scope."""

    list_display = ["original_name", "project", "download", "uploaded_at"]
    list_filter = ["project__organization"]

    @admin.display(description="file")
    def download(self, attachment: Attachment) -> str:
        if not attachment.file:
            return "-"
        return format_html('<a href="{}">download</a>', attachment.file.url)


@admin.register(KeepaliveRun)
class KeepaliveRunAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["project", "ran_at", "checked", "refreshed", "missing", "failed"]


# Report is not registered: its files take the request's scope, and admin pages have none.
