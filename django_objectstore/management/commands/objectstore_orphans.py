"""``manage.py objectstore_orphans``: find stored objects no row references; delete them."""

from __future__ import annotations

import csv
from argparse import ArgumentParser
from contextlib import ExitStack
from datetime import UTC, datetime, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from django_objectstore.jobs.embedded import MissingStore
from django_objectstore.jobs.orphans import (
    CSV_HEADER,
    DEFAULT_OLDER_THAN,
    Orphan,
    OrphanScan,
    OrphansError,
    OrphanSummary,
    find_stores,
)
from django_objectstore.jobs.progress import Progress
from django_objectstore.management.arguments import add_storage_option
from django_objectstore.wire.durations import format_duration, parse_duration


def _duration(text: str) -> timedelta:
    try:
        return parse_duration(text)
    except ValueError as error:
        raise CommandError(f"--older-than: {error}") from None


class Command(BaseCommand):
    help = (
        "Find objects of embedded stores (or of a server's storage directory, --root) that "
        "no ObjectstoreFileField row references. Reports only, unless --delete."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        add_storage_option(parser)
        parser.add_argument(
            "--root",
            metavar="PATH",
            help="A server's storage directory (OS__STORAGE__PATH) on this machine, for "
            "storages that talk to that server over HTTP.",
        )
        parser.add_argument("--delete", action="store_true", help="Delete the orphans found.")
        parser.add_argument(
            "--older-than",
            type=parse_duration,
            default=DEFAULT_OLDER_THAN,
            metavar="DURATION",
            help="Only objects created before now minus DURATION (default: 1h; 0s for all).",
        )
        parser.add_argument(
            "--report",
            metavar="FILE",
            help="Write the orphans as CSV: usecase,scope,key,size,created,action.",
        )
        parser.add_argument(
            "--page-size", type=int, default=1000, help="Objects listed per database query."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            self._handle(options)
        except (OrphansError, MissingStore) as error:
            raise CommandError(str(error)) from error

    def _handle(self, options: dict[str, Any]) -> None:
        if options["page_size"] < 1:
            raise CommandError("--page-size must be at least 1")
        stores = find_stores(options["storage"], options["root"])
        if not stores:
            raise CommandError("no storage in settings.STORAGES uses ObjectstoreStorage")
        older_than = options["older_than"]
        if isinstance(older_than, str):  # call_command(older_than="7d") skips the parser
            older_than = _duration(older_than)
        verbosity = int(options["verbosity"])
        delete = options["delete"]
        now = datetime.now(UTC)
        summary = OrphanSummary()
        progress = Progress(self._write_status, enabled=verbosity > 0 and self.stderr.isatty())

        def tick() -> None:
            if progress.enabled:
                progress.update(summary.line(delete=delete))

        with ExitStack() as stack:
            stack.callback(progress.finish)
            writer = None
            if options["report"]:
                report = stack.enter_context(
                    open(options["report"], "w", newline="", encoding="utf-8")
                )
                writer = csv.writer(report)
                writer.writerow(CSV_HEADER)
            for store in stores:
                if verbosity >= 2:
                    self.stdout.write(f"listing {store.where}")
                scan = OrphanScan(
                    store,
                    summary,
                    delete=delete,
                    older_than=older_than,
                    now=now,
                    page_size=options["page_size"],
                    tick=tick,
                )
                for orphan in scan.run():
                    self._report(orphan, writer, verbosity)
        if verbosity:
            older = format_duration(older_than)
            self.stdout.write(f"{summary.line(delete=delete)} (older than {older})")
        if summary.failed:
            raise CommandError(f"{summary.failed} orphan(s) could not be deleted")

    def _report(self, orphan: Orphan, writer: Any, verbosity: int) -> None:
        if writer is not None:
            writer.writerow(orphan.csv_row())
        if orphan.action == "failed":
            self.stderr.write(f"{orphan.name}: failed (usecase {orphan.usecase}): {orphan.error}")
        elif verbosity >= 2:
            self.stdout.write(
                f"{orphan.name}: {orphan.action} (usecase {orphan.usecase}, {orphan.size} bytes)"
            )

    def _write_status(self, text: str) -> None:
        self.stderr.write(text, style_func=str, ending="")
        self.stderr.flush()
