"""The download view through the example site's URLs, against a real server."""

from __future__ import annotations

import warnings
from typing import Any

import pytest
import zstandard
from asgiref.sync import async_to_sync
from django.core.files.base import ContentFile
from django.core.signals import request_finished
from django.db import close_old_connections
from django.http import HttpRequest
from django.test import AsyncClient, Client, override_settings
from django.urls import reverse

from django_objectstore.storage import ObjectstoreStorage
from testproject.example.models import Attachment, Project

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("attachments_storage")]

TEXT = b"".join(b"line %05d of the attachment\n" % i for i in range(2000))


def _attach(project: Project, data: bytes = TEXT, filename: str = "notes.txt") -> Attachment:
    return Attachment.objects.create(project=project, file=ContentFile(data, filename))


def _url(project: Project, name: str | None) -> str:
    assert name
    return reverse(
        "project-file",
        kwargs={"org_id": project.organization_id, "project_id": project.pk, "name": name},
    )


def _body(response: object) -> bytes:
    return b"".join(response.streaming_content)  # type: ignore[attr-defined]


def _closed(response: Any) -> Any:
    """``response`` closed unread, as a server closes it when the client hangs up after the
    headers: the GET behind a streamed body ends now, not when garbage is collected.

    Like Django's test client, without ``close_old_connections``: the test's transaction
    is still open, and closing its connection (PostgreSQL does, SQLite's in-memory one
    does not) would drop the pending on-commit callbacks of the rows the test saved.
    """
    request_finished.disconnect(close_old_connections)
    try:
        response.close()
    finally:
        request_finished.connect(close_old_connections)
    return response


def refuse(request: HttpRequest, name: str) -> bool:
    return False


def test_download_streams_the_file_with_type_and_inline_disposition(project: Project) -> None:
    attachment = _attach(project)
    response = Client().get(_url(project, attachment.file.name))
    assert response.status_code == 200
    assert response.streaming
    assert _body(response) == TEXT
    assert response["Content-Type"].startswith("text/plain")
    assert response["Content-Disposition"] == 'inline; filename="notes.txt"'
    assert response["Content-Length"] == str(len(TEXT))
    assert response["Accept-Ranges"] == "bytes"
    assert "Content-Encoding" not in response


def test_download_query_asks_for_an_attachment(project: Project) -> None:
    attachment = _attach(project)
    response = _closed(Client().get(_url(project, attachment.file.name) + "?download=1"))
    assert response["Content-Disposition"] == 'attachment; filename="notes.txt"'


def test_html_is_never_served_inline(project: Project) -> None:
    attachment = _attach(project, b"<script>alert(1)</script>", "page.html")
    response = _closed(Client().get(_url(project, attachment.file.name)))
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"


def test_non_ascii_filename_uses_rfc_6266_filename_star(project: Project) -> None:
    attachment = _attach(project, b"x", "résumé 2026.txt")
    response = _closed(Client().get(_url(project, attachment.file.name)))
    assert response["Content-Disposition"] == "inline; filename*=utf-8''r%C3%A9sum%C3%A9%202026.txt"


def test_range_request_answers_206_with_the_bytes(project: Project) -> None:
    attachment = _attach(project)
    response = Client().get(_url(project, attachment.file.name), headers={"Range": "bytes=10-99"})
    assert response.status_code == 206
    assert _body(response) == TEXT[10:100]
    assert response["Content-Range"] == f"bytes 10-99/{len(TEXT)}"
    assert response["Content-Length"] == "90"


def test_suffix_range_returns_the_last_bytes(project: Project) -> None:
    attachment = _attach(project)
    response = Client().get(_url(project, attachment.file.name), headers={"Range": "bytes=-5"})
    assert response.status_code == 206
    assert _body(response) == TEXT[-5:]


def test_range_beyond_the_end_answers_416(project: Project) -> None:
    attachment = _attach(project)
    response = Client().get(
        _url(project, attachment.file.name), headers={"Range": f"bytes={len(TEXT)}-"}
    )
    assert response.status_code == 416
    assert response["Content-Range"] == f"bytes */{len(TEXT)}"


