"""``manage.py objectstore_keepalive``: keep referenced time-to-idle objects alive."""

from __future__ import annotations

import csv
from argparse import ArgumentParser
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError

from django_objectstore.exceptions import ObjectstoreFieldError
from django_objectstore.fields import ObjectstoreFileField
from django_objectstore.fields.references import FieldSource, field_sources, select_sources
from django_objectstore.jobs.keepalive import (
    Outcome,
    Summary,
    clear_reference,
    count_references,
    default_concurrency,
    refresh,
)
from django_objectstore.jobs.progress import Progress

Sources = list[FieldSource[ObjectstoreFileField]]


class Command(BaseCommand):
    help = (
        "Refresh the time-to-idle deadline of every object referenced by an "
        "ObjectstoreFileField, and report references whose objects are gone."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--model",
            action="append",
            default=[],
            metavar="APP_LABEL.MODEL[.FIELD]",
            help="Only these models or fields (repeatable).",
        )
        parser.add_argument(
            "--usecase", action="append", default=[], help="Only these usecases (repeatable)."
        )
        parser.add_argument(
            "--all",
            action="store_true",
            help="Touch every usecase, not only those that expire by time-to-idle.",
        )
        parser.add_argument("--batch-size", type=int, default=500, help="Keys per batch request.")
        parser.add_argument(
            "--concurrency",
            type=int,
            default=None,
            help="Batch requests in flight at once (default: 4 over HTTP, 1 for embedded: "
            "and memory:// stores, where threads only compete for the interpreter).",
        )
        parser.add_argument(
            "--report", metavar="FILE", help="Write missing references to FILE as CSV."
        )
        parser.add_argument(
            "--clear-missing",
            action="store_true",
            help="Empty the fields whose objects are gone.",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Touch and change nothing; say what would happen.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            self._handle(options)
        except ObjectstoreFieldError as error:
            raise CommandError(str(error)) from error

    def _handle(self, options: dict[str, Any]) -> None:
        if options["batch_size"] < 1 or options["batch_size"] > 1000:
            raise CommandError("--batch-size must be between 1 and 1000 (the batch API's limit)")
        if options["concurrency"] is not None and options["concurrency"] < 1:
            raise CommandError("--concurrency must be at least 1")
        sources = select_sources(
            field_sources(ObjectstoreFileField),
            options["model"],
            options["usecase"],
            tti_only=not options["all"],
        )
        verbosity = int(options["verbosity"])
        if not sources:
            if verbosity:
                self.stdout.write("No ObjectstoreFileField with a time-to-idle usecase found.")
            return
        if options["dry_run"]:
            self._dry_run(sources, verbosity)
            return
        summary = self._refresh(sources, options, verbosity)
        if verbosity:
            self.stdout.write(summary.line())
        if summary.failed:
            raise CommandError(f"{summary.failed} reference(s) could not be refreshed")

    def _dry_run(self, sources: Sources, verbosity: int) -> None:
        total = 0
        for source in sources:
            count = count_references(source)
            total += count
            if verbosity:
                self.stdout.write(
                    f"would refresh {count} object(s) of {source.label} in usecase {source.usecase}"
                )
        if verbosity:
            self.stdout.write(f"dry run: would check {total} reference(s); nothing was touched")

    def _refresh(self, sources: Sources, options: dict[str, Any], verbosity: int) -> Summary:
        summary = Summary()
        progress = Progress(self._write_status, enabled=verbosity > 0 and self.stderr.isatty())
        report_file: TextIO | None = None
        writer = None
        if options["report"]:
            report_file = open(options["report"], "w", newline="", encoding="utf-8")  # noqa: SIM115
            writer = csv.writer(report_file)
            writer.writerow(["model", "pk", "field", "name"])
        try:
            outcomes = refresh(
                sources,
                batch_size=options["batch_size"],
                concurrency=options["concurrency"] or default_concurrency(sources),
            )
            for outcome in outcomes:
                summary.add(outcome)
                self._record(outcome, writer, options["clear_missing"], verbosity)
                progress.update(summary.line())
        finally:
            progress.finish()
            if report_file is not None:
                report_file.close()
        return summary

    def _record(self, outcome: Outcome, writer: Any, clear_missing: bool, verbosity: int) -> None:
        ref = outcome.reference
        where = f"{ref.source.model._meta.label} pk={ref.pk} {ref.source.field.name}={ref.name!r}"
        if outcome.status == "failed":
            self.stderr.write(f"failed: {where}: {outcome.error}")
        elif outcome.status == "missing":
            if writer is not None:
                writer.writerow(
                    [ref.source.model._meta.label, ref.pk, ref.source.field.name, ref.name]
                )
            if clear_missing:
                clear_reference(ref)
            if verbosity >= 2:
                action = "cleared" if clear_missing else "missing"
                self.stdout.write(f"{action}: {where}")
        elif verbosity >= 3:
            self.stdout.write(f"refreshed: {where}")

    def _write_status(self, text: str) -> None:
        """The progress line on stderr: as it is, without a newline or the error style."""
        self.stderr.write(text, style_func=str, ending="")
        self.stderr.flush()
