"""Pages of the example site: projects, their attachments, upload, delete, keepalive.

Every download link is ``attachment.file.url`` (the storage's URL, as in the admin).
"""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from testproject.example.files import describe, keepalive
from testproject.example.forms import ProjectForm, UploadForm
from testproject.example.models import Attachment, KeepaliveRun, Organization, Project


def index(request: HttpRequest) -> HttpResponse:
    form = ProjectForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        organization, _ = Organization.objects.get_or_create(name=form.cleaned_data["organization"])
        project, _ = Project.objects.get_or_create(
            organization=organization, name=form.cleaned_data["project"]
        )
        return HttpResponseRedirect(_project_url(project))
    organizations = Organization.objects.prefetch_related("projects").order_by("name")
    return render(request, "example/index.html", {"organizations": organizations, "form": form})


def project_detail(request: HttpRequest, org_id: int, project_id: int) -> HttpResponse:
    project = _project(org_id, project_id)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        with transaction.atomic():
            Attachment.objects.create(project=project, file=upload, original_name=upload.name)
        messages.success(request, f"Uploaded {upload.name}.")
        return HttpResponseRedirect(_project_url(project))
    storage = Attachment._meta.get_field("file").storage  # type: ignore[attr-defined]
    return render(
        request,
        "example/project.html",
        {
            "project": project,
            "files": [describe(attachment) for attachment in project.attachments.all()],
            "form": form,
            "usecase": storage.usecase.name,
            "base_url": storage.resolved_base_url(),
            "last_run": project.keepalive_runs.first(),
        },
    )


@require_POST
def project_keepalive(request: HttpRequest, org_id: int, project_id: int) -> HttpResponseRedirect:
    """Run the keepalive job (``manage.py objectstore_keepalive``) for this project's files."""
    project = _project(org_id, project_id)
    outcomes = keepalive(project.attachments.exclude(file=""))
    run = KeepaliveRun.objects.create(
        project=project,
        checked=len(outcomes),
        refreshed=sum(o.status == "refreshed" for o in outcomes),
        missing=sum(o.status == "missing" for o in outcomes),
        failed=sum(o.status == "failed" for o in outcomes),
    )
    messages.success(request, f"Keepalive: {run}.")
    return HttpResponseRedirect(_project_url(project))


@require_POST
def attachment_delete(
    request: HttpRequest, org_id: int, project_id: int, pk: int
) -> HttpResponseRedirect:
    project = _project(org_id, project_id)
    attachment = get_object_or_404(Attachment, pk=pk, project=project)
    attachment.delete()  # the object goes after the commit (delete_orphans=True)
    messages.success(request, f"Deleted {attachment}.")
    return HttpResponseRedirect(_project_url(project))


def _project(org_id: int, project_id: int) -> Project:
    return get_object_or_404(
        Project.objects.select_related("organization"), pk=project_id, organization_id=org_id
    )


def _project_url(project: Project) -> str:
    return reverse("project", kwargs={"org_id": project.organization_id, "project_id": project.pk})