def test_etag_and_last_modified_allow_conditional_get(project: Project) -> None:
    attachment = _attach(project)
    url = _url(project, attachment.file.name)
    first = _closed(Client().get(url))
    etag, modified = first["ETag"], first["Last-Modified"]
    assert Client().get(url, headers={"If-None-Match": etag}).status_code == 304
    assert Client().get(url, headers={"If-Modified-Since": modified}).status_code == 304
    assert _closed(Client().get(url, headers={"If-None-Match": '"other"'})).status_code == 200
    assert Client().get(url, headers={"If-Match": '"other"'}).status_code == 412


def test_if_range_with_a_stale_etag_sends_the_whole_file(project: Project) -> None:
    attachment = _attach(project)
    url = _url(project, attachment.file.name)
    etag = _closed(Client().get(url))["ETag"]
    fresh = _closed(Client().get(url, headers={"Range": "bytes=0-9", "If-Range": etag}))
    stale = Client().get(url, headers={"Range": "bytes=0-9", "If-Range": '"stale"'})
    assert fresh.status_code == 206
    assert stale.status_code == 200
    assert _body(stale) == TEXT


def test_head_sends_the_headers_without_a_body(project: Project) -> None:
    attachment = _attach(project)
    response = Client().head(_url(project, attachment.file.name))
    assert response.status_code == 200
    assert response["Content-Length"] == str(len(TEXT))
    assert response.content == b""


def test_zstd_object_passes_through_to_clients_that_accept_zstd(
    project: Project,
    attachments_storage: ObjectstoreStorage,
) -> None:
    attachment = _attach(project)
    response = Client().get(
        _url(project, attachment.file.name), headers={"Accept-Encoding": "gzip, zstd"}
    )
    assert response["Content-Encoding"] == "zstd"
    assert response["Vary"] == "Accept-Encoding"
    body = _body(response)
    assert len(body) < len(TEXT)
    assert zstandard.ZstdDecompressor().decompressobj().decompress(body) == TEXT


def test_zstd_object_is_decompressed_for_clients_that_do_not_accept_it(project: Project) -> None:
    attachment = _attach(project)
    url = _url(project, attachment.file.name)
    for accept in ("gzip, br", "zstd;q=0", None):
        headers = {"Accept-Encoding": accept} if accept else {}
        response = Client().get(url, headers=headers)
        assert "Content-Encoding" not in response
        assert _body(response) == TEXT


def test_range_of_a_decompressed_object_addresses_decompressed_bytes(project: Project) -> None:
    attachment = _attach(project)
    response = Client().get(
        _url(project, attachment.file.name),
        headers={"Range": "bytes=1000-1999", "Accept-Encoding": "gzip"},
    )
    assert response.status_code == 206
    assert _body(response) == TEXT[1000:2000]
    assert response["Content-Range"] == f"bytes 1000-1999/{len(TEXT)}"


def test_passthrough_and_decompressed_representations_have_different_etags(
    project: Project,
) -> None:
    attachment = _attach(project)
    url = _url(project, attachment.file.name)
    zstd = _closed(Client().get(url, headers={"Accept-Encoding": "zstd"}))
    plain = _closed(Client().get(url, headers={"Accept-Encoding": "gzip"}))
    assert zstd["ETag"] != plain["ETag"]


def test_file_of_another_scope_answers_404(project: Project) -> None:
    other = Project.objects.create(organization=project.organization, name="Other")
    foreign = _attach(other)
    response = Client().get(_url(project, foreign.file.name))
    assert response.status_code == 404


def test_forged_name_answers_404(project: Project) -> None:
    attachment = _attach(project)
    key = str(attachment.file.name).split("/", 1)[1]
    for name in (f"org={project.organization_id}/{key}", f"_/{key}", f"x/../{key}", key):
        assert Client().get(_url(project, name)).status_code == 404


def test_missing_object_answers_404(project: Project) -> None:
    scope = f"org={project.organization_id};project={project.pk}"
    assert Client().get(_url(project, f"{scope}/no-such-key")).status_code == 404


def _unsigned(url: str) -> str:
    return url.split("?", 1)[0]


