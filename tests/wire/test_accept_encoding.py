"""``Accept-Encoding``: one reading for the client and the download view."""

from __future__ import annotations

import objectstore_client
import pytest

from django_objectstore.wire.accept_encoding import accepts_encoding, parse_accept_encoding


@pytest.mark.parametrize(
    ("header", "accepted"),
    [
        ("gzip, deflate, br, zstd", True),
        ("zstd;q=0.5", True),
        ("zstd;q=0", False),
        ("gzip, *", True),
        ("*;q=0", False),
        ("*, zstd;q=0", False),
        ("gzip", False),
        (None, False),
    ],
)
def test_accepts_encoding_honours_q_values(header: str | None, accepted: bool) -> None:
    assert accepts_encoding(header, "zstd") is accepted


@pytest.mark.parametrize(
    "header", ["zstd;q=abc", "zstd;q=", "zstd;q=0.0", "zstd;Q=0", "x, zstd;q=0.5"]
)
def test_view_and_client_read_a_header_alike(header: str) -> None:
    accepted = "zstd" in parse_accept_encoding(header)
    assert accepts_encoding(header, "zstd") is accepted
    assert ("zstd" in objectstore_client.parse_accept_encoding(header)) is accepted
