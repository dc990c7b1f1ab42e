"""Routes, paths, scopes and keys of the single-object API (protocol.md §2, §12 items 1-4)."""

from __future__ import annotations

import re
import uuid

import pytest

from tests.server.harness import BASE, Harness

UUID4 = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}")


@pytest.mark.parametrize("path", [f"{BASE}/", BASE, "/v1/objects/test-usecase/_/"])
def test_post_to_collection_creates_object_with_uuid4_key(store: Harness, path: str) -> None:
    result = store.request("POST", path, body=b"payload")
    assert result.status == 201
    assert result.header("content-type") == "application/json"
    key = result.json()["key"]  # type: ignore[index]
    assert UUID4.fullmatch(key)
    assert uuid.UUID(key).version == 4
    scopes = "" if path.startswith("/v1/objects/test-usecase/_") else BASE
    read_path = f"{scopes or '/v1/objects/test-usecase/_'}/{key}"
    assert store.request("GET", read_path).body == b"payload"


def test_post_generates_a_different_key_each_time(store: Harness) -> None:
    keys = {store.request("POST", f"{BASE}/").json()["key"] for _ in range(3)}  # type: ignore[index]
    assert len(keys) == 3


def test_put_returns_200_with_the_key_also_when_new(store: Harness) -> None:
    first = store.request("PUT", f"{BASE}/my-key", body=b"a")
    second = store.request("PUT", f"{BASE}/my-key", body=b"b")
    assert (first.status, first.json()) == (200, {"key": "my-key"})
    assert (second.status, second.json()) == (200, {"key": "my-key"})
    assert store.get("my-key").body == b"b"


@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT", "DELETE", "PATCH"])
def test_other_methods_on_collection_path_return_405(store: Harness, method: str) -> None:
    result = store.request(method, f"{BASE}/", body=b"x")
    assert result.status == 405
    assert result.body == b""
    assert store.backend.writes == []


def test_post_on_object_path_returns_405(store: Harness) -> None:
    result = store.request("POST", f"{BASE}/some-key", body=b"x")
    assert result.status == 405
    assert store.backend.writes == []


@pytest.mark.parametrize("path", ["/v1/objects", "/v1/objects/u", "/v2/objects/u/_/k", "/", "/v1"])
def test_unroutable_paths_return_404_empty(store: Harness, path: str) -> None:
    result = store.request("GET", path)
    assert (result.status, result.body) == (404, b"")


def test_scopes_in_matrix_syntax_are_accepted_and_ordered(store: Harness) -> None:
    store.request("PUT", "/v1/objects/test-usecase/org=1;project=2/k", body=b"ordered")
    assert store.request("GET", "/v1/objects/test-usecase/org=1;project=2/k").status == 200
    assert store.request("GET", "/v1/objects/test-usecase/project=2;org=1/k").status == 404


@pytest.mark.parametrize(
    "scopes",
    ["org=1;", "org", "org=a.b", "org=a%20b", "org=1=2", "org=", "=1", "org=a%2Fb", "org=%C3%A9"],
)
def test_malformed_scopes_return_400_text(store: Harness, scopes: str) -> None:
    result = store.request("PUT", f"/v1/objects/test-usecase/{scopes}/k", body=b"x")
    assert result.status == 400
    assert result.header(
        "content-type",
    ).startswith("text/plain")  # type: ignore[union-attr]
    assert store.backend.writes == []


def test_percent_encoded_scope_segment_is_decoded(store: Harness) -> None:
    store.request("PUT", "/v1/objects/test-usecase/org%3D1/k", body=b"decoded")
    assert store.request("GET", "/v1/objects/test-usecase/org=1/k").body == b"decoded"


def test_encoded_slash_and_literal_slash_address_the_same_object(store: Harness) -> None:
    result = store.request("PUT", f"{BASE}/a%2Fb", body=b"same")
    assert result.json() == {"key": "a/b"}
    assert store.get("a/b").body == b"same"


def test_double_encoded_key_is_stored_with_literal_percent(store: Harness) -> None:
    result = store.request("PUT", f"{BASE}/looks%2520encoded", body=b"literal")
    assert result.json() == {"key": "looks%20encoded"}
    assert store.get("looks%2520encoded").body == b"literal"
    assert store.get("looks%20encoded").status == 404  # that is "looks encoded"


@pytest.mark.parametrize(
    "wire_key, key",
    [
        ("with%20space", "with space"),
        ("caf%C3%A9-unicode", "café-unicode"),
        ("emoji-%F0%9F%98%80", "emoji-😀"),
        ("sub!$'()*+,=delims", "sub!$'()*+,=delims"),
        ("100%25literal-percent", "100%literal-percent"),
        ("nested/path/segments", "nested/path/segments"),
        ("semi;colon", "semi;colon"),
        ("at@sign:colon", "at@sign:colon"),
    ],
)
def test_keys_are_percent_decoded_and_echoed(store: Harness, wire_key: str, key: str) -> None:
    result = store.request("PUT", f"{BASE}/{wire_key}", body=key.encode())
    assert result.json() == {"key": key}
    assert store.get(wire_key).body == key.encode()


def test_key_that_is_not_utf8_after_decoding_returns_400(store: Harness) -> None:
    result = store.request("PUT", f"{BASE}/bad%FFkey", body=b"x")
    assert result.status == 400
    assert store.backend.writes == []


def test_usecase_that_is_not_utf8_after_decoding_returns_400(store: Harness) -> None:
    result = store.request("PUT", "/v1/objects/bad%FF/_/k", body=b"x")
    assert result.status == 400
    assert store.backend.writes == []


def test_dot_segments_in_keys_are_opaque_key_text(store: Harness) -> None:
    store.request("PUT", f"{BASE}/a/../b", body=b"dots")
    assert store.get("a/../b").body == b"dots"
    assert store.get("b").status == 404


def test_upload_type_resumable_returns_501_json_so_clients_fall_back(store: Harness) -> None:
    for method, path in (("POST", f"{BASE}/"), ("PUT", f"{BASE}/k")):
        result = store.request(method, path, query="upload_type=resumable")
        assert result.status == 501
        assert result.header("content-type") == "application/json"
        assert "detail" in result.json()  # type: ignore[operator]
    assert store.backend.writes == []


def test_resumable_session_query_returns_501(store: Harness) -> None:
    assert store.request("PUT", f"{BASE}/k", query="session=abc").status == 501
    assert store.request("DELETE", f"{BASE}/k", query="session=abc").status == 501
    assert store.backend.writes == []


@pytest.mark.parametrize(
    "method, path, query",
    [
        ("PUT", f"{BASE}/k", "upload_type=multipart"),
        ("POST", f"{BASE}/", "upload_type="),
        ("POST", f"{BASE}/", "session=abc"),
        ("DELETE", f"{BASE}/k", "upload_type=resumable"),
    ],
)
def test_invalid_upload_queries_return_400(
    store: Harness, method: str, path: str, query: str
) -> None:
    result = store.request(method, path, query=query, body=b"x")
    assert result.status == 400
    assert store.backend.writes == []


def test_unrelated_query_parameters_are_ignored_on_writes(store: Harness) -> None:
    result = store.request("PUT", f"{BASE}/k", query="foo=bar&x", body=b"plain")
    assert result.status == 200
    assert store.get("k").body == b"plain"


def test_every_response_names_the_server(store: Harness) -> None:
    for result in (store.request("GET", "/nowhere"), store.request("PUT", f"{BASE}/k")):
        assert (result.header("server") or "").startswith("objectstore/")
