"""Credentials: Ed25519 signing keys, JWTs per usecase and scope, a token cache, and the
auth headers every request carries."""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from enum import StrEnum

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from django_objectstore.wire import headers as h
from django_objectstore.wire.scopes import Scopes


class Permission(StrEnum):
    """What a token allows."""

    OBJECT_READ = "object.read"
    OBJECT_WRITE = "object.write"
    OBJECT_DELETE = "object.delete"

    @classmethod
    def all(cls) -> list[Permission]:
        return list(cls)

    max = all
    """The official client's name for :meth:`all`."""


class SecretKey:
    """An Ed25519 private key (PKCS#8 PEM) registered on the server under ``kid``.

    Signs JWTs for a usecase and scope (``token_for_scope``) and pre-signed URLs.
    ``expiry_seconds`` is the lifetime of the tokens the client mints for its own
    requests; ``permissions`` (default: all) caps what they grant.
    """

    def __init__(
        self,
        kid: str,
        secret_key: str | bytes | None = None,
        expiry_seconds: int = 60,
        permissions: Iterable[Permission | str] | None = None,
        *,
        pem: str | bytes | None = None,
    ) -> None:
        if (secret_key is None) == (pem is None):
            raise ValueError("SecretKey needs the private key PEM: pass secret_key (or pem)")
        pem = secret_key if secret_key is not None else pem
        assert pem is not None
        if not kid:
            raise ValueError("SecretKey kid must be a non-empty string")
        if expiry_seconds <= 0:
            raise ValueError(f"SecretKey expiry_seconds must be positive, got {expiry_seconds!r}")
        self.kid = kid
        self.pem = pem.decode() if isinstance(pem, bytes) else pem
        key = load_pem_private_key(self.pem.encode(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError("SecretKey needs an Ed25519 private key (PKCS#8 PEM)")
        self._key = key
        self.expiry_seconds = expiry_seconds
        self.permissions: list[Permission] = (
            Permission.all() if permissions is None else [Permission(p) for p in permissions]
        )

    def __repr__(self) -> str:
        return f"SecretKey(kid={self.kid!r}, expiry_seconds={self.expiry_seconds})"

    @property
    def secret_key(self) -> str:
        """The private key PEM (the official client's attribute name)."""
        return self.pem

    def token_for_scope(
        self,
        usecase: str,
        scopes: Scopes,
        permissions: Iterable[Permission | str] | None = None,
        expiry_seconds: int | None = None,
    ) -> str:
        """A JWT for ``usecase`` and ``scopes``; ``ValueError`` beyond the key's permissions."""
        granted = self.permissions
        if permissions is not None:
            granted = [Permission(p) for p in permissions]
            extra = set(granted) - set(self.permissions)
            if extra:
                raise ValueError(f"permissions {sorted(extra)} are not granted to key {self.kid!r}")
        expiry = self.expiry_seconds if expiry_seconds is None else expiry_seconds
        claims = {
            "res": {"os:usecase": usecase, **dict(scopes)},
            "permissions": [str(p) for p in granted],
            "exp": int(time.time()) + expiry,
        }
        return jwt.encode(claims, self._key, algorithm="EdDSA", headers={"kid": self.kid})

    sign_for_scope = token_for_scope
    """The official client's older name for :meth:`token_for_scope`."""

    def sign(self, message: bytes) -> str:
        """The Ed25519 signature of ``message``, base64url without padding."""
        return base64.urlsafe_b64encode(self._key.sign(message)).rstrip(b"=").decode()

    def signature_for_canonical_form(self, canonical_form: str) -> str:
        """``os_sig`` for a pre-signed URL's canonical string (the official client's name)."""
        return self.sign(canonical_form.encode("utf-8"))


TokenProvider = SecretKey | str
TokenGenerator = SecretKey
"""The official client's older name for :class:`SecretKey`."""
_MAX_CACHED = 4096


class TokenCache:
    """Tokens per (usecase, scopes), reused until shortly before they expire.

    A token is replaced once less than ``max(10 s, 20 % of its lifetime)`` remains, so
    a request never carries a token that could expire in flight, and signing (about
    50 us) happens once a minute per scope instead of on every request. Thread-safe.
    """

    def __init__(self, key: SecretKey) -> None:
        self.key = key
        lifetime = key.expiry_seconds
        self._reuse_for = lifetime - max(10.0, lifetime * 0.2)
        self._tokens: dict[tuple[str, Scopes], tuple[str, float]] = {}
        self._lock = threading.Lock()

    def token(self, usecase: str, scopes: Scopes) -> str:
        cache_key = (usecase, scopes)
        now = time.monotonic()
        cached = self._tokens.get(cache_key)
        if cached is not None and now < cached[1]:
            return cached[0]
        with self._lock:
            cached = self._tokens.get(cache_key)
            if cached is not None and now < cached[1]:
                return cached[0]
            token = self.key.token_for_scope(usecase, scopes)
            if self._reuse_for > 0:
                if len(self._tokens) >= _MAX_CACHED:
                    self._tokens = {k: v for k, v in self._tokens.items() if now < v[1]}
                    if len(self._tokens) >= _MAX_CACHED:
                        self._tokens.clear()
                self._tokens[cache_key] = (token, now + self._reuse_for)
            return token


class Credentials:
    """What authorizes a client's requests: ``Authorization`` (and trace) headers.

    ``token``: a :class:`SecretKey` (a JWT is minted per usecase and scope and cached),
    a fixed JWT string, or ``None`` (no ``Authorization`` header). ``trace_headers``:
    called per request for headers that continue the caller's trace.
    """

    def __init__(
        self,
        token: TokenProvider | None,
        trace_headers: Callable[[], Mapping[str, str]] | None = None,
    ) -> None:
        self.token = token
        self._tokens = TokenCache(token) if isinstance(token, SecretKey) else None
        self._static_auth = f"Bearer {token}" if isinstance(token, str) else None
        self._trace_headers = trace_headers

    def fixed_headers(self) -> dict[str, str] | None:
        """The headers of every request when they never change (no signing key, no
        traces), so a session can build them once; ``None`` otherwise."""
        if self._tokens is not None or self._trace_headers is not None:
            return None
        return {h.AUTH: self._static_auth} if self._static_auth is not None else {}

    def headers(self, usecase: str, scopes: Scopes) -> dict[str, str]:
        """A fresh dict with the auth (and trace) headers for one request."""
        if self._tokens is not None:
            headers = {h.AUTH: "Bearer " + self._tokens.token(usecase, scopes)}
        elif self._static_auth is not None:
            headers = {h.AUTH: self._static_auth}
        else:
            headers = {}
        if self._trace_headers is not None:
            headers.update(self._trace_headers())
        return headers

    def secret_key(self) -> SecretKey:
        """The signing key; ``ValueError`` when the client has none."""
        if not isinstance(self.token, SecretKey):
            raise ValueError("this needs a SecretKey: pass Client(token=SecretKey(kid, pem))")
        return self.token
