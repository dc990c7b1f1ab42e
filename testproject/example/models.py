"""Organizations own projects; projects own attachments stored in objectstore.

Each attachment lives in its project's scope (``org=<id>;project=<id>``), taken from
the row itself, so saving works anywhere: in a view, in the admin, in a shell.
"""

from __future__ import annotations

from collections.abc import Mapping

from django.db import models

from django_objectstore.fields import ObjectstoreFileField


class Organization(models.Model):
    name = models.CharField(max_length=100, unique=True)

    def __str__(self) -> str:
        return self.name


class Project(models.Model):
    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="projects"
    )
    name = models.CharField(max_length=100)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="unique_project_name")
        ]

    def __str__(self) -> str:
        return f"{self.organization} / {self.name}"


def attachment_scope(attachment: Attachment) -> Mapping[str, object]:
    """The scope of an attachment's object: its project's organization and project."""
    return {"org": attachment.project.organization_id, "project": attachment.project_id}


class Attachment(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="attachments")
    file = ObjectstoreFileField(storage="attachments", scope=attachment_scope, delete_orphans=True)
    original_name = models.CharField(max_length=255, blank=True)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-uploaded_at", "-id"]

    def __str__(self) -> str:
        return self.original_name or self.file.name or ""


class Report(models.Model):
    """A file without a ``scope`` callable: it goes to the scope active when it is saved
    (the request's, or a ``with objectstore_scope(...)`` block in a task)."""

    title = models.CharField(max_length=100)
    file = ObjectstoreFileField()

    def __str__(self) -> str:
        return self.title


class VisibleNoteManager(models.Manager["Note"]):
    """The default manager of notes: soft-deleted rows are hidden."""

    def get_queryset(self) -> models.QuerySet[Note]:
        return super().get_queryset().filter(deleted=False)


def note_scope(note: Note) -> Mapping[str, object]:
    return {"org": note.project.organization_id, "project": note.project_id}


class Note(models.Model):
    """A file deleted softly: ``deleted`` hides the row from ``Note.objects``, but the row
    still exists and still references its object (counted through the base manager)."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="notes")
    file = ObjectstoreFileField(storage="attachments", scope=note_scope)
    deleted = models.BooleanField(default=False)

    objects = VisibleNoteManager()

    def __str__(self) -> str:
        return self.file.name or ""


class KeepaliveRun(models.Model):
    """One press of a project page's "Keep alive" button: what the keepalive job found."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="keepalive_runs")
    ran_at = models.DateTimeField(auto_now_add=True)
    checked = models.PositiveIntegerField(default=0)
    refreshed = models.PositiveIntegerField(default=0)
    missing = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-ran_at", "-id"]

    def __str__(self) -> str:
        return (
            f"checked {self.checked}, refreshed {self.refreshed}, missing {self.missing}, "
            f"failed {self.failed}"
        )
