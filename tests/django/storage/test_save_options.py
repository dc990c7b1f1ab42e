"""Expiration decided per save (a callable or dotted path) and ``ObjectstoreContent``."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from django_objectstore.client import TimeToIdle, TimeToLive
from django_objectstore.storage import ObjectstoreContent, ObjectstoreStorage

calls: list[int] = []


def retention_policy() -> str:
    """What a project reads from its options at runtime: a TTL in days."""
    calls.append(1)
    return f"ttl:{getattr(settings, 'TEST_RETENTION_DAYS', 30)} days"


def not_a_policy() -> object:
    return 42


def test_a_dotted_path_policy_is_evaluated_for_every_save(make_storage: Any, prefix: str) -> None:
    storage = make_storage(expiration_policy=f"{__name__}.retention_policy")
    assert storage.expiration_policy is None  # nothing frozen at construction
    first = storage.save(f"{prefix}/a.txt", ContentFile(b"a"))
    with override_settings(TEST_RETENTION_DAYS=7):
        second = storage.save(f"{prefix}/b.txt", ContentFile(b"b"))
        assert storage.expiration_policy_now() == TimeToLive(timedelta(days=7))
    assert storage.metadata(first).expiration_policy == TimeToLive(timedelta(days=30))
    assert storage.metadata(second).expiration_policy == TimeToLive(timedelta(days=7))


def test_a_callable_policy_may_return_a_policy_object(make_storage: Any, prefix: str) -> None:
    storage = make_storage(expiration_policy=lambda: TimeToIdle(timedelta(days=90)))
    name = storage.save(f"{prefix}/c.txt", ContentFile(b"c"))
    assert storage.metadata(name).expiration_policy == TimeToIdle(timedelta(days=90))


def test_a_fixed_policy_string_keeps_working(make_storage: Any, prefix: str) -> None:
    storage = make_storage(expiration_policy="tti:30 days")
    assert storage.expiration_policy == TimeToIdle(timedelta(days=30))
    name = storage.save(f"{prefix}/d.txt", ContentFile(b"d"))
    assert storage.metadata(name).expiration_policy == TimeToIdle(timedelta(days=30))


def test_an_unimportable_policy_path_is_improperly_configured(make_storage: Any) -> None:
    with pytest.raises(ImproperlyConfigured, match="cannot be imported"):
        make_storage(expiration_policy="myproject.nowhere.policy")


def test_a_callable_returning_no_policy_fails_the_save_naming_it(
    make_storage: Any, prefix: str
) -> None:
    storage = make_storage(expiration_policy=f"{__name__}.not_a_policy")
    with pytest.raises(ImproperlyConfigured, match="not_a_policy"):
        storage.save(f"{prefix}/e.txt", ContentFile(b"e"))


def test_objectstore_content_sets_policy_metadata_origin_and_type_for_one_save(
    make_storage: Any, prefix: str
) -> None:
    storage = make_storage(expiration_policy="tti:30 days")
    content = ObjectstoreContent(
        ContentFile(b"%PDF-1.7", name="report.bin"),
        expiration_policy="ttl:7 days",
        metadata={"event": "e1", "kind": "minidump"},
        origin="203.0.113.9",
        content_type="application/pdf",
    )
    name = storage.save(f"{prefix}/report.bin", content)
    meta = storage.metadata(name)
    assert meta.expiration_policy == TimeToLive(timedelta(days=7))
    assert meta.custom["event"] == "e1" and meta.custom["kind"] == "minidump"
    assert meta.origin == "203.0.113.9"
    assert meta.content_type == "application/pdf"
    assert meta.filename == "report.bin"
    assert storage.size(name) == len(b"%PDF-1.7")
    plain = storage.save(f"{prefix}/plain.bin", ContentFile(b"x"))
    assert storage.metadata(plain).expiration_policy == TimeToIdle(timedelta(days=30))


def test_objectstore_content_manual_overrides_the_storages_policy(
    make_storage: Any, prefix: str
) -> None:
    storage = make_storage(expiration_policy="tti:30 days")
    name = storage.save(f"{prefix}/keep.bin", ObjectstoreContent(b"x", expiration_policy="manual"))
    assert storage.metadata(name).expiration_policy is None
    assert storage.metadata(name).time_expires is None


def test_objectstore_content_keeps_what_an_upload_says(make_storage: Any, prefix: str) -> None:
    storage = make_storage()
    upload = SimpleUploadedFile("Notes ä.txt", "grüße".encode(), "text/plain; charset=utf-8")
    name = storage.save(f"{prefix}/notes.txt", ObjectstoreContent(upload, origin="form"))
    meta = storage.metadata(name)
    assert (meta.filename, meta.content_type, meta.origin) == (
        "Notes ä.txt",
        "text/plain; charset=utf-8",
        "form",
    )
    with storage.open(name) as handle:
        assert handle.read() == "grüße".encode()


def test_objectstore_content_takes_bytes_and_a_name(make_storage: Any, prefix: str) -> None:
    storage = make_storage()
    name = storage.save(None, ObjectstoreContent(b"raw", "raw.bin", metadata={"a": "b"}))
    assert name.startswith("_/")
    assert storage.metadata(name).filename == "raw.bin"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"metadata": {"size": "1"}}, "reserved"),
        ({"metadata": {"a": 1}}, "str"),
        ({"expiration_policy": "tti:forever"}, "expiration_policy"),
        ({"origin": ""}, "origin"),
        ({"content_type": 3}, "content_type"),
    ],
)
def test_objectstore_content_rejects_invalid_options_before_any_upload(
    kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        ObjectstoreContent(b"x", "x.bin", **kwargs)


def test_other_storages_see_an_ordinary_file(tmp_path: Any) -> None:
    from django.core.files.storage import FileSystemStorage

    local = FileSystemStorage(location=tmp_path)
    name = local.save("f.txt", ObjectstoreContent(ContentFile(b"plain"), metadata={"a": "b"}))
    assert (tmp_path / name).read_bytes() == b"plain"


def test_model_file_save_takes_objectstore_content(attachments_storage: Any, project: Any) -> None:
    from testproject.example.models import Attachment

    attachment = Attachment(project=project)
    attachment.file.save(
        "crash.dmp",
        ObjectstoreContent(ContentFile(b"MDMP"), expiration_policy="ttl:1 day", origin="api"),
    )
    meta = attachments_storage.metadata(attachment.file.name)
    assert meta.expiration_policy == TimeToLive(timedelta(days=1))
    assert meta.origin == "api"
    assert Attachment.objects.get(pk=attachment.pk).file.read() == b"MDMP"


def test_the_storages_class_attribute_may_be_a_policy_callable(
    prefix: str, make_storage: Any
) -> None:
    class RetainedStorage(ObjectstoreStorage):
        expiration_policy = f"{__name__}.retention_policy"  # type: ignore[assignment]

    storage = RetainedStorage(base_url=make_storage().resolved_base_url(), usecase="retained")
    try:
        before = len(calls)
        storage.save(f"{prefix}/f.txt", ContentFile(b"f"))
        assert len(calls) == before + 1
    finally:
        storage.close()
