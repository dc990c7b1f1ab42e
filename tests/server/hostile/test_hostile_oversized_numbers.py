"""Oversized numbers and out-of-range dates get the 4xx the protocol names, never a 500.

Python's ``int()`` refuses strings of more than 4,300 digits and ``datetime`` arithmetic
overflows near the years 1 and 9999; neither may surface as a 500 or a dropped
connection. Statuses (spec/protocol*.md):

- ``Range`` that is not a valid byte range (a position beyond u64): 400 (advanced §4).
- multipart ``part_number`` / ``max_parts`` / ``part_number_marker`` that are not a u32:
  400, plain-text query rejection (advanced §2.3/§2.4).
- pre-signed ``os_duration`` that does not parse: 400; an ``os_timestamp`` that parses
  but whose window does not contain now: 401 (protocol §7.4, checks 2 and 5).

The Django download view ignores a malformed range (RFC 9110) or answers 416, never 206
or 500; ``\\d`` must not let non-ASCII digits through.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from urllib.parse import quote

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.test import Client, override_settings
from django.urls import reverse

from django_objectstore.storage import ObjectstoreStorage

from .hostile_support import KID, AuthServer, Response, ServerProcess, hostile, object_path

HUGE = "9" * 5000
"""Beyond Python's default limit of 4,300 digits for ``int()``."""
PAYLOAD = bytes(range(256)) * 4


def _request(server: ServerProcess, method: str, target: str, **kwargs: object) -> Response:
    hostile()
    response = server.request(method, target, **kwargs)  # type: ignore[arg-type]
    assert response.status != 500, response
    return response


@pytest.fixture(scope="module")
def stored(server: ServerProcess) -> str:
    path = object_path("numbers")
    assert server.request("PUT", path, body=PAYLOAD).status == 200
    return path


@pytest.mark.parametrize(
    "value",
    [
        pytest.param(f"bytes={HUGE}-", id="first-5000-digits"),
        pytest.param(f"bytes=0-{HUGE}", id="last-5000-digits"),
        pytest.param(f"bytes=-{HUGE}", id="suffix-5000-digits"),
        pytest.param(f"bytes={'9' * 30}-", id="first-beyond-u64"),
    ],
)
def test_range_with_oversized_number_is_400(server: ServerProcess, stored: str, value: str) -> None:
    response = _request(server, "GET", stored, headers={"Range": value})

    assert response.status == 400, response
    assert server.request("GET", stored).body == PAYLOAD


@pytest.fixture(scope="module")
def upload_id(server: ServerProcess) -> str:
    response = server.request("PUT", "/v1/objects:multipart/hostile/_/multi")
    assert response.status == 200, response
    return str(json.loads(response.body)["upload_id"])


@pytest.mark.parametrize(
    ("method", "parameter"),
    [
        pytest.param("PUT", "part_number", id="part_number"),
        pytest.param("GET", "max_parts", id="max_parts"),
        pytest.param("GET", "part_number_marker", id="part_number_marker"),
    ],
)
def test_multipart_query_number_with_5000_digits_is_400(
    server: ServerProcess, upload_id: str, method: str, parameter: str
) -> None:
    target = (
        f"/v1/objects:multipart:parts/hostile/_/multi?upload_id={quote(upload_id)}"
        f"&{parameter}={HUGE}"
    )
    body = b"part" if method == "PUT" else None

    response = _request(server, method, target, body=body)

    assert response.status == 400, response
    assert server.healthy()


def _presigned(path: str, timestamp: str, duration: str) -> str:
    query = f"os_kid={KID}&os_timestamp={quote(timestamp)}&os_duration={duration}"
    return f"{path}?{query}&os_sig={'A' * 86}"


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


PRESIGNED_CASES = [
    pytest.param(
        lambda: _now(),
        HUGE,
        {400},
        id="duration-5000-digits",
    ),
    pytest.param(
        lambda: "0001-01-01T00:00:00Z",
        "60",
        {401},
        id="timestamp-year-1",
    ),
    # The window check short-circuits before ``timestamp + duration`` can overflow.
    pytest.param(lambda: "9999-12-31T23:59:59Z", "604800", {401}, id="timestamp-year-9999"),
    # Valid RFC 3339 times outside Python's datetime range once converted to UTC:
    # unparsable here (400) or a window that misses now (401) are both the spec's words.
    pytest.param(
        lambda: "0001-01-01T00:00:00+14:00",
        "60",
        {400, 401},
        id="timestamp-before-year-1-utc",
    ),
    pytest.param(lambda: "9999-12-31T23:59:59Z", "0", {401}, id="timestamp-year-9999-no-duration"),
    pytest.param(lambda: "99999-01-01T00:00:00Z", "60", {400}, id="timestamp-year-99999"),
]


@pytest.mark.parametrize(("timestamp", "duration", "statuses"), PRESIGNED_CASES)
def test_presigned_url_with_oversized_number_or_date_gets_the_specified_4xx(
    auth_server: AuthServer,
    timestamp: object,
    duration: str,
    statuses: set[int],
) -> None:
    assert callable(timestamp)
    target = _presigned(object_path("anything"), timestamp(), duration)

    response = _request(auth_server.server, "GET", target)

    assert response.status in statuses, response
    assert auth_server.server.healthy()


# -- the Django download view ---------------------------------------------------------------


@pytest.fixture
def view_file(server: ServerProcess) -> Iterator[str]:
    """The download view's URL of a stored file; the storage talks to ``server``."""
    options = {
        "alias": "attachments",
        "base_url": server.url,
        "usecase": "hostile",
        "compression": "none",
    }
    backend = {"BACKEND": "django_objectstore.storage.ObjectstoreStorage", "OPTIONS": options}
    with override_settings(STORAGES={**settings.STORAGES, "attachments": backend}):
        storage = storages["attachments"]
        assert isinstance(storage, ObjectstoreStorage)
        try:
            name = storage.save("org=1;project=2/numbers.bin", ContentFile(PAYLOAD))
            yield reverse("project-file", kwargs={"org_id": 1, "project_id": 2, "name": name})
        finally:
            storage.close()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("value", "statuses"),
    [
        pytest.param(f"bytes={HUGE}-", {200, 416}, id="first-5000-digits"),
        pytest.param(f"bytes=0-{HUGE}", {200, 206}, id="last-5000-digits"),
        pytest.param(f"bytes=-{HUGE}", {200, 206}, id="suffix-5000-digits"),
        pytest.param(
            "bytes=\u0660-\u0661",
            {200, 416},
            id="arabic-indic-digits",
        ),
        pytest.param(
            "bytes=\uff10-\uff11",
            {200, 416},
            id="fullwidth-digits",
        ),
    ],
)
def test_download_view_range_with_oversized_or_non_ascii_number_is_ignored_or_416(
    view_file: str, value: str, statuses: set[int]
) -> None:
    hostile()
    response = Client(raise_request_exception=False).get(view_file, headers={"Range": value})

    assert response.status_code in statuses, response
    if response.status_code == 200:
        assert b"".join(response.streaming_content) == PAYLOAD  # type: ignore[attr-defined]
    elif response.status_code == 206:
        assert response["Content-Range"] == f"bytes 0-{len(PAYLOAD) - 1}/{len(PAYLOAD)}"
        response.close()  # as a server does; the body is not the point here
