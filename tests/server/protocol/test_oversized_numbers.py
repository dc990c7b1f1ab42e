"""Oversized numbers and dates from clients get the spec's 4xx, never a 500, over a socket.

Python's ``int()`` refuses more than 4,300 digits with its own ``ValueError`` and
``datetime``/``timedelta`` arithmetic raises ``OverflowError`` past the years 1..9999;
each input below used to reach one of them. (Pre-signed ``os_duration`` and
``os_timestamp`` are in ``tests/server/auth/test_presigned.py``.)
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from django_objectstore.server.app import create_app
from django_objectstore.server.backends.memory import MemoryBackend
from django_objectstore.server.config import AuthConfig, ServerConfig
from tests.server.protocol.live import BASE, LiveServer, batch_body, live, send_batch

HUGE = "9" * 5000
MULTIPART = "/v1/objects:multipart/test-usecase/org=42;project=1337"
PARTS = "/v1/objects:multipart:parts/test-usecase/org=42;project=1337"
COMPLETE = "/v1/objects:multipart:complete/test-usecase/org=42;project=1337"


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    app = create_app(ServerConfig(auth=AuthConfig(enforce=False)), backend=MemoryBackend())
    with live(app) as client:
        assert client.request("PUT", f"{BASE}/doc", body=b"0123456789").status == 200
        assert (
            client.request(
                "PUT", f"{BASE}/ttl", body=b"x", headers={"x-sn-expiration": "ttl:1d"}
            ).status
            == 200
        )
        yield client


@pytest.fixture(scope="module")
def upload_id(server: LiveServer) -> str:
    reply = server.request("PUT", f"{MULTIPART}/parts")
    assert reply.status == 200
    document = reply.json()
    assert isinstance(document, dict)
    return str(document["upload_id"])


@pytest.mark.parametrize(
    "value",
    [f"bytes={HUGE}-", f"bytes=0-{HUGE}", f"bytes=-{HUGE}", "bytes=18446744073709551616-"],
)
def test_range_with_oversized_positions_is_400(server: LiveServer, value: str) -> None:
    reply = server.request("GET", f"{BASE}/doc", headers={"range": value})
    assert reply.status == 400, reply.body[:200]
    assert "Range" in json.loads(reply.body)["detail"]


def test_range_positions_with_leading_zeros_are_numbers(server: LiveServer) -> None:
    reply = server.request("GET", f"{BASE}/doc", headers={"range": "bytes=" + "0" * 5000 + "2-3"})
    assert (reply.status, reply.body) == (206, b"23")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("part_number", HUGE),
        ("part_number", "4294967296"),
        ("part_number", "\u0663"),  # ARABIC-INDIC DIGIT THREE: a digit, not ASCII
    ],
)
def test_upload_part_with_oversized_part_number_is_400(
    server: LiveServer, upload_id: str, name: str, value: str
) -> None:
    reply = server.request(
        "PUT",
        f"{PARTS}/parts",
        query=f"upload_id={upload_id}&{name}={value}",
        body=b"p",
        headers={"content-length": "1"},
    )
    assert reply.status == 400, reply.body[:200]


@pytest.mark.parametrize("name", ["max_parts", "part_number_marker"])
def test_list_parts_with_oversized_paging_is_400(
    server: LiveServer, upload_id: str, name: str
) -> None:
    reply = server.request("GET", f"{PARTS}/parts", query=f"upload_id={upload_id}&{name}={HUGE}")
    assert reply.status == 400, reply.body[:200]


def test_complete_with_an_oversized_part_number_is_422(server: LiveServer, upload_id: str) -> None:
    body = b'{"parts": [{"part_number": ' + HUGE.encode() + b', "etag": "x"}]}'
    reply = server.request(
        "POST",
        f"{COMPLETE}/parts",
        query=f"upload_id={upload_id}",
        body=body,
        headers={"content-type": "application/json"},
    )
    assert reply.status == 422, reply.body[:200]


@pytest.mark.parametrize(
    "expiration",
    [
        f"ttl:{HUGE}s",
        f"tti:{HUGE}d",
        "ttl:99999999999999999999d",
        "ttl:3000000d",  # parses, but the deadline is after 9999
        "ttl:" + "999999999d " * 20,  # each part fits, the sum does not
    ],
)
def test_put_with_an_oversized_expiration_is_400(server: LiveServer, expiration: str) -> None:
    reply = server.request(
        "PUT", f"{BASE}/expiring", body=b"x", headers={"x-sn-expiration": expiration}
    )
    assert reply.status == 400, reply.body[:200]
    assert server.request("HEAD", f"{BASE}/expiring").status == 404


def test_batch_insert_with_an_oversized_expiration_is_a_400_part(server: LiveServer) -> None:
    insert = [b"x-sn-batch-operation-kind: insert", b"x-sn-batch-operation-key: batch-expiring"]
    body = batch_body(
        ([*insert, f"x-sn-expiration: ttl:{HUGE}s".encode()], b"x"),
        ([*insert, b"x-sn-expiration: ttl:3000000d"], b"x"),
    )
    reply_body = send_batch(server, body)
    assert reply_body.count(b"x-sn-batch-operation-status: 400 Bad Request") == 2, reply_body[:500]
    assert server.request("HEAD", f"{BASE}/batch-expiring").status == 404


@pytest.mark.parametrize(
    ("document", "status"),
    [
        ({"after": f"{HUGE}s", "from": "now"}, 422),
        ({"after": f"{HUGE}d", "from": "creation"}, 422),
        ({"after": "99999999999999999999d", "from": "now"}, 422),
        ({"after": "3000000d", "from": "now"}, 400),  # parses, but ends after 9999
        ({"at": "9999-12-31T23:59:59.5Z"}, 422),
        ({"at": "0000-01-01T00:00:00Z"}, 422),
        ({"at": "\u0662\u0660\u0663\u0660-01-01T00:00:00Z"}, 422),  # non-ASCII digits
    ],
)
def test_patch_with_oversized_numbers_or_dates_is_4xx(
    server: LiveServer, document: dict[str, str], status: int
) -> None:
    body = json.dumps({"extend_expiry": document}).encode()
    reply = server.request(
        "PATCH", f"{BASE}/ttl", body=body, headers={"content-type": "application/json"}
    )
    assert reply.status == status, reply.body[:200]


def test_patch_with_a_5000_digit_json_number_is_422(server: LiveServer) -> None:
    body = b'{"extend_expiry": {"after": ' + HUGE.encode() + b', "from": "now"}}'
    reply = server.request(
        "PATCH", f"{BASE}/ttl", body=body, headers={"content-type": "application/json"}
    )
    assert reply.status == 422, reply.body[:200]


def test_patch_from_creation_saturates_at_year_9999(server: LiveServer) -> None:
    assert server.request("PUT", f"{BASE}/far", body=b"x", headers={"x-sn-expiration": "ttl:1d"})
    body = json.dumps({"extend_expiry": {"after": "3000000d", "from": "creation"}}).encode()
    reply = server.request(
        "PATCH", f"{BASE}/far", body=body, headers={"content-type": "application/json"}
    )
    assert reply.status == 204, reply.body[:200]
    head = server.request("HEAD", f"{BASE}/far")
    assert head.headers["x-sn-time-expires"] == "9999-12-31T23:59:59Z"
