"""Typed errors with messages naming the call, and ValueError before any request."""

from __future__ import annotations

import io
import socket
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from django_objectstore.client import (
    Client,
    ExpiryExtensionRejected,
    ObjectNotFound,
    ObjectstoreConnectionError,
    RequestError,
    Session,
    TimeToLive,
    Usecase,
)
from django_objectstore.client.errors import (
    Conflict,
    Forbidden,
    RateLimited,
    ServerUnavailable,
    Unauthorized,
    error_for_status,
)
from django_objectstore.pytest_plugin import ObjectstoreAuthServer
from tests.client.recording import RecordingTransport


class CountingTransport:
    """A transport that must never be reached (bad arguments fail first)."""

    base_url = "memory://never"

    def __init__(self) -> None:
        self.calls = 0

    def request(self, *args: object, **kwargs: object) -> object:
        self.calls += 1
        raise AssertionError("no request expected")

    def close(self) -> None:
        return None


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (401, Unauthorized),
        (403, Forbidden),
        (404, ObjectNotFound),
        (409, Conflict),
        (429, RateLimited),
        (500, ServerUnavailable),
        (503, ServerUnavailable),
        (400, RequestError),
    ],
)
def test_error_for_status_picks_the_subclass(status: int, cls: type[RequestError]) -> None:
    error = error_for_status(status, "m", "body")
    assert type(error) is cls
    assert (error.status, error.body, error.response) == (status, "body", "body")


def test_expiry_extension_rejected_is_the_409_error() -> None:
    assert ExpiryExtensionRejected is Conflict


def test_error_message_names_method_usecase_scope_key_and_server(
    objectstore_auth_server: ObjectstoreAuthServer,
) -> None:
    client = Client(str(objectstore_auth_server), token="not-a-jwt")
    session = client.session(Usecase("attachments"), org=42, project=1337)
    with pytest.raises(Unauthorized) as caught:
        session.get("abc")
    message = str(caught.value)
    assert message.startswith(
        f"GET attachments/org=42;project=1337/abc on {objectstore_auth_server} failed: "
        "401 Unauthorized"
    )
    assert caught.value.status == 401


def test_missing_token_is_a_400_request_error(
    objectstore_auth_server: ObjectstoreAuthServer,
) -> None:
    session = Client(str(objectstore_auth_server)).session(Usecase("attachments"), org=1)
    with pytest.raises(RequestError) as caught:
        session.put(b"x", key="k")
    assert caught.value.status == 400
    assert "PUT attachments/org=1/k on http://" in str(caught.value)


def test_unreachable_server_raises_connection_error_naming_the_call() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = Client(f"http://127.0.0.1:{port}", retries=0)
    session = client.session(Usecase("attachments"), org=7)
    with pytest.raises(ObjectstoreConnectionError) as caught:
        session.head("k")
    assert isinstance(caught.value, RequestError)
    assert isinstance(caught.value, ConnectionError)
    assert caught.value.status is None
    assert f"HEAD attachments/org=7/k on http://127.0.0.1:{port} failed" in str(caught.value)


def test_extend_expiry_of_missing_object_raises_object_not_found(session: Session) -> None:
    with pytest.raises(ObjectNotFound) as caught:
        session.extend_expiry("missing", from_now=timedelta(days=1))
    assert "PATCH " in str(caught.value) and "/missing on " in str(caught.value)


def test_extend_expiry_of_manual_object_raises_rejected(session: Session) -> None:
    session.put(b"x", key="manual")
    with pytest.raises(ExpiryExtensionRejected):
        session.extend_expiry("manual", from_now=timedelta(days=1))


