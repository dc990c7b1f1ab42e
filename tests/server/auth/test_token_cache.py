"""Verified JWTs are cached until they expire; the cache never changes a verdict."""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path

import pytest
import urllib3

from django_objectstore.server.app import create_app
from django_objectstore.server.auth.authenticator import Authenticator
from django_objectstore.server.auth.tokens import (
    LEEWAY_SECONDS,
    Claims,
    Key,
    TokenCache,
    verify_token,
)
from django_objectstore.server.backends.records import ObjectLocation
from django_objectstore.server.config import AuthConfig, ServerConfig, StorageConfig
from django_objectstore.server.errors import ProtocolError
from django_objectstore.server.hosting.runner import ServerThread
from django_objectstore.server.messages import Headers, Request
from django_objectstore.wire.scopes import parse_scopes
from tests.server.auth.keys import KeyPair, key_config

PATH = "/v1/objects/u/org=1/k"


class CountingVerify:
    """The full verification, counted."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, token: str, keys: Mapping[str, Key]) -> Claims:
        self.calls += 1
        return verify_token(token, keys)


class Clock:
    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def request(token: str) -> Request:
    return Request("GET", PATH, headers=Headers([("x-os-auth", f"Bearer {token}")]))


@pytest.fixture
def pair() -> KeyPair:
    return KeyPair()


@pytest.fixture
def keyfile(tmp_path: Path, pair: KeyPair) -> str:
    return pair.write_public(tmp_path / "k.pub")


def authenticator(keyfile: str, verify: CountingVerify, size: int = 16) -> Authenticator:
    config = AuthConfig(enforce=True, keys={"k": key_config(keyfile)})
    return Authenticator(config, verify=verify, token_cache_size=size)


def test_a_token_verified_once_is_not_verified_again(keyfile: str, pair: KeyPair) -> None:
    verify = CountingVerify()
    auth = authenticator(keyfile, verify)
    token = pair.token("k")
    first = auth.authenticate(request(token))
    second = auth.authenticate(request(token))
    assert verify.calls == 1
    assert first == second
    assert first.claims is not None and first.claims.usecase == "u"


def test_an_expired_cached_token_is_refused_without_verifying(keyfile: str, pair: KeyPair) -> None:
    verify = CountingVerify()
    clock = Clock()
    cache = TokenCache(16, verify=verify, clock=clock)
    auth = authenticator(keyfile, verify)
    exp = int(clock.now) + 30
    token = pair.token("k", exp=exp)
    cache.verify(token, auth.keys)
    clock.now = exp + LEEWAY_SECONDS - 1
    cache.verify(token, auth.keys)
    assert verify.calls == 1
    clock.now = exp + LEEWAY_SECONDS
    with pytest.raises(ProtocolError) as refused:
        cache.verify(token, auth.keys)
    assert refused.value.status == 401
    assert "expired" in refused.value.detail
    assert verify.calls == 1
    assert len(cache) == 0


def test_rotated_keys_invalidate_cached_tokens(tmp_path: Path, keyfile: str, pair: KeyPair) -> None:
    verify = CountingVerify()
    auth = authenticator(keyfile, verify)
    token = pair.token("k")
    auth.authenticate(request(token))
    KeyPair().write_public(Path(keyfile))  # the old key is revoked, a new one replaces it
    auth.reload_keys()
    with pytest.raises(ProtocolError) as refused:
        auth.authenticate(request(token))
    assert refused.value.status == 401
    assert verify.calls == 2


def test_a_key_set_without_the_tokens_key_is_not_served_from_the_cache(
    keyfile: str, pair: KeyPair
) -> None:
    verify = CountingVerify()
    cache = TokenCache(16, verify=verify)
    auth = authenticator(keyfile, verify)
    token = pair.token("k")
    cache.verify(token, auth.keys)
    with pytest.raises(ProtocolError) as refused:
        cache.verify(token, {})
    assert refused.value.status == 401
    assert verify.calls == 2


def test_failures_are_never_cached(keyfile: str, pair: KeyPair) -> None:
    verify = CountingVerify()
    auth = authenticator(keyfile, verify)
    forged = KeyPair().token("k")
    for _ in range(2):
        with pytest.raises(ProtocolError):
            auth.authenticate(request(forged))
    assert verify.calls == 2
    assert len(auth.tokens) == 0


def test_tokens_not_yet_valid_are_not_cached(keyfile: str, pair: KeyPair) -> None:
    verify = CountingVerify()
    auth = authenticator(keyfile, verify)
    token = pair.token("k", nbf=int(time.time()) + 3600)
    auth.authenticate(request(token))
    auth.authenticate(request(token))
    assert verify.calls == 2


def test_the_cache_is_bounded_least_recently_used_first(keyfile: str, pair: KeyPair) -> None:
    verify = CountingVerify()
    auth = authenticator(keyfile, verify, size=2)
    a, b, c = (pair.token("k", jti=name) for name in "abc")
    for token in (a, b, a, c):  # c pushes out b, the least recently used
        auth.authenticate(request(token))
    assert len(auth.tokens) == 2
    assert verify.calls == 3
    auth.authenticate(request(a))
    assert verify.calls == 3
    auth.authenticate(request(b))
    assert verify.calls == 4


def test_cached_claims_are_still_checked_against_each_request(keyfile: str, pair: KeyPair) -> None:
    verify = CountingVerify()
    auth = authenticator(keyfile, verify)
    token = pair.token("k", res={"os:usecase": "u", "org": "1"}, permissions=["object.read"])
    auth.authenticate(request(token))
    again = auth.authenticate(request(token))
    again.require("object.read", ObjectLocation("u", parse_scopes("org=1"), "k"))
    with pytest.raises(ProtocolError) as refused:
        again.require("object.write", ObjectLocation("u", parse_scopes("org=1"), "k"))
    assert refused.value.status == 403
    with pytest.raises(ProtocolError) as elsewhere:
        again.require("object.read", ObjectLocation("u", parse_scopes("org=2"), "k"))
    assert elsewhere.value.status == 403
    assert verify.calls == 1


def test_over_http_a_repeated_token_is_verified_once(
    tmp_path: Path, keyfile: str, pair: KeyPair
) -> None:
    auth = AuthConfig(enforce=True, keys={"k": key_config(keyfile)})
    app = create_app(ServerConfig(storage=StorageConfig(type="memory"), auth=auth))
    verify = CountingVerify()
    app.auth = Authenticator(auth, verify=verify)
    token = pair.token("k", res={"os:usecase": "u", "org": "1"})
    headers = {"x-os-auth": f"Bearer {token}"}
    with ServerThread(app, sweep_interval=0) as server, urllib3.PoolManager() as http:
        assert http.request("PUT", server.url + PATH, body=b"x", headers=headers).status == 200
        assert http.request("GET", server.url + PATH, headers=headers).status == 200
        assert http.request("GET", server.url + PATH).status == 400
    assert verify.calls == 1
