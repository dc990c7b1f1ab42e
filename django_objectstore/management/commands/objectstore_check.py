"""``manage.py objectstore_check``: a deploy health check of every objectstore storage."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.files.storage import storages
from django.core.management.base import BaseCommand, CommandError

from django_objectstore.roundtrip import round_trip
from django_objectstore.storage import ObjectstoreStorage


class Command(BaseCommand):
    help = (
        "For each configured objectstore storage: reachability, auth and a full round trip "
        "(put, head, get and compare, delete, confirm gone). Exits non-zero on any failure."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--storage", action="append", default=[], help="Only these STORAGES aliases."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        aliases = [
            alias
            for alias in storages.backends
            if issubclass_safe(storages.backends[alias].get("BACKEND", ""))
        ]
        unknown = [alias for alias in options["storage"] if alias not in aliases]
        if unknown:
            raise CommandError(
                f"not an objectstore storage: {', '.join(unknown)}; "
                f"configured: {', '.join(aliases) or 'none'}"
            )
        chosen = options["storage"] or aliases
        if not chosen:
            raise CommandError("no storage in settings.STORAGES uses ObjectstoreStorage")
        failed = 0
        for alias in chosen:
            storage = storages[alias]
            assert isinstance(storage, ObjectstoreStorage)
            verdict = round_trip(alias, storage)
            if verdict.ok:
                if int(options["verbosity"]):
                    self.stdout.write(self.style.SUCCESS(verdict.line()))
            else:
                failed += 1
                self.stderr.write(self.style.ERROR(verdict.line()))
        if failed:
            raise CommandError(f"{failed} of {len(chosen)} storage(s) failed the check")


def issubclass_safe(backend: str) -> bool:
    """Whether the dotted ``BACKEND`` path names ObjectstoreStorage or a subclass."""
    from django.utils.module_loading import import_string

    try:
        cls = import_string(backend)
    except ImportError:
        return False
    return isinstance(cls, type) and issubclass(cls, ObjectstoreStorage)
