"""``manage.py objectstore_copy``: from a FileSystemStorage into objectstore, resumably."""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any, ClassVar

import pytest
from django.conf import settings
from django.core.files.storage import FileSystemStorage, storages
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from django_objectstore.pytest_plugin import ObjectstoreServer
from django_objectstore.server.backends.tiered import TieredBackend
from django_objectstore.storage.names import split_name
from testproject.example.models import Attachment, Project, Report
from tests.django.commands.configs import storage_config

FIELD = "example.Attachment.file"


class CrashingStorage(FileSystemStorage):
    """A FileSystemStorage whose ``crash_on``-th open raises KeyboardInterrupt (Ctrl-C)."""

    crash_on: ClassVar[int | None] = None
    opened: ClassVar[int] = 0

    def _open(self, name: str, mode: str = "rb") -> Any:
        type(self).opened += 1
        if type(self).opened == self.crash_on:
            raise KeyboardInterrupt
        return super()._open(name, mode)  # type: ignore[misc]


@pytest.fixture
def legacy(
    tmp_path: Path, objectstore_server: ObjectstoreServer, objectstore_usecase: str
) -> Iterator[Path]:
    """``legacy``: the crashing FileSystemStorage in ``tmp_path``; ``attachments`` on the server."""
    config = {
        **settings.STORAGES,
        "attachments": storage_config(str(objectstore_server), objectstore_usecase),
        "legacy": {"BACKEND": f"{__name__}.CrashingStorage", "OPTIONS": {"location": tmp_path}},
    }
    CrashingStorage.opened = 0
    CrashingStorage.crash_on = None
    with override_settings(STORAGES=config):
        yield tmp_path
        storages["attachments"].close()  # type: ignore[attr-defined]


@pytest.fixture
def rows(legacy: Path, project: Project) -> list[Attachment]:
    made = []
    for i in range(5):
        path = legacy / "uploads" / f"doc{i}.txt"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(f"contents of document {i}\n".encode() * (i + 1))
        made.append(Attachment.objects.create(project=project, file=f"uploads/doc{i}.txt"))
    return made


def copy(*args: str, **options: Any) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    options.setdefault("model", FIELD)
    options.setdefault("from_storage", "legacy")
    try:
        call_command("objectstore_copy", *args, stdout=out, stderr=err, **options)
    except CommandError as error:
        raise CommandError(f"{error}\n{err.getvalue()}") from error
    return out.getvalue(), err.getvalue()


def stored(attachment: Attachment) -> bytes:
    attachment.refresh_from_db()
    with storages["attachments"].open(attachment.file.name or "") as file:
        data: bytes = file.read()
    return data


def test_copies_every_file_and_rewrites_the_rows(rows: list[Attachment], legacy: Path) -> None:
    out, _ = copy()
    assert out.strip() == "copied 5, skipped 0, would copy 0, failed 0"
    for i, attachment in enumerate(rows):
        assert stored(attachment) == (legacy / "uploads" / f"doc{i}.txt").read_bytes()
        scopes, _ = split_name(attachment.file.name or "")
        assert scopes == (
            ("org", str(attachment.project.organization_id)),
            ("project", str(attachment.project_id)),
        )
    assert (legacy / "uploads" / "doc0.txt").exists()


def test_an_interrupted_copy_resumes_and_skips_moved_rows(
    rows: list[Attachment], legacy: Path
) -> None:
    CrashingStorage.crash_on = 3
    with pytest.raises(KeyboardInterrupt):
        copy()
    names = [a.file.name for a in Attachment.objects.order_by("pk")]
    assert names[2:] == ["uploads/doc2.txt", "uploads/doc3.txt", "uploads/doc4.txt"]
    assert all(not (name or "").startswith("uploads/") for name in names[:2])

    CrashingStorage.crash_on = None
    out, _ = copy(verbosity=2)
    assert out.splitlines()[-1] == "copied 3, skipped 2, would copy 0, failed 0"
    assert f"skipped: pk={rows[0].pk}" in out
    for i, attachment in enumerate(rows):
        assert stored(attachment) == (legacy / "uploads" / f"doc{i}.txt").read_bytes()


def test_dry_run_changes_and_uploads_nothing(
    rows: list[Attachment], objectstore_server: ObjectstoreServer, objectstore_usecase: str
) -> None:
    out, _ = copy(dry_run=True)
    assert out.strip() == "copied 0, skipped 0, would copy 5, failed 0"
    assert [a.file.name for a in Attachment.objects.order_by("pk")] == [
        f"uploads/doc{i}.txt" for i in range(5)
    ]
    assert CrashingStorage.opened == 0
    stored = TieredBackend(objectstore_server.path, fsync=False)
    assert list(stored.iter_objects(objectstore_usecase)) == []
    stored.close()


def test_delete_source_removes_the_copied_files(rows: list[Attachment], legacy: Path) -> None:
    copy(delete_source=True)
    assert not list((legacy / "uploads").iterdir())
    assert stored(rows[4]) == b"contents of document 4\n" * 5


def test_a_missing_source_file_fails_that_row_only(rows: list[Attachment], legacy: Path) -> None:
    (legacy / "uploads" / "doc1.txt").unlink()
    err = StringIO()
    with pytest.raises(CommandError, match="1 file"):
        call_command(
            "objectstore_copy", model=FIELD, from_storage="legacy", stdout=StringIO(), stderr=err
        )
    assert f"failed: pk={rows[1].pk} 'uploads/doc1.txt'" in err.getvalue()
    rows[1].refresh_from_db()
    assert rows[1].file.name == "uploads/doc1.txt"
    assert stored(rows[2]) == b"contents of document 2\n" * 3


def test_verbosity_0_prints_nothing(rows: list[Attachment]) -> None:
    out, err = copy(verbosity=0)
    assert (out, err) == ("", "")


@pytest.mark.django_db
def test_a_field_without_scope_callable_needs_scope(legacy: Path) -> None:
    (legacy / "r.txt").write_bytes(b"report")
    report = Report.objects.create(title="r", file="r.txt")
    with pytest.raises(CommandError, match="--scope"):
        copy(model="example.Report.file")
    copy(model="example.Report.file", scope="org=7,project=8")
    report.refresh_from_db()
    assert (report.file.name or "").startswith("org=7;project=8/")
    with storages["attachments"].open(report.file.name or "") as file:
        assert file.read() == b"report"


def test_an_unknown_source_storage_is_an_error(rows: list[Attachment]) -> None:
    with pytest.raises(CommandError, match="--from-storage"):
        copy(from_storage="nope")


def test_the_target_must_not_be_the_source(rows: list[Attachment]) -> None:
    with pytest.raises(CommandError, match="--from-storage"):
        copy(from_storage="attachments")


def test_bad_scope_syntax_is_an_error(rows: list[Attachment]) -> None:
    with pytest.raises(CommandError, match="--scope"):
        copy(scope="org")
