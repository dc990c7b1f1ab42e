"""``manage.py objectstore_keepalive`` against the real test server and the example site."""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator
from datetime import timedelta
from io import StringIO
from pathlib import Path
from typing import Any, ClassVar

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from django_objectstore.client import Client, Session
from django_objectstore.pytest_plugin import ObjectstoreServer
from django_objectstore.server import OffsetClock
from django_objectstore.storage import ObjectstoreStorage
from django_objectstore.wire.scopes import Scopes
from testproject.example.models import Attachment, Note, Organization, Project
from tests.django.commands.configs import storage_config

MakeAttachment = Callable[..., Attachment]


def run(*args: str, **options: Any) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("objectstore_keepalive", *args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


IDLE_HALF = timedelta(minutes=50)
"""The usecases here idle out after 1 h: 50 minutes before and 50 after a run outlive
the first deadline only if that run renewed it."""


def run_across_deadline(clock: OffsetClock, *args: str, **options: Any) -> tuple[str, str]:
    """Move the server clock 50 min, run the command, move it another 50 min."""
    clock.advance(IDLE_HALF)
    result = run(*args, **options)
    clock.advance(IDLE_HALF)
    return result


def alive(storage: ObjectstoreStorage, attachment: Attachment) -> bool:
    return storage.exists(attachment.file.name or "")


@pytest.mark.usefixtures("tti_storage")
class TestRefresh:
    def test_keepalive_keeps_tti_objects_alive_past_their_idle_deadline(
        self,
        tti_storage: ObjectstoreStorage,
        make_attachment: MakeAttachment,
        objectstore_clock: OffsetClock,
    ) -> None:
        attachments = [make_attachment(f"file {i}".encode()) for i in range(5)]
        out, _ = run_across_deadline(objectstore_clock)
        assert all(alive(tti_storage, a) for a in attachments)
        assert "checked 5, refreshed 5, missing 0, failed 0" in out

    def test_objects_expire_when_keepalive_did_not_run(
        self,
        tti_storage: ObjectstoreStorage,
        make_attachment: MakeAttachment,
        objectstore_clock: OffsetClock,
    ) -> None:
        attachment = make_attachment()
        objectstore_clock.advance(timedelta(minutes=100))
        assert not alive(tti_storage, attachment)

    def test_objects_of_several_scopes_and_batches_are_all_refreshed(
        self,
        tti_storage: ObjectstoreStorage,
        make_attachment: MakeAttachment,
        project: Project,
        objectstore_clock: OffsetClock,
    ) -> None:
        other = Project.objects.create(organization=Organization.objects.create(name="B"), name="X")
        attachments = [make_attachment(b"a", into=project if i % 2 else other) for i in range(7)]
        out, _ = run_across_deadline(objectstore_clock, batch_size=2, concurrency=2)
        assert all(alive(tti_storage, a) for a in attachments)
        assert "checked 7, refreshed 7" in out

    def test_dry_run_touches_nothing(
        self,
        tti_storage: ObjectstoreStorage,
        make_attachment: MakeAttachment,
        objectstore_clock: OffsetClock,
    ) -> None:
        attachment = make_attachment()
        out, _ = run_across_deadline(objectstore_clock, dry_run=True)
        assert not alive(tti_storage, attachment)
        assert "would refresh 1 object(s) of example.Attachment.file" in out
        assert "nothing was touched" in out

    def test_model_filter_refreshes_only_that_field(
        self,
        tti_storage: ObjectstoreStorage,
        make_attachment: MakeAttachment,
        objectstore_clock: OffsetClock,
    ) -> None:
        attachment = make_attachment()
        run_across_deadline(objectstore_clock, model=["example.Report"])
        assert not alive(tti_storage, attachment)

    def test_usecase_filter_with_another_usecase_refreshes_nothing(
        self, make_attachment: MakeAttachment
    ) -> None:
        make_attachment()
        out, _ = run(usecase=["some-other-usecase"])
        assert "No ObjectstoreFileField" in out

    def test_unknown_model_is_an_error_naming_it(self) -> None:
        with pytest.raises(CommandError, match=r"example\.Nope"):
            run(model=["example.Nope"])

    @pytest.mark.parametrize(
        "option", [{"batch_size": 0}, {"batch_size": 1001}, {"concurrency": 0}]
    )
    def test_invalid_sizes_are_errors(self, option: dict[str, int]) -> None:
        with pytest.raises(CommandError):
            run(**option)


class TestMissing:
    @pytest.fixture
    def gone(self, tti_storage: ObjectstoreStorage, make_attachment: MakeAttachment) -> Attachment:
        make_attachment(b"kept")
        attachment = make_attachment(b"lost")
        tti_storage.delete(attachment.file.name or "")
        return attachment

    def test_missing_references_are_reported_as_csv_and_kept(
        self, gone: Attachment, tmp_path: Path
    ) -> None:
        report = tmp_path / "missing.csv"
        out, _ = run(report=str(report))
        rows = list(csv.reader(report.read_text(encoding="utf-8").splitlines()))
        assert rows == [
            ["model", "pk", "field", "name"],
            ["example.Attachment", str(gone.pk), "file", gone.file.name],
        ]
        assert "checked 2, refreshed 1, missing 1, failed 0" in out
        gone.refresh_from_db()
        assert gone.file.name

    def test_clear_missing_empties_the_field(self, gone: Attachment) -> None:
        run(clear_missing=True)
        gone.refresh_from_db()
        assert not gone.file.name
        assert Attachment.objects.exclude(file="").count() == 1

    def test_dry_run_with_clear_missing_changes_nothing(self, gone: Attachment) -> None:
        run(clear_missing=True, dry_run=True)
        gone.refresh_from_db()
        assert gone.file.name

    def test_verbosity_0_prints_nothing(self, gone: Attachment) -> None:
        out, err = run(verbosity=0)
        assert out == ""
        assert err == ""

    def test_verbosity_1_prints_only_the_summary(self, gone: Attachment) -> None:
        out, _ = run(verbosity=1)
        assert out.splitlines() == [out.splitlines()[0]]
        assert out.startswith("checked 2, refreshed 1, missing 1, failed 0, elapsed ")

    def test_verbosity_2_names_each_missing_reference(self, gone: Attachment) -> None:
        out, _ = run(verbosity=2)
        assert f"missing: example.Attachment pk={gone.pk} file={gone.file.name!r}" in out
        assert "checked 2" in out.splitlines()[-1]


class UnreachableScopeStorage(ObjectstoreStorage):
    """Sends the requests of one scope to a port nobody listens on."""

    failing: ClassVar[Scopes | None] = None

    def session_for(self, scopes: Scopes) -> Session:
        if scopes == self.failing:
            return Session(Client("http://127.0.0.1:9", retries=0), self.usecase, scopes)
        return super().session_for(scopes)


class TestFailures:
    @pytest.fixture
    def flaky(
        self, objectstore_server: ObjectstoreServer, objectstore_usecase: str
    ) -> Iterator[type[UnreachableScopeStorage]]:
        config = storage_config(
            str(objectstore_server), objectstore_usecase, expiration_policy="tti:1h"
        )
        config["BACKEND"] = f"{__name__}.UnreachableScopeStorage"
        with override_settings(STORAGES={**settings.STORAGES, "attachments": config}):
            yield UnreachableScopeStorage
            storages["attachments"].close()  # type: ignore[attr-defined]
        UnreachableScopeStorage.failing = None

    def test_a_failing_batch_fails_the_run_and_a_rerun_succeeds(
        self,
        flaky: type[UnreachableScopeStorage],
        make_attachment: MakeAttachment,
        project: Project,
        objectstore_clock: OffsetClock,
    ) -> None:
        other = Project.objects.create(organization=Organization.objects.create(name="B"), name="X")
        good = [make_attachment(b"g", into=project) for _ in range(3)]
        bad = [make_attachment(b"b", into=other) for _ in range(3)]
        flaky.failing = storages["attachments"].parse_name(bad[0].file.name)[0]  # type: ignore[attr-defined]
        objectstore_clock.advance(timedelta(minutes=50))
        err = StringIO()
        with pytest.raises(CommandError, match="3 reference"):
            call_command("objectstore_keepalive", batch_size=2, stdout=StringIO(), stderr=err)
        for attachment in bad:
            assert f"example.Attachment pk={attachment.pk}" in err.getvalue()
        assert "127.0.0.1:9" in err.getvalue()

        flaky.failing = None
        out, _ = run(batch_size=2)
        assert "checked 6, refreshed 6, missing 0, failed 0" in out
        objectstore_clock.advance(timedelta(minutes=50))
        storage = storages["attachments"]
        assert all(storage.exists(a.file.name or "") for a in good + bad)

    def test_failure_exits_non_zero_from_the_command_line(
        self, flaky: type[UnreachableScopeStorage], make_attachment: MakeAttachment
    ) -> None:
        attachment = make_attachment()
        flaky.failing = storages["attachments"].parse_name(attachment.file.name)[0]  # type: ignore[attr-defined]
        with pytest.raises(SystemExit) as exit_info:
            from django.core.management import execute_from_command_line

            execute_from_command_line(["manage.py", "objectstore_keepalive", "--verbosity", "0"])
        assert exit_info.value.code == 1


class TestNonTtiUsecase:
    @pytest.fixture
    def manual_storage(
        self, objectstore_server: ObjectstoreServer, objectstore_usecase: str
    ) -> Iterator[None]:
        config = storage_config(str(objectstore_server), objectstore_usecase)
        with override_settings(STORAGES={**settings.STORAGES, "attachments": config}):
            yield
            storages["attachments"].close()  # type: ignore[attr-defined]

    def test_only_tti_usecases_are_touched_by_default(
        self, manual_storage: None, make_attachment: MakeAttachment
    ) -> None:
        make_attachment()
        out, _ = run()
        assert out.strip() == "No ObjectstoreFileField with a time-to-idle usecase found."

    def test_all_touches_every_usecase(
        self, manual_storage: None, make_attachment: MakeAttachment
    ) -> None:
        make_attachment()
        out, _ = run(all=True)
        assert "checked 1, refreshed 1" in out


def test_default_concurrency_is_one_for_in_process_stores_and_four_over_http() -> None:
    from django_objectstore.jobs.keepalive import default_concurrency
    from django_objectstore.storage import ObjectstoreStorage

    class Source:
        def __init__(self, url: str) -> None:
            self.storage = ObjectstoreStorage(base_url=url, usecase="files")

    embedded = Source("embedded:///tmp/store")
    memory = Source("memory://keepalive")
    remote = Source("http://127.0.0.1:9")
    assert default_concurrency([embedded, memory]) == 1  # type: ignore[list-item]
    assert default_concurrency([embedded, remote]) == 4  # type: ignore[list-item]


def test_keepalive_refreshes_objects_of_rows_the_default_manager_hides(
    tti_storage: ObjectstoreStorage, project: Project, objectstore_clock: OffsetClock
) -> None:
    note = Note(project=project)
    note.file.save("note.txt", ContentFile(b"soft-deleted"), save=True)
    Note.objects.filter(pk=note.pk).update(deleted=True)
    assert not Note.objects.exists()  # hidden, but the row still references its object
    out, _ = run_across_deadline(objectstore_clock, model=["example.Note"])
    assert "checked 1, refreshed 1, missing 0, failed 0" in out
    assert tti_storage.exists(note.file.name or "")
