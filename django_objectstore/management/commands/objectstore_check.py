"""``manage.py objectstore_check``: a deploy health check of every objectstore storage."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from django_objectstore.jobs.embedded import objectstore_storage, require_existing_store
from django_objectstore.jobs.roundtrip import round_trip
from django_objectstore.management.arguments import add_storage_option
from django_objectstore.storage.storage import objectstore_aliases


class Command(BaseCommand):
    help = (
        "For each configured objectstore storage: reachability, auth and a full round trip "
        "(put with the usecase's expiration, head, get and compare, delete, confirm gone). "
        "Exits non-zero when any storage fails."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_storage_option(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        aliases = objectstore_aliases()
        unknown = [alias for alias in options["storage"] if alias not in aliases]
        if unknown:
            raise CommandError(
                f"--storage: not an ObjectstoreStorage alias in settings.STORAGES: "
                f"{', '.join(unknown)}; objectstore storages: {', '.join(aliases) or 'none'}"
            )
        chosen = options["storage"] or aliases
        if not chosen:
            raise CommandError("no storage in settings.STORAGES uses ObjectstoreStorage")
        failed = []
        for alias in chosen:
            try:
                storage = objectstore_storage(alias)
                # A check must not create the store it checks (an empty one would pass).
                require_existing_store(storage, f"STORAGES[{alias!r}]")
                verdict = round_trip(alias, storage)
            except Exception as error:  # ImproperlyConfigured, MissingStore
                self.stderr.write(self.style.ERROR(f"{alias}: FAILED at configuration: {error}"))
                failed.append(alias)
                continue
            if verdict.ok:
                if int(options["verbosity"]):
                    self.stdout.write(self.style.SUCCESS(verdict.line()))
            else:
                failed.append(alias)
                self.stderr.write(self.style.ERROR(verdict.line()))
        if failed:
            raise CommandError(
                f"{len(failed)} of {len(chosen)} storage(s) failed the check: {', '.join(failed)}"
            )
