"""Ed25519 keys, hand-made tokens and extra auth servers for the auth tests."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import jwt

from django_objectstore.server.app import create_app
from django_objectstore.server.clock import OffsetClock
from django_objectstore.server.config import AuthConfig, KeyConfig, ServerConfig, StorageConfig
from django_objectstore.server.hosting.runner import ServerThread
from tests.signing_keys import SigningKey

ALL = ["object.read", "object.write", "object.delete"]


class KeyPair(SigningKey):
    def token(self, kid: str | None, claims: dict[str, Any] | None = None, **extra: Any) -> str:
        """A token for usecase ``u`` with every permission, expiring in a minute."""
        payload: dict[str, Any] = {
            "res": {"os:usecase": "u"},
            "permissions": ALL,
            "exp": int(time.time()) + 60,
        }
        payload.update(claims or {})
        payload.update(extra)
        headers = {"kid": kid} if kid is not None else {}
        return jwt.encode(payload, self.private_pem, algorithm="EdDSA", headers=headers)


@contextmanager
def auth_server(root: Path, auth: AuthConfig) -> Iterator[str]:
    config = ServerConfig(storage=StorageConfig(type="filesystem", path=str(root)), auth=auth)
    app = create_app(config, clock=OffsetClock())
    with ServerThread(app, sweep_interval=0) as server:
        yield server.url


def key_config(path: str | list[str], permissions: list[str] = ALL) -> KeyConfig:
    files = [path] if isinstance(path, str) else path
    return KeyConfig(key_files=files, max_permissions=list(permissions))
