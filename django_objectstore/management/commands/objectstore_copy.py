"""``manage.py objectstore_copy``: move a field's files from another storage into objectstore."""

from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.files.storage import InvalidStorageError, Storage, storages
from django.core.management.base import BaseCommand, CommandError

from django_objectstore.exceptions import ObjectstoreFieldError
from django_objectstore.fields import ObjectstoreFileField
from django_objectstore.fields.references import FieldSource, field_sources, select_sources
from django_objectstore.jobs.copying import STATUSES, copy_field
from django_objectstore.jobs.embedded import MissingStore, require_existing_source
from django_objectstore.storage import ObjectstoreStorage


def parse_scope(text: str) -> dict[str, str]:
    """``org=1,project=2`` -> ``{"org": "1", "project": "2"}`` (order kept)."""
    scope: dict[str, str] = {}
    for item in text.split(","):
        name, sep, value = item.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise CommandError(f"--scope must look like org=1,project=2, got {text!r}")
        scope[name.strip()] = value.strip()
    return scope


class Command(BaseCommand):
    help = (
        "Copy the files of an ObjectstoreFileField from another storage (e.g. the "
        "FileSystemStorage or S3 storage the field used before) into objectstore and "
        "rewrite the field values. Safe to interrupt and run again."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--model", required=True, metavar="APP_LABEL.MODEL[.FIELD]", help="The field to move."
        )
        parser.add_argument(
            "--from-storage",
            required=True,
            metavar="ALIAS",
            help="The settings.STORAGES alias the files are in now.",
        )
        parser.add_argument(
            "--scope",
            help="Scope for every row, e.g. org=1,project=2 (default: the field's scope callable).",
        )
        parser.add_argument("--batch-size", type=int, default=500, help="Rows fetched per query.")
        parser.add_argument("--dry-run", action="store_true", help="Copy and change nothing.")
        parser.add_argument(
            "--delete-source",
            action="store_true",
            help="Delete each source file once its row points at the verified copy.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            self._handle(options)
        except (ObjectstoreFieldError, MissingStore) as error:
            raise CommandError(str(error)) from error

    def _handle(self, options: dict[str, Any]) -> None:
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")
        source = self._source(options["model"])
        from_storage = self._from_storage(options["from_storage"])
        require_existing_source(from_storage, f"--from-storage {options['from_storage']!r}")
        scope = parse_scope(options["scope"]) if options["scope"] else None
        if scope is None and source.field.scope is None:
            raise CommandError(
                f"{source.label} has no scope callable; pass --scope org=...,project=..."
            )
        counts = dict.fromkeys(STATUSES, 0)
        verbosity = int(options["verbosity"])
        for outcome in copy_field(
            source,
            from_storage,
            scope=scope,
            dry_run=options["dry_run"],
            delete_source=options["delete_source"],
            chunk_size=options["batch_size"],
        ):
            counts[outcome.status] += 1
            if outcome.status == "failed":
                self.stderr.write(f"failed: pk={outcome.pk} {outcome.old_name!r}: {outcome.error}")
            elif verbosity >= 2:
                self.stdout.write(
                    f"{outcome.status}: pk={outcome.pk} {outcome.old_name!r} "
                    f"-> {outcome.new_name!r}"
                )
        if verbosity:
            self.stdout.write(", ".join(f"{status} {n}" for status, n in counts.items()))
        if counts["failed"]:
            raise CommandError(f"{counts['failed']} file(s) could not be copied")

    def _source(self, label: str) -> FieldSource[ObjectstoreFileField]:
        sources = select_sources(field_sources(ObjectstoreFileField), [label], tti_only=False)
        if len(sources) != 1:
            names = ", ".join(s.label for s in sources)
            raise CommandError(f"--model must name exactly one field; {label!r} matches {names}")
        sources[0].storage  # noqa: B018 (ObjectstoreFieldError unless an ObjectstoreStorage)
        return sources[0]

    def _from_storage(self, alias: str) -> Storage:
        try:
            storage = storages[alias]
        except InvalidStorageError as error:
            raise CommandError(f"--from-storage: {error}") from error
        if isinstance(storage, ObjectstoreStorage):
            raise CommandError(
                f"--from-storage {alias!r} is an ObjectstoreStorage; this command copies "
                "files into objectstore from another kind of storage"
            )
        return storage
