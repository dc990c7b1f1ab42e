"""``python -m testproject example_demo``: demo rows and a local admin account, and where
to find them (``scripts/run-example`` runs it before ``runserver``)."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from testproject.example.models import Organization, Project

DEMO_USER = "demo"
DEMO_PASSWORD = "demo"  # a local example site only: never deploy it


class Command(BaseCommand):
    help = "Create the demo organization, project and admin account; print their URLs."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--addr", default="127.0.0.1:8000", help="runserver's address")

    def handle(self, *args: Any, **options: Any) -> None:
        organization, _ = Organization.objects.get_or_create(name="Demo organization")
        project, _ = Project.objects.get_or_create(organization=organization, name="Demo project")
        users = get_user_model()
        if not users.objects.filter(username=DEMO_USER).exists():
            users.objects.create_superuser(DEMO_USER, "demo@example.com", DEMO_PASSWORD)
        site = f"http://{self._host(options['addr'])}"
        self.stdout.write(
            f"Demo project: {site}/orgs/{organization.pk}/projects/{project.pk}/\n"
            f"Admin:        {site}/admin/  (user {DEMO_USER}, password {DEMO_PASSWORD})"
        )

    @staticmethod
    def _host(addr: str) -> str:
        host, _, port = ("127.0.0.1:8000" if addr.startswith("-") else addr).rpartition(":")
        host = "127.0.0.1" if host in ("", "0", "0.0.0.0") else host
        return f"{host}:{port}"
