"""``manage.py objectstore_check`` against the real test servers."""

from __future__ import annotations

from collections.abc import Iterator
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.storage import storages
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from django_objectstore.jobs.roundtrip import CHECK_SCOPES
from django_objectstore.pytest_plugin import ObjectstoreAuthServer, ObjectstoreServer
from django_objectstore.storage import ObjectstoreStorage
from tests.django.commands.configs import storage_config

UNREACHABLE = "http://127.0.0.1:9"


@pytest.fixture
def configure() -> Iterator[Any]:
    """``configure(alias=config, ...)``: replace settings.STORAGES for the test."""
    stack: list[Any] = []

    def apply(**aliases: dict[str, Any]) -> None:
        manager = override_settings(STORAGES={"default": settings.STORAGES["default"], **aliases})
        manager.enable()
        stack.append(manager)

    yield apply
    for alias in list(getattr(storages, "_storages", {})):
        storage = storages[alias]
        if isinstance(storage, ObjectstoreStorage):
            storage.close()
    for manager in reversed(stack):
        manager.disable()


def check(*args: str, **options: Any) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("objectstore_check", *args, stdout=out, stderr=err, **options)
    return out.getvalue(), err.getvalue()


def test_a_working_storage_passes_with_one_ok_line(
    configure: Any, objectstore_server: ObjectstoreServer, objectstore_usecase: str
) -> None:
    configure(attachments=storage_config(str(objectstore_server), objectstore_usecase))
    out, err = check()
    assert out.startswith("attachments: OK (round trip on http://")
    assert err == ""


def test_the_probe_object_is_cleaned_up(
    configure: Any, objectstore_server: ObjectstoreServer, objectstore_usecase: str
) -> None:
    configure(attachments=storage_config(str(objectstore_server), objectstore_usecase))
    check()
    files = [p for p in objectstore_server.path.rglob("*") if objectstore_usecase in str(p)]
    assert [p for p in files if p.is_file()] == []
    storage = storages["attachments"]
    assert isinstance(storage, ObjectstoreStorage)
    assert storage.session_for(CHECK_SCOPES).head("anything") is None


def test_an_embedded_storage_passes(configure: Any, tmp_path: Path) -> None:
    configure(embedded=storage_config(f"embedded://{tmp_path}", "checks"))
    out, _ = check()
    assert "embedded: OK" in out


def test_a_ttl_usecase_round_trip_passes(
    configure: Any, objectstore_server: ObjectstoreServer, objectstore_usecase: str
) -> None:
    config = storage_config(
        str(objectstore_server), objectstore_usecase, expiration_policy="ttl:1h"
    )
    configure(attachments=config)
    out, _ = check(verbosity=0)
    assert out == ""


def test_an_unreachable_storage_fails_naming_the_alias(
    configure: Any, objectstore_server: ObjectstoreServer, objectstore_usecase: str
) -> None:
    configure(
        good=storage_config(str(objectstore_server), objectstore_usecase),
        down=storage_config(UNREACHABLE, objectstore_usecase, client_options={"retries": 0}),
    )
    out = StringIO()
    err = StringIO()
    with pytest.raises(CommandError, match=r"1 of 2 storage.*failed the check: down"):
        call_command("objectstore_check", stdout=out, stderr=err)
    assert "good: OK" in out.getvalue()
    assert err.getvalue().startswith("down: FAILED at reach: ")
    assert UNREACHABLE in err.getvalue()


def test_missing_credentials_fail_at_auth(
    configure: Any, objectstore_auth_server: ObjectstoreAuthServer, objectstore_usecase: str
) -> None:
    configure(secured=storage_config(str(objectstore_auth_server), objectstore_usecase))
    err = StringIO()
    with pytest.raises(CommandError):
        call_command("objectstore_check", stdout=StringIO(), stderr=err)
    assert err.getvalue().startswith("secured: FAILED at auth: "), err.getvalue()


def test_credentials_that_work_pass(
    configure: Any, objectstore_auth_server: ObjectstoreAuthServer, objectstore_usecase: str
) -> None:
    config = storage_config(
        str(objectstore_auth_server),
        objectstore_usecase,
        signing_kid=objectstore_auth_server.kid,
        signing_key=objectstore_auth_server.private_key_pem,
    )
    configure(secured=config)
    out, _ = check()
    assert "secured: OK" in out


def test_storage_option_checks_only_that_alias(
    configure: Any, objectstore_server: ObjectstoreServer, objectstore_usecase: str
) -> None:
    configure(
        good=storage_config(str(objectstore_server), objectstore_usecase),
        down=storage_config(UNREACHABLE, objectstore_usecase, client_options={"retries": 0}),
    )
    out, _ = check(storage=["good"])
    assert out.startswith("good: OK")


def test_an_unknown_alias_is_an_error_listing_the_known_ones(
    configure: Any, objectstore_server: ObjectstoreServer, objectstore_usecase: str
) -> None:
    configure(good=storage_config(str(objectstore_server), objectstore_usecase))
    with pytest.raises(CommandError, match="nope; objectstore storages: good"):
        check(storage=["nope"])


def test_no_objectstore_storage_is_an_error(configure: Any) -> None:
    configure()
    with pytest.raises(CommandError, match="no storage"):
        check()


def test_failure_exits_non_zero_from_the_command_line(
    configure: Any, objectstore_usecase: str
) -> None:
    from django.core.management import execute_from_command_line

    configure(down=storage_config(UNREACHABLE, objectstore_usecase, client_options={"retries": 0}))
    with pytest.raises(SystemExit) as exit_info:
        execute_from_command_line(["manage.py", "objectstore_check"])
    assert exit_info.value.code == 1
