"""System checks: exact ids, offline, and run by ``manage.py check``."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.checks import run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

BACKEND = "django_objectstore.storage.ObjectstoreStorage"
PEM = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIA==\n-----END PRIVATE KEY-----\n"
MIDDLEWARE = "django_objectstore.middleware.ObjectstoreScopeMiddleware"


def storages_with(**options: Any) -> dict[str, Any]:
    return {
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
        "attachments": {"BACKEND": BACKEND, "OPTIONS": {"base_url": "memory://c", **options}},
    }


def ids(include_deployment_checks: bool = False) -> list[str]:
    return sorted(
        message.id
        for message in run_checks(include_deployment_checks=include_deployment_checks)
        if message.id and message.id.startswith("django_objectstore.")
    )


def test_the_example_settings_pass_every_check() -> None:
    assert ids() == []


@pytest.mark.parametrize(
    ("options", "check_id"),
    [
        ({"base_url": "ftp://host"}, "E001"),
        ({"base_url": "http://"}, "E001"),
        ({"base_url": "http://host:notaport"}, "E001"),
        ({"usecase": "x"}, "E002"),
        ({"usecase": "bad name!"}, "E002"),
        ({"expiration_policy": "tti:forever"}, "E003"),
        ({"compression": "gzip"}, "E004"),
        ({"bucket": "b"}, "E005"),
        ({"url_mode": "presigned", "compression": "none"}, "E006"),
        ({"url_mode": "cdn"}, "E007"),
        ({"key_mode": "uuid"}, "E007"),
        ({"allow_overwrite": "yes"}, "E007"),
        ({"url_expiry": "30 days"}, "E008"),
        ({"signing_kid": "k"}, "E009"),
        ({"token": "t", "signing_key": PEM, "signing_kid": "k"}, "E009"),
        ({"signing_key": "not a key", "signing_kid": "k"}, "E009"),
        ({"client_options": {"pool_size": 3}}, "E010"),
        ({"url_mode": "direct"}, "W004"),
    ],
)
def test_storage_options_problems_have_exact_ids(options: dict[str, Any], check_id: str) -> None:
    with override_settings(STORAGES=storages_with(**options)):
        assert ids() == [f"django_objectstore.{check_id}"]


def test_unimportable_objectstore_backend_is_e014() -> None:
    storages = {"attachments": {"BACKEND": "django_objectstore.storage.ObjectStoreStorage"}}
    with override_settings(STORAGES=storages):
        assert ids() == ["django_objectstore.E014"]


def test_class_attributes_count_for_the_checks() -> None:
    storages = {"attachments": {"BACKEND": "tests.django.checks.storages.PresignedStorage"}}
    with override_settings(STORAGES=storages):
        assert ids() == ["django_objectstore.E006"]


@pytest.mark.parametrize(
    ("setting", "check_id"),
    [
        ({"base_url": "gopher://x"}, "E001"),
        ({"bse_url": "http://x"}, "E011"),
        ({"scope_resolver": "no.such.module.resolver"}, "E012"),
        ({"download_permission": "no.such.module.check"}, "E013"),
    ],
)
def test_objectstore_setting_problems_have_exact_ids(
    setting: dict[str, Any], check_id: str
) -> None:
    with override_settings(OBJECTSTORE=setting):
        assert ids() == [f"django_objectstore.{check_id}"]


def test_objectstore_setting_that_is_not_a_dict_is_e011() -> None:
    with override_settings(OBJECTSTORE=["base_url"]):
        assert ids() == ["django_objectstore.E011"]


def test_field_without_scope_and_without_middleware_is_w002(settings: Any) -> None:
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != MIDDLEWARE]
    from django.apps import apps

    from django_objectstore.fields import ObjectstoreFileField

    unscoped = sorted(
        f"{model._meta.label}.{field.name}"
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if isinstance(field, ObjectstoreFileField) and field.scope is None
    )
    assert unscoped, "the example project has a field without scope="
    found = [m for m in run_checks() if m.id == "django_objectstore.W002"]
    assert sorted(str(m.obj) for m in found) == unscoped
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, MIDDLEWARE]
    assert "django_objectstore.W002" not in ids()


def test_proxy_urls_missing_from_the_urlconf_is_w003() -> None:
    with override_settings(ROOT_URLCONF="tests.django.checks.urls"):
        assert ids() == ["django_objectstore.W003"]


def test_embedded_store_without_debug_is_a_deploy_warning_w001() -> None:
    with override_settings(DEBUG=False, STORAGES=storages_with(base_url="embedded:/tmp/x")):
        assert "django_objectstore.W001" not in ids()
        assert ids(include_deployment_checks=True) == ["django_objectstore.W001"]


def test_default_embedded_base_url_counts_for_w001() -> None:
    storages = {"attachments": {"BACKEND": BACKEND}}
    with override_settings(DEBUG=False, STORAGES=storages, OBJECTSTORE={}):
        assert ids(include_deployment_checks=True) == ["django_objectstore.W001"]


def test_real_server_without_debug_passes_deploy_checks() -> None:
    with override_settings(DEBUG=False, STORAGES=storages_with(base_url="https://os.example")):
        assert ids(include_deployment_checks=True) == []


def test_manage_py_check_runs_the_checks() -> None:
    with (
        override_settings(STORAGES=storages_with(usecase="?")),
        pytest.raises(SystemCheckError, match=r"django_objectstore\.E002"),
    ):
        call_command("check", stdout=StringIO(), stderr=StringIO())


def test_manage_py_check_deploy_reports_the_embedded_store() -> None:
    out, err = StringIO(), StringIO()
    with override_settings(DEBUG=False, STORAGES=storages_with(base_url="embedded:data")):
        call_command("check", "--fail-level=ERROR", deploy=True, stdout=out, stderr=err)
    assert "(django_objectstore.W001)" in out.getvalue() + err.getvalue()


def test_checks_do_not_touch_the_network() -> None:
    # An unreachable server is not an error for the checks: they only read settings.
    with override_settings(STORAGES=storages_with(base_url="http://127.0.0.1:9")):
        assert ids() == []


def test_every_check_id_is_documented() -> None:
    import re
    from pathlib import Path

    from django_objectstore import checks

    documented = set(re.findall(r"``([EW]\d{3})``", checks.__doc__ or ""))
    settings_md = (Path(__file__).resolve().parents[3] / "docs" / "settings.md").read_text()
    assert documented
    assert documented == set(re.findall(r"django_objectstore\.([EW]\d{3})", settings_md))
    source = Path(checks.__file__).read_text()
    assert documented == set(re.findall(r'"([EW]\d{3})"', source))
