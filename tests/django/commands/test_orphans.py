"""``objectstore_orphans`` on the example site's models, a real embedded store and a real DB.

An orphan is a stored object no ``ObjectstoreFileField`` row names. Rows a default
manager hides (a soft-deleted ``Note``) still name their objects and keep them.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from django_objectstore.jobs.orphans import (
    NO_LIST_MESSAGE,
    OrphanScan,
    OrphanSummary,
    find_stores,
)
from django_objectstore.server.backends.records import ObjectLocation, ObjectMetadata
from django_objectstore.server.backends.tiered import TieredBackend
from django_objectstore.server.messages import BytesBody
from django_objectstore.storage import ObjectstoreStorage
from django_objectstore.storage.names import split_name
from django_objectstore.wire.scopes import make_scopes
from testproject.example.models import Attachment, Note, Project
from tests.django.commands.configs import storage_config

pytestmark = pytest.mark.django_db

USECASE = "orphan-files"


def configured(base_url: str) -> Any:
    config = storage_config(base_url, USECASE)
    return override_settings(STORAGES={**settings.STORAGES, "attachments": config})


@pytest.fixture
def root(tmp_path: Path) -> Iterator[Path]:
    """An embedded store for the ``attachments`` storage (created by the first upload)."""
    directory = tmp_path / "store"
    with configured(f"embedded://{directory}"):
        yield directory
        for alias in list(getattr(storages, "_storages", {})):
            storage = storages[alias]
            if isinstance(storage, ObjectstoreStorage):
                storage.close()


def run(**options: Any) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("objectstore_orphans", stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def attach(project: Project, content: bytes = b"kept") -> Attachment:
    attachment = Attachment(project=project)
    attachment.file.save("a.txt", ContentFile(content), save=True)
    return attachment


def orphaned(project: Project, content: bytes = b"lost") -> str:
    """An uploaded attachment whose row then forgot its file: the object's name."""
    attachment = attach(project, content)
    name = attachment.file.name
    Attachment.objects.filter(pk=attachment.pk).update(file="")
    return name


def hidden_note(project: Project) -> str:
    """A soft-deleted note: ``Note.objects`` hides the row, which still names its object."""
    note = Note(project=project)
    note.file.save("n.txt", ContentFile(b"note"), save=True)
    Note.objects.filter(pk=note.pk).update(deleted=True)
    assert not Note.objects.filter(pk=note.pk).exists()
    return note.file.name


def stored(root: Path) -> set[str]:
    """``<scope>/<key>`` of every object of the usecase in the store."""
    backend = TieredBackend(root, fsync=False)
    try:
        return {
            f"{';'.join(f'{k}={v}' for k, v in listed.scopes) or '_'}/{listed.key}"
            for listed in backend.iter_objects(USECASE)
        }
    finally:
        backend.close()


def put_aged(root: Path, project: Project, key: str, age: timedelta) -> str:
    """Store an object created ``age`` ago, as an old upload would have been."""
    scopes = make_scopes({"org": project.organization_id, "project": project.pk})
    created = datetime.now(UTC).replace(microsecond=0) - age
    backend = TieredBackend(root, fsync=False)
    try:
        location = ObjectLocation(USECASE, scopes, key)
        backend.put(location, ObjectMetadata(time_created=created), BytesBody(b"old"))
    finally:
        backend.close()
    return f"org={project.organization_id};project={project.pk}/{key}"


def test_dry_run_lists_exactly_the_unreferenced_objects(root: Path, project: Project) -> None:
    kept = attach(project).file.name
    note = hidden_note(project)
    lost = {orphaned(project), orphaned(project, b"also lost")}
    report = root.parent / "orphans.csv"
    out, _ = run(older_than="0s", verbosity=2, report=str(report))
    lines = [line for line in out.splitlines() if ": would delete (" in line]
    assert {line.split(": would delete (")[0] for line in lines} == lost
    sizes = {line.rsplit(", ", 1)[1] for line in lines}
    assert sizes == {"4 bytes)", "9 bytes)"}
    assert all(f": would delete (usecase {USECASE}, " in line for line in lines)
    assert "listed 4, referenced 2, too new 0, orphaned 2 (" in out
    assert "dry run" in out
    assert stored(root) == {kept, note, *lost}  # nothing deleted
    rows = list(csv.reader(report.read_text(encoding="utf-8").splitlines()))
    assert rows[0] == ["usecase", "scope", "key", "size", "created", "action"]
    assert {f"{row[1]}/{row[2]}" for row in rows[1:]} == lost
    assert {row[0] for row in rows[1:]} == {USECASE}
    assert {row[5] for row in rows[1:]} == {"would delete"}
    assert all(row[4].endswith("Z") and int(row[3]) > 0 for row in rows[1:])


