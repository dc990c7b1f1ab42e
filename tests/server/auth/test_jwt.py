"""JWT auth over real HTTP: every status of protocol.md section 7.3 and checklist item 17."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
import urllib3
from objectstore_client import Client, Permission, SecretKey, Usecase

from django_objectstore.pytest_plugin import ObjectstoreAuthServer
from django_objectstore.server.clock import OffsetClock
from django_objectstore.server.config import AuthConfig
from tests.server.auth.keys import ALL, KeyPair, auth_server, key_config

USECASE = "auth-tests"


def sign(server: ObjectstoreAuthServer, claims: dict[str, Any] | None = None, **kw: Any) -> str:
    payload: dict[str, Any] = {
        "res": {"os:usecase": USECASE, "org": "42"},
        "permissions": ALL,
        "exp": int(time.time()) + 60,
    }
    payload.update(claims or {})
    headers = {"kid": server.kid, **kw.pop("headers", {})}
    return jwt.encode(payload, server.private_key_pem, algorithm="EdDSA", headers=headers)


def call(
    server: str,
    method: str = "GET",
    path: str = f"/v1/objects/{USECASE}/org=42/k",
    token: str | None = None,
    headers: dict[str, str] | None = None,
    query: str = "",
) -> int:
    all_headers = dict(headers or {})
    if token is not None:
        all_headers["x-os-auth"] = f"Bearer {token}"
    url = f"{server}{path}" + (f"?{query}" if query else "")
    body = b"data" if method in ("PUT", "POST") else None
    return urllib3.request(method, url, headers=all_headers, body=body, retries=False).status


@pytest.fixture(scope="module", autouse=True)
def stored_object(objectstore_auth_server: ObjectstoreAuthServer) -> None:
    assert call(objectstore_auth_server, "PUT", token=sign(objectstore_auth_server)) == 200


# --- authentication ------------------------------------------------------------------


def test_request_without_token_is_400(objectstore_auth_server: ObjectstoreAuthServer) -> None:
    assert call(objectstore_auth_server) == 400


def test_garbage_token_is_401(objectstore_auth_server: ObjectstoreAuthServer) -> None:
    assert call(objectstore_auth_server, token="garbage") == 401


def test_valid_token_reads_the_object(objectstore_auth_server: ObjectstoreAuthServer) -> None:
    assert call(objectstore_auth_server, token=sign(objectstore_auth_server)) == 200


def test_token_without_kid_is_400(objectstore_auth_server: ObjectstoreAuthServer) -> None:
    payload = {"res": {"os:usecase": USECASE}, "permissions": ALL, "exp": int(time.time()) + 60}
    token = jwt.encode(payload, objectstore_auth_server.private_key_pem, algorithm="EdDSA")
    assert call(objectstore_auth_server, token=token) == 400


def test_unknown_kid_is_401(objectstore_auth_server: ObjectstoreAuthServer) -> None:
    token = sign(objectstore_auth_server, headers={"kid": "nobody"})
    assert call(objectstore_auth_server, token=token) == 401


def test_other_algorithm_is_401(objectstore_auth_server: ObjectstoreAuthServer) -> None:
    payload = {"res": {"os:usecase": USECASE, "org": "42"}, "permissions": ALL}
    token = jwt.encode(
        {**payload, "exp": int(time.time()) + 60},
        "a-shared-secret-of-enough-length-1234",
        algorithm="HS256",
        headers={"kid": objectstore_auth_server.kid},
    )
    assert call(objectstore_auth_server, token=token) == 401


def test_signature_by_another_key_is_401(objectstore_auth_server: ObjectstoreAuthServer) -> None:
    token = KeyPair().token(objectstore_auth_server.kid, {"res": {"os:usecase": USECASE}})
    assert call(objectstore_auth_server, token=token) == 401


def test_token_expired_beyond_the_leeway_is_401(
    objectstore_auth_server: ObjectstoreAuthServer,
) -> None:
    token = sign(objectstore_auth_server, {"exp": int(time.time()) - 120})
    assert call(objectstore_auth_server, token=token) == 401


def test_token_expired_within_the_60s_leeway_is_accepted(
    objectstore_auth_server: ObjectstoreAuthServer,
) -> None:
    token = sign(objectstore_auth_server, {"exp": int(time.time()) - 20})
    assert call(objectstore_auth_server, token=token) == 200


def test_token_without_exp_is_401(objectstore_auth_server: ObjectstoreAuthServer) -> None:
    payload = {"res": {"os:usecase": USECASE, "org": "42"}, "permissions": ALL}
    token = jwt.encode(
        payload,
        objectstore_auth_server.private_key_pem,
        algorithm="EdDSA",
        headers={"kid": objectstore_auth_server.kid},
    )
    assert call(objectstore_auth_server, token=token) == 401


@pytest.mark.parametrize(
    ("claims", "status"),
    [
        ({"aud": "objectstore"}, 200),
        ({"aud": ["objectstore", "other"]}, 200),
        ({"aud": "somewhere-else"}, 401),
        ({"iss": "sentry"}, 200),
        ({"iss": "relay"}, 200),
        ({"iss": "mallory"}, 401),
        ({"nbf": int(time.time()) + 3600}, 200),
        ({"res": {"org": "42"}}, 401),
        ({"res": {"os:usecase": USECASE, "org": 42}}, 401),
        ({"res": "everything"}, 401),
        ({"permissions": ["object.read", "object.admin"]}, 401),
        ({"permissions": "object.read"}, 401),
    ],
)
def test_claim_rules(
    objectstore_auth_server: ObjectstoreAuthServer, claims: dict[str, Any], status: int
) -> None:
    assert call(objectstore_auth_server, token=sign(objectstore_auth_server, claims)) == status


# --- where the token comes from ------------------------------------------------------


def test_authorization_header_with_any_case_bearer_prefix(
    objectstore_auth_server: ObjectstoreAuthServer,
) -> None:
    token = sign(objectstore_auth_server)
    for prefix in ("Bearer ", "bearer ", "BEARER "):
        headers = {"authorization": prefix + token}
        assert call(objectstore_auth_server, headers=headers) == 200


def test_x_os_auth_without_prefix_hides_the_authorization_header(
    objectstore_auth_server: ObjectstoreAuthServer,
) -> None:
    token = sign(objectstore_auth_server)
    headers = {"x-os-auth": token, "authorization": f"Bearer {token}"}
    assert call(objectstore_auth_server, headers=headers) == 400


def test_query_token_is_accepted(objectstore_auth_server: ObjectstoreAuthServer) -> None:
    query = f"os_auth={sign(objectstore_auth_server)}"
    assert call(objectstore_auth_server, query=query) == 200


def test_header_token_wins_over_query_token(objectstore_auth_server: ObjectstoreAuthServer) -> None:
    good = sign(objectstore_auth_server)
    assert call(objectstore_auth_server, token=good, query="os_auth=garbage") == 200
    assert call(objectstore_auth_server, token="garbage", query=f"os_auth={good}") == 401


def test_undecodable_query_string_is_400(objectstore_auth_server: ObjectstoreAuthServer) -> None:
    assert call(objectstore_auth_server, token=sign(objectstore_auth_server), query="a=%FF") == 400


def test_health_needs_no_token(objectstore_auth_server: ObjectstoreAuthServer) -> None:
    assert call(objectstore_auth_server, path="/health") == 200


# --- authorization -------------------------------------------------------------------


@pytest.fixture
def secret(objectstore_auth_server: ObjectstoreAuthServer) -> SecretKey:
    return SecretKey(objectstore_auth_server.kid, objectstore_auth_server.private_key_pem)


def test_read_only_token_cannot_write_403(
    objectstore_auth_server: ObjectstoreAuthServer, secret: SecretKey
) -> None:
    token = secret.token_for_scope(USECASE, _scope(org=42), permissions=[Permission.OBJECT_READ])
    assert call(objectstore_auth_server, token=token) == 200
    assert call(objectstore_auth_server, "PUT", token=token) == 403
    assert call(objectstore_auth_server, "DELETE", token=token) == 403


def test_write_token_cannot_delete_403(objectstore_auth_server: ObjectstoreAuthServer) -> None:
    token = sign(objectstore_auth_server, {"permissions": ["object.write"]})
    assert call(objectstore_auth_server, "PUT", token=token) == 200
    assert call(objectstore_auth_server, "DELETE", token=token) == 403
    assert call(objectstore_auth_server, "GET", token=token) == 403


def test_token_for_org_only_is_refused_on_a_deeper_scope_403(
    objectstore_auth_server: ObjectstoreAuthServer,
) -> None:
    token = sign(objectstore_auth_server)
    path = f"/v1/objects/{USECASE}/org=42;project=9/k"
    assert call(objectstore_auth_server, path=path, token=token) == 403


def test_wildcard_scope_value_is_allowed(objectstore_auth_server: ObjectstoreAuthServer) -> None:
    token = sign(
        objectstore_auth_server, {"res": {"os:usecase": USECASE, "org": "42", "project": "*"}}
    )
    path = f"/v1/objects/{USECASE}/project=9;org=42/k"
    assert call(objectstore_auth_server, "PUT", path=path, token=token) == 200


def test_other_scope_value_is_403(objectstore_auth_server: ObjectstoreAuthServer) -> None:
    token = sign(objectstore_auth_server)
    assert call(objectstore_auth_server, path=f"/v1/objects/{USECASE}/org=43/k", token=token) == 403


def test_usecase_must_match_exactly_403(objectstore_auth_server: ObjectstoreAuthServer) -> None:
    token = sign(objectstore_auth_server, {"res": {"os:usecase": "*", "org": "42"}})
    assert call(objectstore_auth_server, token=token) == 403


def test_token_without_scopes_only_works_on_unscoped_paths(
    objectstore_auth_server: ObjectstoreAuthServer,
) -> None:
    token = sign(objectstore_auth_server, {"res": {"os:usecase": USECASE}})
    assert (
        call(objectstore_auth_server, "PUT", path=f"/v1/objects/{USECASE}/_/k", token=token) == 200
    )
    assert call(objectstore_auth_server, token=token) == 403


def test_extra_token_scopes_are_ignored(objectstore_auth_server: ObjectstoreAuthServer) -> None:
    token = sign(objectstore_auth_server, {"res": {"os:usecase": USECASE, "org": "42", "x": "1"}})
    assert call(objectstore_auth_server, token=token) == 200


def test_official_client_with_secret_key_round_trip(
    objectstore_auth_server: ObjectstoreAuthServer, secret: SecretKey
) -> None:
    session = Client(objectstore_auth_server, token=secret).session(Usecase(USECASE), org=42)
    key = session.put(b"payload")
    found = session.get(key)
    assert found is not None
    assert found.payload.read() == b"payload"
    session.delete(key)
    assert session.get(key) is None


def test_object_url_with_read_token(
    objectstore_auth_server: ObjectstoreAuthServer, secret: SecretKey
) -> None:
    session = Client(objectstore_auth_server, token=secret).session(Usecase(USECASE), org=42)
    url = session.object_url("k", token_validity=timedelta(minutes=5))
    assert urllib3.request("GET", url, retries=False).status == 200
    assert urllib3.request("PUT", url, body=b"x", retries=False).status == 403


def test_tokens_use_the_wall_clock_not_the_object_clock(
    objectstore_auth_server: ObjectstoreAuthServer,
    objectstore_clock: OffsetClock,
    secret: SecretKey,
) -> None:
    objectstore_clock.advance(timedelta(days=3))
    session = Client(objectstore_auth_server, token=secret).session(Usecase(USECASE), org=42)
    assert session.put(b"still valid", key="clock")
    expired = sign(objectstore_auth_server, {"exp": int(time.time()) - 120})
    objectstore_clock.advance(timedelta(days=-6))
    assert call(objectstore_auth_server, token=expired) == 401


def _scope(**pairs: Any) -> Any:
    from objectstore_client.scope import Scope

    return Scope(**pairs)


# --- key configuration ---------------------------------------------------------------


@pytest.fixture(scope="module")
def keys() -> tuple[KeyPair, KeyPair]:
    return KeyPair(), KeyPair()


@pytest.fixture(scope="module")
def rotated_server(
    tmp_path_factory: pytest.TempPathFactory, keys: tuple[KeyPair, KeyPair]
) -> Iterator[str]:
    """kid ``rot`` with two key versions, and kid ``ro`` capped at ``object.read``."""
    root: Path = tmp_path_factory.mktemp("rotated")
    old = keys[0].write_public(root / "old.pem")
    new = keys[1].write_public(root / "new.pem")
    auth = AuthConfig(
        enforce=True,
        keys={"rot": key_config([old, new]), "ro": key_config(new, ["object.read"])},
    )
    with auth_server(root / "data", auth) as url:
        yield url


def test_every_key_version_is_tried(rotated_server: str, keys: tuple[KeyPair, KeyPair]) -> None:
    for pair in keys:
        assert call(rotated_server, "PUT", "/v1/objects/u/_/k", pair.token("rot")) == 200


def test_key_max_permissions_cap_the_token(
    rotated_server: str, keys: tuple[KeyPair, KeyPair]
) -> None:
    token = keys[1].token("ro")
    assert call(rotated_server, "GET", "/v1/objects/u/_/k", token) == 200
    assert call(rotated_server, "PUT", "/v1/objects/u/_/k", token) == 403


def test_not_enforced_auth_evaluates_but_allows(
    tmp_path: Path, keys: tuple[KeyPair, KeyPair]
) -> None:
    path = keys[0].write_public(tmp_path / "k.pem")
    auth = AuthConfig(enforce=False, keys={"k": key_config(path, ["object.read"])})
    with auth_server(tmp_path / "data", auth) as url:
        assert call(url, "PUT", "/v1/objects/u/_/k") == 200
        assert call(url, "PUT", "/v1/objects/u/_/k", "garbage") == 200
        assert call(url, "PUT", "/v1/objects/u/_/k", keys[0].token("k")) == 200
        assert call(url, "GET", "/v1/objects/u/org=1/k", keys[0].token("k")) == 404


def test_inactive_auth_allows_everything(tmp_path: Path) -> None:
    with auth_server(tmp_path, AuthConfig(enforce=False)) as url:
        assert call(url, "PUT", "/v1/objects/u/_/k", "garbage") == 200


def test_enforced_auth_without_keys_refuses_to_start(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="no keys"), auth_server(tmp_path, AuthConfig()):
        pass


@pytest.mark.parametrize(
    ("content", "message"),
    [(None, "cannot read"), (b"not a key", "not a PEM public key")],
)
def test_unusable_key_file_refuses_to_start(
    tmp_path: Path, content: bytes | None, message: str
) -> None:
    path = tmp_path / "pub.pem"
    if content is not None:
        path.write_bytes(content)
    auth = AuthConfig(keys={"kid": key_config(str(path))})
    expected = rf"auth\.keys\.kid\.key_files.*{message}"
    with pytest.raises(ValueError, match=expected), auth_server(tmp_path, auth):
        pass