def test_signed_url_downloads_for_anonymous_visitors(project: Project) -> None:
    attachment = _attach(project)
    response = Client().get(attachment.file.url)
    assert response.status_code == 200
    assert _body(response) == TEXT


def test_unsigned_unscoped_download_is_refused_to_anonymous_users(project: Project) -> None:
    attachment = _attach(project)
    response = Client().get(_unsigned(attachment.file.url))
    assert response.status_code == 403


def test_unsigned_unscoped_download_is_allowed_by_the_permission_hook(
    project: Project, admin_client: Client
) -> None:
    attachment = _attach(project)
    url = _unsigned(attachment.file.url)
    assert url.startswith("/objectstore/")
    response = admin_client.get(url)
    assert response.status_code == 200
    assert _body(response) == TEXT


def test_unsigned_unscoped_download_without_a_hook_is_refused(
    project: Project, admin_client: Client
) -> None:
    attachment = _attach(project)
    with override_settings(OBJECTSTORE={"download_permission": None}):
        assert admin_client.get(_unsigned(attachment.file.url)).status_code == 403


def test_permission_hook_refusal_answers_403(project: Project) -> None:
    attachment = _attach(project)
    settings = {
        "scope_resolver": "testproject.example.scopes.scope_from_url",
        "download_permission": f"{__name__}.refuse",
    }
    with override_settings(OBJECTSTORE=settings):
        response = Client().get(_url(project, attachment.file.name))
    assert response.status_code == 403


HUGE = "9" * 5000  # beyond int()'s 4,300-digit limit


@pytest.mark.parametrize(
    ("header", "status", "expected"),
    [
        ("bytes=\u0660-\u0661", 200, TEXT),  # Arabic-Indic digits are not digits here
        ("bytes=\uff10-\uff19", 200, TEXT),
        (f"bytes=0-{HUGE}", 206, TEXT),
        (f"bytes=-{HUGE}", 206, TEXT),
        (f"bytes={HUGE}-", 416, b""),
        (f"bytes={'0' * 5000}1-2", 206, TEXT[1:3]),
    ],
)
def test_hostile_ranges_get_the_file_or_416_never_500(
    project: Project, header: str, status: int, expected: bytes
) -> None:
    attachment = _attach(project)
    for accept in ("zstd", "gzip"):  # passed through and decompressed representations
        response = Client().get(
            _url(project, attachment.file.name),
            headers={"Range": header, "Accept-Encoding": accept},
        )
        assert response.status_code == status
        if status == 416:  # the size of the representation: compressed for zstd
            assert response["Content-Range"].startswith("bytes */")
        elif accept == "gzip":
            assert _body(response) == expected
        else:
            response.close()


def test_a_response_closed_before_its_first_chunk_gives_the_connection_back(
    project: Project, attachments_storage: ObjectstoreStorage
) -> None:
    # A WSGI server closes the response without reading it when the client goes away
    # first; the open GET behind the body must end then, not when garbage is collected.
    pool = attachments_storage.client.transport.pool  # type: ignore[attr-defined]
    attachment = _attach(project)
    # Stored bytes are streamed from the open GET (small decompressed files are not).
    for headers in ({"Accept-Encoding": "zstd"}, {"Accept-Encoding": "zstd", "Range": "bytes=9-"}):
        response = Client().get(_url(project, attachment.file.name), headers=headers)
        assert response.streaming
        assert pool.pool.qsize() < pool.pool.maxsize  # the body's connection is out
        response.close()
        assert pool.pool.qsize() == pool.pool.maxsize, headers


def test_post_is_not_allowed(project: Project) -> None:
    attachment = _attach(project)
    assert Client().post(_url(project, attachment.file.name)).status_code == 405


def test_download_under_asgi_streams_through_an_async_iterator(project: Project) -> None:
    attachment = _attach(project)
    url = _url(project, attachment.file.name)

    async def fetch() -> tuple[bool, bytes]:
        response: Any = await AsyncClient().get(url, headers={"Range": "bytes=5-"})
        parts = [part async for part in response.streaming_content]
        return response.is_async, b"".join(parts)

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Django warns when it must buffer a sync iterator
        is_async, body = async_to_sync(fetch)()
    assert is_async
    assert body == TEXT[5:]
