"""Where the permission check sits in each endpoint's order of checks (protocol.md §3.1).

Token verification itself (§12 items 17-18) is covered by ``auth/test_jwt.py`` and
``auth/test_presigned.py``; here: input errors (400/422/415) come before 403, 403 comes
before the object is looked up, and each method needs its own permission.
"""

from __future__ import annotations

import time
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from django_objectstore.server.config import (
    AuthConfig,
    KeyConfig,
    PolicyRule,
    ServerConfig,
    UsecaseConfig,
    UsecaseExpiration,
)
from tests.server.harness import BASE, Harness

ALL = ["object.read", "object.write", "object.delete"]


class AuthStore:
    def __init__(self, tmp_path: Path) -> None:
        self.key = Ed25519PrivateKey.generate()
        public = tmp_path / "kid.pem"
        public.write_bytes(
            self.key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        config = ServerConfig(
            auth=AuthConfig(enforce=True, keys={"kid": KeyConfig([str(public)], ALL)}),
            usecases={"test-usecase": UsecaseConfig(UsecaseExpiration(manual=PolicyRule(False)))},
        )
        self.harness = Harness(config)

    def token(self, *permissions: str) -> list[tuple[str, str]]:
        claims = {
            "res": {"os:usecase": "test-usecase", "org": "42", "project": "*"},
            "permissions": list(permissions),
            "exp": int(time.time()) + 60,
        }
        private = self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        token = jwt.encode(claims, private, algorithm="EdDSA", headers={"kid": "kid"})
        return [("x-os-auth", f"Bearer {token}")]


@pytest.fixture
def store(tmp_path: Path) -> AuthStore:
    store = AuthStore(tmp_path)
    result = store.harness.request(
        "PUT",
        f"{BASE}/k",
        headers=[*store.token(*ALL), ("x-sn-expiration", "ttl:1d")],
        body=b"x",
    )
    assert result.status == 200
    store.harness.backend.writes.clear()
    return store


def test_metadata_error_comes_before_missing_write_permission(store: AuthStore) -> None:
    headers = [*store.token("object.read"), ("content-encoding", "gzip")]
    assert store.harness.request("PUT", f"{BASE}/k", headers=headers).status == 400
    assert store.harness.backend.writes == []


def test_policy_error_comes_before_missing_write_permission(store: AuthStore) -> None:
    result = store.harness.request("PUT", f"{BASE}/k", headers=store.token("object.read"))
    assert result.status == 400  # manual is not allowed for this usecase
    assert store.harness.backend.writes == []


def test_valid_write_without_write_permission_is_403(store: AuthStore) -> None:
    headers = [*store.token("object.read"), ("x-sn-expiration", "ttl:1d")]
    for method, path in (("PUT", f"{BASE}/k"), ("POST", f"{BASE}/")):
        result = store.harness.request(method, path, headers=headers, body=b"new")
        assert result.status == 403
        assert result.header("content-type") == "application/json"
    assert store.harness.backend.writes == []


def test_read_permission_is_checked_before_the_lookup(store: AuthStore) -> None:
    token = store.token("object.write")
    assert store.harness.request("GET", f"{BASE}/missing", headers=token).status == 403
    assert store.harness.request("HEAD", f"{BASE}/k", headers=token).status == 403


def test_malformed_range_comes_before_missing_read_permission(store: AuthStore) -> None:
    headers = [*store.token("object.write"), ("range", "bytes=9-1")]
    assert store.harness.request("GET", f"{BASE}/k", headers=headers).status == 400


def test_delete_needs_delete_permission(store: AuthStore) -> None:
    token = store.token("object.read", "object.write")
    assert store.harness.request("DELETE", f"{BASE}/k", headers=token).status == 403
    assert store.harness.backend.writes == []
    deleter = store.token("object.delete")
    assert store.harness.request("DELETE", f"{BASE}/k", headers=deleter).status == 204


def test_patch_needs_write_permission_after_schema_checks(store: AuthStore) -> None:
    body = b'{"extend_expiry": {"after": "2d", "from": "now"}}'
    json_type = ("content-type", "application/json")
    reader = [*store.token("object.read"), json_type]
    assert store.harness.request("PATCH", f"{BASE}/k", headers=reader, body=b"{}").status == 422
    assert store.harness.request("PATCH", f"{BASE}/k", headers=reader, body=body).status == 403
    no_type = store.token("object.read")
    assert store.harness.request("PATCH", f"{BASE}/k", headers=no_type, body=body).status == 415
    writer = [*store.token("object.write"), json_type]
    assert store.harness.request("PATCH", f"{BASE}/k", headers=writer, body=body).status == 204


def test_scope_outside_the_token_is_403(store: AuthStore) -> None:
    token = store.token(*ALL)
    path = "/v1/objects/test-usecase/org=7;project=1/k"
    assert store.harness.request("GET", path, headers=token).status == 403


def test_no_token_is_400_before_anything_else(store: AuthStore) -> None:
    result = store.harness.request("PUT", f"{BASE}/k", headers=[("content-encoding", "gzip")])
    assert result.status == 400
    assert store.harness.request("GET", f"{BASE}/k").status == 400
