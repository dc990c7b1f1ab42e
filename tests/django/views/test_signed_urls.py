"""file.url works without a request scope: signed proxy URLs, through the real view."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.http import HttpRequest
from django.template import Context, Template
from django.test import Client, override_settings

from django_objectstore.pytest_plugin import ObjectstoreServer
from django_objectstore.storage import ObjectstoreStorage, signed_urls
from testproject.example.models import Attachment, Project

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("attachments_storage")]

BODY = b"signed body\n" * 100
NO_HOOK = {"download_permission": None}


def _attach(project: Project, data: bytes = BODY, filename: str = "notes.txt") -> Attachment:
    return Attachment.objects.create(project=project, file=ContentFile(data, filename))


def _body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def _with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    query.update(changes)
    return f"{parts.path}?{urlencode(query)}"


def refuse(request: HttpRequest, name: str) -> bool:
    return False


def test_a_signed_url_needs_no_scope_and_no_hook(project: Project) -> None:
    attachment = _attach(project)
    with override_settings(OBJECTSTORE=NO_HOOK):
        response = Client().get(attachment.file.url)
    assert response.status_code == 200
    assert _body(response) == BODY


def test_a_signed_url_works_without_the_middleware(project: Project) -> None:
    attachment = _attach(project)
    middleware = [m for m in settings.MIDDLEWARE if "objectstore" not in m]
    with override_settings(OBJECTSTORE=NO_HOOK, MIDDLEWARE=middleware):
        assert Client().get(attachment.file.url).status_code == 200


def test_a_page_rendered_twice_links_the_same_url(project: Project) -> None:
    attachment = _attach(project)
    template = Template('<a href="{{ a.file.url }}">{{ a.file.name }}</a>')
    first = template.render(Context({"a": attachment}))
    second = template.render(Context({"a": Attachment.objects.get(pk=attachment.pk)}))
    assert first == second
    assert "signature=" in first


def test_a_signed_response_may_be_cached_until_the_signature_expires(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    attachment = _attach(project)
    monkeypatch.setattr(signed_urls, "now", lambda: 1_800_000_000)
    url = attachment.file.url
    monkeypatch.setattr(signed_urls, "now", lambda: 1_800_000_100)
    response = Client().get(url)
    assert response["Cache-Control"] == "private, max-age=3500"


def test_a_signature_for_another_name_is_refused(project: Project) -> None:
    mine, theirs = _attach(project), _attach(project, b"theirs")
    signature = parse_qs(urlsplit(mine.file.url).query)["signature"][0]
    expires = parse_qs(urlsplit(mine.file.url).query)["expires"][0]
    forged = _with_query(urlsplit(theirs.file.url).path, expires=expires, signature=signature)
    with override_settings(OBJECTSTORE=NO_HOOK):
        response = Client().get(forged)
    assert response.status_code == 403


def test_a_signature_for_another_storage_is_refused(
    project: Project, objectstore_server: ObjectstoreServer, attachments_storage: ObjectstoreStorage
) -> None:
    attachment = _attach(project)
    other = {
        "BACKEND": "django_objectstore.storage.ObjectstoreStorage",
        "OPTIONS": {
            "alias": "avatars",
            "base_url": str(objectstore_server),
            "usecase": attachments_storage.usecase.name,  # the same objects, even
        },
    }
    url = attachment.file.url
    with override_settings(STORAGES={**settings.STORAGES, "avatars": other}, OBJECTSTORE=NO_HOOK):
        assert Client().get(url).status_code == 200
        assert Client().get(_with_query(url, storage="avatars")).status_code == 403


def test_an_edited_expiry_or_signature_is_refused(project: Project) -> None:
    attachment = _attach(project)
    url = attachment.file.url
    expires = int(parse_qs(urlsplit(url).query)["expires"][0])
    with override_settings(OBJECTSTORE=NO_HOOK):
        assert Client().get(_with_query(url, expires=str(expires + 3600))).status_code == 403
        assert Client().get(_with_query(url, signature="A" * 43)).status_code == 403
        assert Client().get(_with_query(url, expires="\u0661" * 10)).status_code == 403
        assert Client().get(_with_query(url, expires="9" * 5000)).status_code == 403


def test_a_signature_past_its_expiry_is_refused(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    attachment = _attach(project)
    url = attachment.file.url
    expires = int(parse_qs(urlsplit(url).query)["expires"][0])
    with override_settings(OBJECTSTORE=NO_HOOK):
        monkeypatch.setattr(signed_urls, "now", lambda: expires - 1)
        assert Client().get(url).status_code == 200
        monkeypatch.setattr(signed_urls, "now", lambda: expires)
        assert Client().get(url).status_code == 403


def test_an_expired_signature_falls_back_to_the_request_scope(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A stale link still works for whoever may read the file anyway (here: staff)."""
    attachment = _attach(project)
    url = attachment.file.url
    monkeypatch.setattr(signed_urls, "now", lambda: 4_000_000_000)
    assert Client().get(url).status_code == 403
    staff = Client()
    staff.force_login(_staff())
    assert staff.get(url).status_code == 200


def test_signatures_survive_a_secret_key_rotation(project: Project) -> None:
    attachment = _attach(project)
    url = attachment.file.url
    with override_settings(
        SECRET_KEY="a-new-secret-key-" + "x" * 40,
        SECRET_KEY_FALLBACKS=[settings.SECRET_KEY],
        OBJECTSTORE=NO_HOOK,
    ):
        assert Client().get(url).status_code == 200
    with override_settings(SECRET_KEY="a-new-secret-key-" + "x" * 40, OBJECTSTORE=NO_HOOK):
        assert Client().get(url).status_code == 403


def test_the_permission_hook_still_decides_for_signed_urls(project: Project) -> None:
    attachment = _attach(project)
    with override_settings(OBJECTSTORE={"download_permission": f"{__name__}.refuse"}):
        assert Client().get(attachment.file.url).status_code == 403


def test_the_hook_sees_the_files_scope_for_a_signed_url(project: Project) -> None:
    """The example's hook allows scoped requests: a signed one counts as scoped."""
    attachment = _attach(project)
    assert settings.OBJECTSTORE["download_permission"] == "testproject.example.scopes.can_download"
    assert Client().get(attachment.file.url).status_code == 200


def test_a_forged_name_with_a_valid_signature_for_it_cannot_escape_its_scope(
    project: Project, attachments_storage: ObjectstoreStorage
) -> None:
    attachment = _attach(project)
    key = str(attachment.file.name).split("/", 1)[1]
    for name in (f"x/../{key}", key, f"org={project.organization_id}/../{key}"):
        expires = signed_urls.expiry_for(attachments_storage.url_expiry)
        query = {
            "expires": str(expires),
            "signature": signed_urls.sign("attachments", name, expires),
        }
        response = Client().get(f"/objectstore/{name}?{urlencode(query)}")
        assert response.status_code == 404


def _staff() -> Any:
    from django.contrib.auth.models import User

    return User.objects.create_user("staff", is_staff=True)
