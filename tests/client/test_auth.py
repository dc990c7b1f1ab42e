"""Tokens (cached per usecase and scope), object URLs and pre-signed URLs."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import jwt
import objectstore_client
import pytest
import urllib3

from django_objectstore.client import (
    Client,
    Forbidden,
    Permission,
    SecretKey,
    Session,
    Unauthorized,
    Usecase,
)
from django_objectstore.client.auth import TokenCache
from django_objectstore.pytest_plugin import ObjectstoreAuthServer
from django_objectstore.wire.scopes import Scopes


class CountingKey(SecretKey):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.signed = 0
        self._count_lock = threading.Lock()

    def token_for_scope(
        self,
        usecase: str,
        scopes: Scopes,
        permissions: Iterable[Permission | str] | None = None,
        expiry_seconds: int | None = None,
    ) -> str:
        with self._count_lock:
            self.signed += 1
        return super().token_for_scope(usecase, scopes, permissions, expiry_seconds)


@pytest.fixture
def key(objectstore_auth_server: ObjectstoreAuthServer) -> CountingKey:
    return CountingKey(objectstore_auth_server.kid, objectstore_auth_server.private_key_pem)


@pytest.fixture
def auth_session(
    objectstore_auth_server: ObjectstoreAuthServer,
    key: CountingKey,
    objectstore_usecase: str,
    objectstore_scope: dict[str, str],
) -> Session:
    client = Client(str(objectstore_auth_server), token=key)
    return client.session(Usecase(objectstore_usecase), **objectstore_scope)


def test_tokens_are_signed_once_per_scope_and_reused(
    objectstore_auth_server: ObjectstoreAuthServer, key: CountingKey, objectstore_usecase: str
) -> None:
    client = Client(str(objectstore_auth_server), token=key)
    first = client.session(Usecase(objectstore_usecase), org=1)
    second = client.session(Usecase(objectstore_usecase), org=2)

    def work() -> None:
        for i in range(10):
            first.put(b"x", key=f"k{i}")
            assert first.get(f"k{i}") is not None
            second.put(b"y", key=f"k{i}")

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert key.signed == 2
    assert first.head("k9") is not None
    assert key.signed == 2


def test_token_cache_refreshes_tokens_near_expiry(key: CountingKey) -> None:
    short = CountingKey(key.kid, key.pem, expiry_seconds=5)
    cache = TokenCache(short)
    cache.token("u", ())
    cache.token("u", ())
    assert short.signed == 2  # 5 s tokens are never reused (< 10 s margin)
    long = TokenCache(key)
    assert long.token("u", (("org", "1"),)) == long.token("u", (("org", "1"),))
    assert key.signed == 1


def test_minted_tokens_carry_usecase_scope_and_permissions(auth_session: Session) -> None:
    token = auth_session.mint_token([Permission.OBJECT_READ], expiry_seconds=30)
    claims = jwt.decode(token, options={"verify_signature": False})
    header = jwt.get_unverified_header(token)
    assert header["kid"] == "test_kid" and header["alg"] == "EdDSA"
    assert claims["res"] == {"os:usecase": auth_session.usecase.name, **dict(auth_session.scopes)}
    assert claims["permissions"] == ["object.read"]


def test_read_only_key_cannot_write(
    objectstore_auth_server: ObjectstoreAuthServer, objectstore_usecase: str
) -> None:
    read_only = SecretKey(
        objectstore_auth_server.kid,
        objectstore_auth_server.private_key_pem,
        permissions=[Permission.OBJECT_READ],
    )
    session = Client(str(objectstore_auth_server), token=read_only).session(
        Usecase(objectstore_usecase), org=5
    )
    assert session.get("k") is None
    with pytest.raises(Forbidden):
        session.put(b"x", key="k")
    with pytest.raises(ValueError, match="not granted"):
        session.mint_token([Permission.OBJECT_WRITE])


def test_static_token_string_is_sent(
    objectstore_auth_server: ObjectstoreAuthServer, auth_session: Session
) -> None:
    token = auth_session.mint_token()
    client = Client(str(objectstore_auth_server), token_generator=token)
    session = client.session(auth_session.usecase, **dict(auth_session.scopes))
    session.put(b"static", key="s")
    assert session.get("s").payload.read() == b"static"  # type: ignore[union-attr]
    other = client.session(auth_session.usecase, org="other")
    with pytest.raises(Forbidden):
        other.get("s")


def test_object_url_embeds_a_read_only_token(auth_session: Session) -> None:
    auth_session.put(b"via url", key="dir/café ü")
    plain = auth_session.object_url("dir/café ü")
    assert "?" not in plain and plain.endswith("/dir/caf%C3%A9%20%C3%BC")
    url = auth_session.object_url("dir/café ü", token_validity=timedelta(minutes=5))
    response = urllib3.request("GET", url)
    assert response.status == 200 and response.data  # zstd bytes as stored
    token = parse_qs(urlsplit(url).query)["os_auth"][0]
    assert jwt.decode(token, options={"verify_signature": False})["permissions"] == ["object.read"]
    assert urllib3.request("DELETE", url).status == 403
    assert urllib3.request("GET", plain).status == 400


@pytest.mark.parametrize("key_name", ["plain", "dir/café ü%20x", "sub!$'()*+,=delims", "emoji-😀"])
def test_presigned_urls_are_accepted_for_get_and_head(auth_session: Session, key_name: str) -> None:
    auth_session.put(b"signed", key=key_name, compression="none")
    get_url = auth_session.presigned_object_url("GET", key_name, timedelta(minutes=5))
    head_url = auth_session.presigned_object_url("HEAD", key_name)
    assert urllib3.request("GET", get_url).data == b"signed"
    assert urllib3.request("HEAD", head_url).status == 200
    assert urllib3.request("HEAD", get_url).status == 200
    assert urllib3.request("PUT", get_url, body=b"x").status == 403
    tampered = get_url.replace("os_duration=300", "os_duration=301")
    assert urllib3.request("GET", tampered).status == 401


def test_presigned_url_arguments_are_checked(auth_session: Session) -> None:
    with pytest.raises(ValueError, match="GET or HEAD"):
        auth_session.presigned_object_url("PUT", "k")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="7 days"):
        auth_session.presigned_object_url("GET", "k", timedelta(days=7, seconds=1))
    url = auth_session.presigned_object_url("GET", "k", timedelta(seconds=1.2))
    assert "os_duration=2" in url


def test_presigned_urls_match_the_official_client(
    objectstore_auth_server: ObjectstoreAuthServer, auth_session: Session
) -> None:
    key_name = "dir/café ü%20x"
    auth_session.put(b"same", key=key_name, compression="none")
    official = objectstore_client.Client(
        str(objectstore_auth_server),
        token=objectstore_client.SecretKey(
            objectstore_auth_server.kid, objectstore_auth_server.private_key_pem
        ),
    ).session(objectstore_client.Usecase(auth_session.usecase.name), **dict(auth_session.scopes))
    theirs = official.presigned_object_url("GET", key_name, timedelta(minutes=10))
    ours = auth_session.presigned_object_url("GET", key_name, timedelta(minutes=10))
    assert urllib3.request("GET", theirs).data == b"same"
    assert urllib3.request("GET", ours).data == b"same"
    # Same path and parameters; signatures equal whenever both signed in the same second.
    assert urlsplit(theirs).path == urlsplit(ours).path
    their_query = parse_qs(urlsplit(theirs).query)
    our_query = parse_qs(urlsplit(ours).query)
    assert their_query.keys() == our_query.keys()
    if their_query["os_timestamp"] == our_query["os_timestamp"]:
        assert their_query["os_sig"] == our_query["os_sig"]


def test_bad_signature_key_is_unauthorized(
    objectstore_auth_server: ObjectstoreAuthServer, objectstore_usecase: str
) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    pem = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    session = Client(
        str(objectstore_auth_server), token=SecretKey(objectstore_auth_server.kid, pem)
    ).session(Usecase(objectstore_usecase), org=1)
    with pytest.raises(Unauthorized):
        session.head("k")


def test_secret_key_rejects_non_ed25519_keys() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with pytest.raises(ValueError, match="Ed25519"):
        SecretKey("kid", pem)
