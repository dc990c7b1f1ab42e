"""``objectstore_keepalive --clear-missing`` refuses to empty rows when implausibly many
references are missing: that is the signature of the wrong store, not of lost files."""

from __future__ import annotations

import csv
from collections.abc import Callable
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from django_objectstore.storage import ObjectstoreStorage
from testproject.example.models import Attachment

MakeAttachment = Callable[..., Attachment]


def run(**options: Any) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    try:
        call_command("objectstore_keepalive", stdout=out, stderr=err, **options)
    except CommandError as error:
        raise CommandError(f"{error}\n--- stderr:\n{err.getvalue()}") from error
    return out.getvalue(), err.getvalue()


def attachments(make: MakeAttachment, storage: ObjectstoreStorage, kept: int, lost: int) -> None:
    for i in range(kept + lost):
        attachment = make(f"file {i}".encode(), name=f"f{i}.txt")
        if i >= kept:
            storage.delete(attachment.file.name or "")


def filled() -> int:
    return Attachment.objects.exclude(file="").count()


def test_all_references_missing_clears_nothing_and_names_the_store(
    tti_storage: ObjectstoreStorage, make_attachment: MakeAttachment, tmp_path: Path
) -> None:
    attachments(make_attachment, tti_storage, kept=0, lost=3)
    report = tmp_path / "missing.csv"
    with pytest.raises(CommandError) as error:
        run(clear_missing=True, report=str(report), verbosity=2)
    message = str(error.value)
    assert "nothing cleared" in message
    assert "all 3 reference(s) checked there are missing" in message
    assert tti_storage.resolved_base_url() in message
    assert "--force" in message
    assert filled() == 3
    rows = list(csv.reader(report.read_text(encoding="utf-8").splitlines()))
    assert len(rows) == 1 + 3  # still written


def test_force_clears_even_when_everything_is_missing(
    tti_storage: ObjectstoreStorage, make_attachment: MakeAttachment
) -> None:
    attachments(make_attachment, tti_storage, kept=0, lost=3)
    out, _ = run(clear_missing=True, force=True, verbosity=2)
    assert out.count("cleared: example.Attachment") == 3
    assert filled() == 0


def test_more_than_the_threshold_missing_clears_nothing(
    tti_storage: ObjectstoreStorage, make_attachment: MakeAttachment
) -> None:
    attachments(make_attachment, tti_storage, kept=1, lost=2)
    with pytest.raises(CommandError, match=r"2 of 3 references \(67%\) are missing"):
        run(clear_missing=True)
    assert filled() == 3


def test_a_higher_threshold_lets_the_clearing_happen(
    tti_storage: ObjectstoreStorage, make_attachment: MakeAttachment
) -> None:
    attachments(make_attachment, tti_storage, kept=1, lost=2)
    out, _ = run(clear_missing=True, max_missing_fraction=0.7)
    assert "checked 3, refreshed 1, missing 2, failed 0" in out
    assert filled() == 1


def test_a_plausible_share_missing_is_cleared(
    tti_storage: ObjectstoreStorage, make_attachment: MakeAttachment
) -> None:
    attachments(make_attachment, tti_storage, kept=3, lost=1)
    run(clear_missing=True)
    assert filled() == 3


def test_without_clear_missing_the_guard_changes_nothing(
    tti_storage: ObjectstoreStorage, make_attachment: MakeAttachment
) -> None:
    attachments(make_attachment, tti_storage, kept=0, lost=2)
    out, _ = run()
    assert "missing 2" in out
    assert filled() == 2


@pytest.mark.parametrize("value", ["0", "1.5", "half"])
def test_invalid_fractions_are_refused(value: str) -> None:
    with pytest.raises(CommandError, match="max-missing-fraction"):
        call_command("objectstore_keepalive", "--clear-missing", f"--max-missing-fraction={value}")
