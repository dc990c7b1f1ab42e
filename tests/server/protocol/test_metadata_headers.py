"""Unit tests of the metadata <-> header mapping and content-disposition."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from django_objectstore.server.backends.records import ObjectMetadata
from django_objectstore.server.errors import ProtocolError
from django_objectstore.server.messages import Headers
from django_objectstore.server.protocol.content_disposition import content_disposition
from django_objectstore.server.protocol.metadata_headers import metadata_headers, parse_metadata
from django_objectstore.wire.expiration import TimeToIdle, TimeToLive


def test_no_headers_give_the_defaults() -> None:
    assert parse_metadata(Headers()) == ObjectMetadata()


def test_all_fields_are_parsed() -> None:
    metadata = parse_metadata(
        Headers(
            [
                ("Content-Type", 'text/plain; charset="utf-8"'),
                ("Content-Encoding", "zstd"),
                ("X-Sn-Expiration", "tti:2 days"),
                ("x-sn-origin", "203.0.113.42"),
                ("x-sn-filename", "r%C3%A9port.pdf"),
                ("X-SNME-Color", "bl%C3%BCe"),
                ("authorization", "Bearer x"),
                ("user-agent", "test"),
            ]
        )
    )
    assert metadata == ObjectMetadata(
        content_type='text/plain; charset="utf-8"',
        compression="zstd",
        expiration=TimeToIdle(timedelta(days=2)),
        origin="203.0.113.42",
        filename="réport.pdf",
        custom={"color": "blüe"},
    )


def test_stray_percent_is_kept_literally() -> None:
    assert parse_metadata([("x-sn-origin", "100%")]).origin == "100%"
    assert parse_metadata([("x-sn-origin", "%zz")]).origin == "%zz"


@pytest.mark.parametrize(
    "headers",
    [
        [("content-type", "nonsense")],
        [("content-encoding", "br")],
        [("x-sn-expiration", "forever")],
        [("x-sn-origin", "caf\u00e9")],
        [("x-snme-a", "%C3%28")],
    ],
)
def test_invalid_headers_raise_400_json(headers: list[tuple[str, str]]) -> None:
    with pytest.raises(ProtocolError) as caught:
        parse_metadata(headers)
    assert (caught.value.status, caught.value.body) == (400, "json")


def test_headers_are_emitted_lowercase_in_protocol_order() -> None:
    created = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    metadata = ObjectMetadata(
        content_type="text/plain",
        compression="zstd",
        expiration=TimeToLive(timedelta(days=1, hours=2)),
        time_created=created,
        time_expires=created + timedelta(days=1, hours=2),
        origin="o\u00e9",
        filename="a/b.txt",
        custom={"k": "100%"},
    )
    assert metadata_headers(metadata, 42) == [
        ("content-type", "text/plain"),
        ("content-encoding", "zstd"),
        ("x-sn-expiration", "ttl:1d 2h"),
        ("x-sn-time-created", "2026-01-02T03:04:05Z"),
        ("x-sn-time-expires", "2026-01-03T05:04:05Z"),
        ("x-sn-origin", "o%C3%A9"),
        ("x-sn-filename", "a/b.txt"),
        ("x-snme-k", "100%25"),
        ("x-sn-size", "42"),
        ("content-disposition", 'attachment; filename="a-b.txt"'),
        ("accept-ranges", "bytes"),
    ]


def test_minimal_metadata_emits_content_type_size_and_ranges_only() -> None:
    assert metadata_headers(ObjectMetadata(), 0) == [
        ("content-type", "application/octet-stream"),
        ("x-sn-size", "0"),
        ("accept-ranges", "bytes"),
    ]


def test_parse_of_emitted_headers_round_trips() -> None:
    metadata = ObjectMetadata(
        content_type="image/png",
        expiration=TimeToIdle(timedelta(hours=5)),
        origin="a\r\nb",
        filename="📄 %.pdf",
        custom={"x": "ü", "": "empty"},
    )
    assert parse_metadata(metadata_headers(metadata, 1)) == metadata


@pytest.mark.parametrize(
    "filename, expected",
    [
        ("report.pdf", 'attachment; filename="report.pdf"'),
        ('has"quote.txt', 'attachment; filename="has\\"quote.txt"'),
        ("path/to/file.txt", 'attachment; filename="path-to-file.txt"'),
        ("back\\slash", 'attachment; filename="back-slash"'),
        (".", 'attachment; filename="-"'),
        ("..", 'attachment; filename="--"'),
        ("...", 'attachment; filename="---"'),
        ("a.", 'attachment; filename="a."'),
        ("tab\there", 'attachment; filename="tab_here"'),
        (
            "réport-📄.pdf",
            "attachment; filename=\"r_port-_.pdf\"; filename*=UTF-8''r%C3%A9port-%F0%9F%93%84.pdf",
        ),
        ("é b'", "attachment; filename=\"_ b'\"; filename*=UTF-8''%C3%A9%20b%27"),
    ],
)
def test_content_disposition(filename: str, expected: str) -> None:
    assert content_disposition(filename) == expected