@pytest.fixture
def offline() -> tuple[Session, CountingTransport]:
    transport = CountingTransport()
    client = Client("memory://never", transport=transport)  # type: ignore[arg-type]
    return client.session(Usecase("attachments"), org=1), transport


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.put(b"x", compression="gzip"),
        lambda s: s.put(b"x", compression="zstd", compress="none"),
        lambda s: s.put(b"x", compression="zstd", precompressed="zstd"),
        lambda s: s.put(b"x", precompressed="gzip"),
        lambda s: s.put(b"x", metadata={"bad name": "v"}),
        lambda s: s.put(b"x", metadata={"ok": 1}),
        lambda s: s.put(b"x", content_type="text/plain\r\nx: y"),
        lambda s: s.put(b"x", expiration_policy=TimeToLive(timedelta(seconds=-1))),
        lambda s: s.put(b"x", expiration_policy="ttl:1d"),
        lambda s: s.extend_expiry("k"),
        lambda s: s.extend_expiry("k", from_now=timedelta(1), from_creation=timedelta(1)),
        lambda s: s.extend_expiry("k", at=datetime(2030, 1, 1)),
        lambda s: s.extend_expiry("k", from_now=timedelta(seconds=-1)),
        lambda s: s.extend_expiry("k", from_creation=timedelta(days=-1)),
        lambda s: s.presigned_object_url("GET", "k"),
        lambda s: s.object_url("k", token_validity=timedelta(minutes=1)),
        lambda s: s.mint_token(),
    ],
)
def test_bad_arguments_raise_value_error_before_any_request(
    offline: tuple[Session, CountingTransport], call: object
) -> None:
    session, transport = offline
    with pytest.raises(ValueError):
        call(session)  # type: ignore[operator]
    assert transport.calls == 0


@pytest.mark.parametrize("name", ["ab", "x" * 65, "has space", "dot.name", "ümlaut", ""])
def test_invalid_usecase_names_are_rejected(name: str) -> None:
    with pytest.raises(ValueError, match="usecase"):
        Usecase(name)


def test_invalid_usecase_compression_is_rejected() -> None:
    with pytest.raises(ValueError, match="compression"):
        Usecase("attachments", compression="gzip")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "scopes", [{"org": "a.b"}, {"org": "a b"}, {"org": ""}, {"org": "é"}, {"org": "1;2"}]
)
def test_invalid_scopes_are_rejected(scopes: dict[str, str]) -> None:
    client = Client("memory://scopes")
    with pytest.raises(ValueError, match="scope"):
        client.session(Usecase("attachments"), **scopes)


@pytest.mark.parametrize("url", ["ftp://h", "localhost:8888", "s3://bucket", ""])
def test_unknown_scheme_names_url_and_supported_schemes(url: str) -> None:
    with pytest.raises(ValueError) as caught:
        Client(url)
    message = str(caught.value)
    assert repr(url) in message
    for scheme in ("http://", "https://", "embedded:", "memory://"):
        assert scheme in message


def test_client_argument_validation(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        Client("memory://x", retries=-1)
    with pytest.raises(ValueError):
        Client("memory://x", timeout_ms=0)
    with pytest.raises(ValueError):
        Client("memory://x", token="a", token_generator="b")
    with pytest.raises(ValueError):
        Client("memory://x", token=42)  # type: ignore[arg-type]


def test_naive_datetime_message_names_the_argument(
    offline: tuple[Session, CountingTransport],
) -> None:
    with pytest.raises(ValueError, match="at must be a timezone-aware"):
        offline[0].extend_expiry("k", at=datetime(2030, 1, 1))


@pytest.mark.parametrize("contents", ["text", None, 123, io.StringIO("text")])
def test_put_of_something_that_is_not_bytes_fails_before_any_request(contents: Any) -> None:
    transport = RecordingTransport()
    session = Client(transport.base_url, transport=transport).session(Usecase("types"), org=1)
    with pytest.raises(TypeError, match="contents must be bytes"):
        session.put(contents, key="k")
    assert transport.calls == []


@pytest.mark.parametrize(
    "call",
    [
        lambda s: s.get(""),
        lambda s: s.head(""),
        lambda s: s.delete(""),
        lambda s: s.keepalive(""),
        lambda s: s.extend_expiry("", from_now=timedelta(days=1)),
        lambda s: s.object_url(""),
    ],
)
def test_operations_on_an_empty_key_fail_before_any_request(call: Any) -> None:
    transport = RecordingTransport()
    session = Client(transport.base_url, transport=transport).session(Usecase("keys"), org=1)
    with pytest.raises(ValueError, match="key must be a non-empty string"):
        call(session)
    assert transport.calls == []
