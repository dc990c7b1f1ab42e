"""Metadata headers through the endpoints (protocol.md §4, §12 items 6-12)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from tests.server.harness import BASE, Harness

TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z")


def _write(store: Harness, headers: list[tuple[str, str]], key: str = "k") -> int:
    return store.request("PUT", f"{BASE}/{key}", headers=headers, body=b"payload").status


def test_response_header_names_are_lowercase(store: Harness) -> None:
    headers = [
        ("Content-Type", "text/plain"),
        ("Content-Encoding", "zstd"),
        ("X-Sn-Expiration", "ttl:1d"),
        ("X-Sn-Origin", "1.2.3.4"),
        ("X-Sn-Filename", "a.txt"),
        ("X-Snme-MyKey", "v"),
    ]
    assert _write(store, headers) == 200
    for result in (store.get("k"), store.head("k"), store.request("POST", f"{BASE}/")):
        assert result.names == [name.lower() for name in result.names]
    assert "x-snme-mykey" in store.get("k").names


def test_content_type_defaults_to_octet_stream(store: Harness) -> None:
    store.put("k")
    assert store.get("k").header("content-type") == "application/octet-stream"
    assert store.head("k").header("content-type") == "application/octet-stream"


def test_content_type_is_stored_verbatim(store: Harness) -> None:
    assert _write(store, [("content-type", "text/plain; charset=utf-8")]) == 200
    assert store.get("k").header("content-type") == "text/plain; charset=utf-8"


@pytest.mark.parametrize("value", ["", "text", "text/", "/plain", "text/plain; charset", "a b/c"])
def test_invalid_content_type_returns_400_and_writes_nothing(store: Harness, value: str) -> None:
    result = store.request("PUT", f"{BASE}/k", headers=[("content-type", value)])
    assert result.status == 400
    assert result.header("content-type") == "application/json"
    assert "detail" in result.json()  # type: ignore[operator]
    assert store.backend.writes == []


@pytest.mark.parametrize("value", ["gzip", "identity", "ZSTD", "", "zstd, gzip", " br"])
def test_content_encoding_other_than_zstd_returns_400(store: Harness, value: str) -> None:
    assert _write(store, [("content-encoding", value)]) == 400
    assert store.backend.writes == []


def test_zstd_body_is_stored_and_served_untransformed(store: Harness) -> None:
    import zstandard

    compressed = zstandard.ZstdCompressor().compress(b"hello " * 100)
    result = store.request(
        "PUT", f"{BASE}/z", headers=[("content-encoding", "zstd")], body=compressed
    )
    assert result.status == 200
    got = store.get("z", headers=[("accept-encoding", "identity")])
    assert got.header("content-encoding") == "zstd"
    assert got.body == compressed
    assert got.header("content-length") == str(len(compressed))
    assert got.header("x-sn-size") == str(len(compressed))
    assert store.head("z").header("content-encoding") == "zstd"


def test_ttl_in_days_is_echoed_with_deadline(store: Harness) -> None:
    store.put("k", x_sn_expiration="ttl:1d")
    got = store.get("k")
    assert got.header("x-sn-expiration") == "ttl:1d"
    created = got.timestamp("x-sn-time-created")
    assert got.timestamp("x-sn-time-expires") - created == timedelta(seconds=86400)


@pytest.mark.parametrize(
    "sent, emitted",
    [
        ("ttl:24h", "ttl:1d"),
        ("ttl:1day", "ttl:1d"),
        ("ttl:30 days", "ttl:30d"),
        ("tti:2weeks", "tti:14d"),
        ("ttl:1h 30min", "ttl:1h 30m"),
        ("ttl:90s", "ttl:1m 30s"),
        ("ttl:400d 1h 18m 31s", "ttl:400d 1h 18m 31s"),
    ],
)
def test_expiration_is_parsed_leniently_and_emitted_canonically(
    store: Harness, sent: str, emitted: str
) -> None:
    store.put("k", x_sn_expiration=sent)
    assert store.get("k").header("x-sn-expiration") == emitted


@pytest.mark.parametrize("value", ["garbage", "ttl:", "ttl", "tti:1parsec", "TTL:1d", "ttl:1.5h"])
def test_invalid_expiration_returns_400_and_writes_nothing(store: Harness, value: str) -> None:
    assert _write(store, [("x-sn-expiration", value)]) == 400
    assert store.backend.writes == []


def test_manual_expiration_sends_no_expiration_headers(store: Harness) -> None:
    store.put("k", x_sn_expiration="manual")
    got = store.get("k")
    assert "x-sn-expiration" not in got.names
    assert "x-sn-time-expires" not in got.names
    assert "x-sn-time-created" in got.names


def test_expiration_past_year_9999_returns_400(store: Harness) -> None:
    assert _write(store, [("x-sn-expiration", "ttl:3000000d")]) == 400
    assert store.backend.writes == []


def test_read_only_headers_sent_by_clients_are_ignored(store: Harness) -> None:
    headers = [
        ("x-sn-time-created", "garbage"),
        ("x-sn-time-expires", "2000-01-01T00:00:00Z"),
        ("x-sn-size", "-5"),
        ("x-sn-unknown", "whatever"),
    ]
    assert _write(store, headers) == 200
    got = store.get("k")
    assert got.header("x-sn-size") == str(len(b"payload"))
    assert "x-sn-time-expires" not in got.names
    assert got.timestamp("x-sn-time-created") == store.app.engine.now()
    assert "x-sn-unknown" not in got.names


def test_timestamps_are_whole_seconds_with_z(store: Harness) -> None:
    store.put("k", x_sn_expiration="tti:1h")
    got = store.get("k")
    assert TIMESTAMP.fullmatch(got.header("x-sn-time-created") or "")
    assert TIMESTAMP.fullmatch(got.header("x-sn-time-expires") or "")


def test_time_created_is_request_time_rounded_up(store: Harness) -> None:
    store.put("k")
    created = store.get("k").timestamp("x-sn-time-created")
    raw = store.clock.now()
    assert raw.microsecond != 0
    assert created == raw.replace(microsecond=0) + timedelta(seconds=1)


def test_custom_metadata_name_is_lowercased_and_value_reencoded(store: Harness) -> None:
    assert _write(store, [("x-snme-Foo", "b%C3%A9")]) == 200
    got = store.get("k")
    assert got.header("x-snme-foo") == "b%C3%A9"
    assert "x-snme-Foo" not in got.names


def test_overeager_escaping_is_decoded_and_reencoded_minimally(store: Harness) -> None:
    assert _write(store, [("x-snme-k", "%6B%65%79"), ("x-sn-origin", "100% sure")]) == 200
    got = store.get("k")
    assert got.header("x-snme-k") == "key"
    assert got.header("x-sn-origin") == "100%25 sure"


@pytest.mark.parametrize("header", ["x-snme-foo", "x-sn-origin", "x-sn-filename"])
@pytest.mark.parametrize("value", ["bé", "%FF", "a%C3", "\x01"])
def test_undecodable_free_form_values_return_400(store: Harness, header: str, value: str) -> None:
    assert _write(store, [(header, value)]) == 400
    assert store.backend.writes == []


def test_empty_custom_metadata_name_is_kept(store: Harness) -> None:
    assert _write(store, [("x-snme-", "empty-name")]) == 200
    assert store.get("k").header("x-snme-") == "empty-name"


def test_underscore_and_dash_custom_names_are_distinct(store: Harness) -> None:
    assert _write(store, [("x-snme-my_key", "under"), ("x-snme-my-key", "dash")]) == 200
    got = store.get("k")
    assert (got.header("x-snme-my_key"), got.header("x-snme-my-key")) == ("under", "dash")


def test_repeated_header_last_value_wins(store: Harness) -> None:
    headers = [("content-type", "text/a"), ("Content-Type", "text/b"), ("x-snme-A", "1"),
               ("x-snme-a", "2")]  # fmt: skip
    assert _write(store, headers) == 200
    got = store.get("k")
    assert got.header("content-type") == "text/b"
    assert got.header("x-snme-a") == "2"


def test_filename_drives_content_disposition(store: Harness) -> None:
    assert _write(store, [("x-sn-filename", "r%C3%A9port-%F0%9F%93%84.pdf")]) == 200
    expected = (
        "attachment; filename=\"r_port-_.pdf\"; filename*=UTF-8''r%C3%A9port-%F0%9F%93%84.pdf"
    )
    for result in (store.get("k"), store.head("k")):
        assert result.header("content-disposition") == expected
        assert result.header("x-sn-filename") == "r%C3%A9port-%F0%9F%93%84.pdf"


def test_no_filename_means_no_content_disposition(store: Harness) -> None:
    store.put("k")
    assert "content-disposition" not in store.get("k").names


def test_empty_filename_is_kept(store: Harness) -> None:
    assert _write(store, [("x-sn-filename", "")]) == 200
    got = store.get("k")
    assert got.header("x-sn-filename") == ""
    assert got.header("content-disposition") == 'attachment; filename=""'


def test_writes_never_send_content_disposition(store: Harness) -> None:
    result = store.request("PUT", f"{BASE}/k", headers=[("x-sn-filename", "a.txt")])
    assert "content-disposition" not in result.names


def test_overwrite_replaces_payload_and_all_metadata(store: Harness) -> None:
    store.put("k", b"old", x_snme_a="1", x_sn_filename="f", x_sn_expiration="ttl:1d")
    store.advance(seconds=10)
    store.put("k", b"new", x_snme_b="2")
    got = store.get("k")
    assert got.body == b"new"
    assert got.header("x-snme-b") == "2"
    for gone in ("x-snme-a", "x-sn-filename", "x-sn-expiration", "x-sn-time-expires"):
        assert gone not in got.names
    assert got.timestamp("x-sn-time-created") == store.app.engine.now()


def test_many_and_large_metadata_headers_round_trip_in_process(store: Harness) -> None:
    # The protocol sets no limit; an HTTP server in front may (header count/bytes).
    headers = [(f"x-snme-k{i}", f"value-{i}") for i in range(500)]
    headers.append(("x-snme-big", "x" * 100_000))
    assert _write(store, headers) == 200
    got = store.get("k")
    assert got.header("x-snme-k499") == "value-499"
    assert got.header("x-snme-big") == "x" * 100_000


def test_metadata_error_is_reported_before_reading_the_body(store: Harness) -> None:
    class ExplodingBody:
        def read(self, n: int = -1, /) -> bytes:
            raise AssertionError("the body must not be read")

    from django_objectstore.server.messages import Headers, Request

    request = Request(
        "PUT", f"{BASE}/k", "", Headers([("content-encoding", "gzip")]), ExplodingBody()
    )
    assert store.app.handle(request).status == 400
    assert store.backend.writes == []
