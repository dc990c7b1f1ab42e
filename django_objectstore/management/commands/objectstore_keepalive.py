"""``manage.py objectstore_keepalive``: keep referenced time-to-idle objects alive."""

from __future__ import annotations

import csv
from argparse import ArgumentParser
from typing import Any, TextIO

from django.core.management.base import BaseCommand, CommandError

from django_objectstore.exceptions import ObjectstoreFieldError
from django_objectstore.fields import ObjectstoreFileField
from django_objectstore.fields.references import (
    FieldSource,
    Reference,
    field_sources,
    select_sources,
)
from django_objectstore.jobs.embedded import MissingStore, require_existing_store
from django_objectstore.jobs.keepalive import (
    DEFAULT_MAX_MISSING_FRACTION,
    MissingGuard,
    Outcome,
    Summary,
    clear_reference,
    count_references,
    default_concurrency,
    refresh,
)
from django_objectstore.jobs.progress import Progress

Sources = list[FieldSource[ObjectstoreFileField]]


def fraction(text: str) -> float:
    value = float(text)
    if not 0 < value <= 1:
        raise ValueError(text)
    return value


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
            help="Empty the fields whose objects are gone (refused when implausibly many are).",
        )
        parser.add_argument(
            "--max-missing-fraction",
            type=fraction,
            default=DEFAULT_MAX_MISSING_FRACTION,
            metavar="F",
            help="With --clear-missing: clear nothing in a store where more than this share "
            f"of the references (default {DEFAULT_MAX_MISSING_FRACTION}), or all of them, "
            "are missing, unless --force is given.",
        )
        parser.add_argument(
            "--force",
            action="store_true",
            help="With --clear-missing: clear even when implausibly many references are missing.",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Touch and change nothing; say what would happen.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            self._handle(options)
        except (ObjectstoreFieldError, MissingStore) as error:
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
        for source in sources:  # before any request: an embedded store would be created
            require_existing_store(source.storage, source.label)
        if options["dry_run"]:
            self._dry_run(sources, verbosity)
            return
        guard = MissingGuard(options["max_missing_fraction"])
        summary = self._refresh(sources, options, verbosity, guard)
        refused = self._clear(guard, options, verbosity) if options["clear_missing"] else []
        if verbosity:
            self.stdout.write(summary.line())
        problems = []
        if summary.failed:
            problems.append(f"{summary.failed} reference(s) could not be refreshed")
        if refused:
            problems.append(
                f"nothing cleared in {len(refused)} store(s) with implausibly many missing "
                f"references: {'; '.join(refused)}"
            )
        if problems:
            raise CommandError("; ".join(problems))

    def _clear(self, guard: MissingGuard, options: dict[str, Any], verbosity: int) -> list[str]:
        """Clear the missing references of plausible stores; the refused stores' lines."""
        refused = []
        for store in guard.stores():
            if store.implausible(guard.max_fraction) and not options["force"]:
                reason = store.explain(guard.max_fraction)
                self.stderr.write(
                    f"not clearing {store.missing} missing reference(s) of {store.where}: "
                    f"{reason}. This usually means the command looked at the wrong store "
                    f"(check base_url, BASE_DIR and OBJECTSTORE_URL); pass --force to clear "
                    f"anyway, or raise --max-missing-fraction."
                )
                refused.append(f"{store.where}: {reason}")
                continue
            for ref in store.missing_references:
                clear_reference(ref)
                if verbosity >= 2:
                    self.stdout.write(f"cleared: {_where(ref)}")
        return refused

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

    def _refresh(
        self, sources: Sources, options: dict[str, Any], verbosity: int, guard: MissingGuard
    ) -> Summary:
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
                guard.add(outcome, keep_missing=options["clear_missing"])
                self._record(outcome, writer, verbosity)
                progress.update(summary.line())
        finally:
            progress.finish()
            if report_file is not None:
                report_file.close()
        return summary

    def _record(self, outcome: Outcome, writer: Any, verbosity: int) -> None:
        ref = outcome.reference
        where = _where(ref)
        if outcome.status == "failed":
            self.stderr.write(f"failed: {where}: {outcome.error}")
        elif outcome.status == "missing":
            if writer is not None:
                writer.writerow(
                    [ref.source.model._meta.label, ref.pk, ref.source.field.name, ref.name]
                )
            if verbosity >= 2:
                self.stdout.write(f"missing: {where}")
        elif verbosity >= 3:
            self.stdout.write(f"refreshed: {where}")

    def _write_status(self, text: str) -> None:
        """The progress line on stderr: as it is, without a newline or the error style."""
        self.stderr.write(text, style_func=str, ending="")
        self.stderr.flush()


def _where(ref: Reference) -> str:
    return f"{ref.source.model._meta.label} pk={ref.pk} {ref.source.field.name}={ref.name!r}"
