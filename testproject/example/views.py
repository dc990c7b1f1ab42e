"""Pages of the example site: projects, their attachments, upload and delete."""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from testproject.example.forms import ProjectForm, UploadForm
from testproject.example.models import Attachment, Organization, Project


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
    return render(
        request,
        "example/project.html",
        {"project": project, "attachments": project.attachments.all(), "form": form},
    )


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