def test_delete_removes_orphans_and_keeps_referenced_and_hidden_rows_objects(
    root: Path, project: Project
) -> None:
    kept = attach(project).file.name
    note = hidden_note(project)
    lost = orphaned(project)
    report = root.parent / "deleted.csv"
    out, _ = run(older_than="0s", delete=True, report=str(report))
    assert "orphaned 1 (" in out and "deleted 1, failed 0" in out
    assert stored(root) == {kept, note}
    rows = list(csv.reader(report.read_text(encoding="utf-8").splitlines()))
    assert [(f"{row[1]}/{row[2]}", row[5]) for row in rows[1:]] == [(lost, "deleted")]
    # The referenced files still read back whole.
    assert Attachment.objects.get(file=kept).file.read() == b"kept"
    assert Note._base_manager.get(file=note).file.read() == b"note"
    again, _ = run(older_than="0s", delete=True)
    assert "orphaned 0 (" in again


def test_older_than_leaves_recent_objects_alone(root: Path, project: Project) -> None:
    attach(project)  # creates the store
    recent = orphaned(project)
    old = put_aged(root, project, "old-upload", timedelta(days=3))
    older = put_aged(root, project, "older-upload", timedelta(days=10))
    out, _ = run(older_than="7d", delete=True)
    assert "orphaned 1 (" in out and "too new 2" in out
    assert stored(root) >= {recent, old} and older not in stored(root)
    # The default (1h) protects uploads whose row may not be saved yet.
    out, _ = run(delete=True)
    assert "deleted 1," in out and "(older than 1h)" in out
    assert recent in stored(root) and old not in stored(root)


def test_a_row_saved_during_the_run_keeps_its_object(root: Path, project: Project) -> None:
    lost = orphaned(project)
    (store,) = find_stores()
    summary = OrphanSummary()

    def save_a_row() -> None:  # after the references were read, before the delete
        Attachment.objects.create(project=project, file=lost)

    scan = OrphanScan(
        store, summary, delete=True, older_than=timedelta(0), now=_later(), tick=save_a_row
    )
    found = list(scan.run())
    assert [(orphan.name, orphan.action) for orphan in found] == [
        (lost, "kept: referenced meanwhile")
    ]
    assert summary.deleted == 0 and lost in stored(root)


def test_the_job_runs_without_the_command(root: Path, project: Project) -> None:
    kept = attach(project).file.name
    lost = orphaned(project)
    (store,) = find_stores(["attachments"])
    assert (store.root, store.usecase, store.aliases) == (root, USECASE, ("attachments",))
    summary = OrphanSummary()
    found = list(OrphanScan(store, summary, older_than=timedelta(0), now=_later()).run())
    assert [(o.name, o.action, o.size) for o in found] == [(lost, "would delete", 4)]
    assert split_name(kept)[1] not in {o.key for o in found}
    assert summary.listed == 2 and summary.referenced == 1


def test_an_http_store_is_refused(project: Project) -> None:
    with configured("http://127.0.0.1:9"), pytest.raises(CommandError) as error:
        run()
    assert NO_LIST_MESSAGE in str(error.value)
    assert "storage 'attachments' (http://127.0.0.1:9)" in str(error.value)


def test_a_memory_store_and_unknown_aliases_are_refused(project: Project) -> None:
    with configured("memory://orphans"), pytest.raises(CommandError, match="nothing to list"):
        run()
    with pytest.raises(CommandError, match="no objectstore storage 'nope' in STORAGES"):
        run(storage=["nope"])


def test_root_lists_a_servers_directory_for_an_http_store(root: Path, project: Project) -> None:
    kept = attach(project).file.name
    lost = orphaned(project)
    with configured("http://127.0.0.1:9"):  # no server needed: nothing goes over HTTP
        out, _ = run(root=str(root), older_than="0s", delete=True)
    assert "deleted 1, failed 0" in out
    assert stored(root) == {kept}
    assert lost not in stored(root)


def test_a_store_that_does_not_exist_is_refused_naming_it(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with configured(f"embedded://{missing}"), pytest.raises(CommandError) as error:
        run(delete=True)
    assert str(missing) in str(error.value) and "does not exist" in str(error.value)
    assert not missing.exists()
    with pytest.raises(CommandError) as error:
        run(root=str(missing))
    assert f"--root {missing} does not exist" in str(error.value)
    assert not missing.exists()


def test_a_directory_without_a_store_is_refused(tmp_path: Path) -> None:
    with configured("http://127.0.0.1:9"), pytest.raises(CommandError) as error:
        run(root=str(tmp_path))
    assert "objects.sqlite3 is missing" in str(error.value)
    assert list(tmp_path.iterdir()) == []


def _later() -> datetime:
    return datetime.now(UTC) + timedelta(minutes=5)
