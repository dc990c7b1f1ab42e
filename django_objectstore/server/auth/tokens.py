"""Public keys from the key directory, and EdDSA JWT verification against them.

Status codes follow the real server: a missing ``kid`` is 400; a malformed token, an
unknown ``kid``, another algorithm, a bad signature, an expired token (60 s leeway) or
ill-typed claims are 401. :class:`TokenCache` keeps verified tokens until they expire.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from django_objectstore.server.config import KeyConfig
from django_objectstore.server.errors import ProtocolError

PERMISSIONS = frozenset({"object.read", "object.write", "object.delete"})
LEEWAY_SECONDS = 60
AUDIENCE = "objectstore"
ISSUERS = frozenset({"sentry", "relay"})
USECASE_CLAIM = "os:usecase"


class KeyLoadError(ValueError):
    """A configured key file cannot be used; the message names the kid and the file."""


@dataclass(frozen=True)
class Key:
    """One ``kid``: every version of its public key, and the most it may authorize."""

    versions: tuple[Ed25519PublicKey, ...]
    max_permissions: frozenset[str]


@dataclass(frozen=True)
class Claims:
    usecase: str
    scopes: Mapping[str, str]
    permissions: frozenset[str]


def load_keys(keys: Mapping[str, KeyConfig]) -> dict[str, Key]:
    """Read every key file once (at startup); ``KeyLoadError`` names what is wrong."""
    loaded = {}
    for kid, config in keys.items():
        versions = []
        for path in config.key_files:
            where = f"auth.keys.{kid}.key_files ({path})"
            try:
                public = load_pem_public_key(Path(path).read_bytes())
            except OSError as error:
                raise KeyLoadError(f"{where}: cannot read the key: {error.strerror}") from None
            except ValueError:
                raise KeyLoadError(f"{where}: not a PEM public key (BEGIN PUBLIC KEY)") from None
            if not isinstance(public, Ed25519PublicKey):
                raise KeyLoadError(f"{where}: not an Ed25519 key")
            versions.append(public)
        loaded[kid] = Key(tuple(versions), frozenset(config.max_permissions))
    return loaded


def _unauthorized(message: str) -> ProtocolError:
    return ProtocolError(401, f"auth error: {message}")


def _decode(token: str, key: Key) -> dict[str, Any]:
    options: Any = {
        "require": ["exp"],
        "verify_aud": False,
        "verify_iss": False,
        "verify_nbf": False,
        "verify_iat": False,
    }
    for public in key.versions:
        try:
            claims: dict[str, Any] = jwt.decode(
                token, public, algorithms=["EdDSA"], leeway=LEEWAY_SECONDS, options=options
            )
        except jwt.InvalidSignatureError:
            continue
        except jwt.ExpiredSignatureError:
            raise _unauthorized("token expired") from None
        except jwt.InvalidTokenError as error:
            raise _unauthorized(f"invalid token: {error}") from None
        return claims
    raise _unauthorized("token signature does not match any key version")


def _check_audience_and_issuer(claims: Mapping[str, Any]) -> None:
    if "aud" in claims:
        audience = claims["aud"]
        audiences = audience if isinstance(audience, list) else [audience]
        if AUDIENCE not in audiences:
            raise _unauthorized(f"audience must be {AUDIENCE!r}")
    if "iss" in claims and claims["iss"] not in ISSUERS:
        raise _unauthorized(f"issuer must be one of {', '.join(sorted(ISSUERS))}")


def _parse_claims(claims: Mapping[str, Any]) -> Claims:
    resources = claims.get("res")
    if not isinstance(resources, dict) or not all(
        isinstance(value, str) for value in resources.values()
    ):
        raise _unauthorized("claim 'res' must be an object of strings")
    usecase = resources.get(USECASE_CLAIM)
    if not isinstance(usecase, str):
        raise _unauthorized(f"claim 'res' lacks {USECASE_CLAIM!r}")
    permissions = claims.get("permissions")
    if not isinstance(permissions, list) or not all(
        isinstance(item, str) and item in PERMISSIONS for item in permissions
    ):
        raise _unauthorized(f"claim 'permissions' must list only {', '.join(sorted(PERMISSIONS))}")
    scopes = {name: value for name, value in resources.items() if name != USECASE_CLAIM}
    return Claims(usecase, scopes, frozenset(permissions))


def verify_token(token: str, keys: Mapping[str, Key]) -> Claims:
    """Verify ``token``; the claims with permissions capped by the key's maximum."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError as error:
        raise _unauthorized(f"malformed token: {error}") from None
    if header.get("alg") != "EdDSA":
        raise _unauthorized("token algorithm must be EdDSA")
    kid = header.get("kid")
    if not isinstance(kid, str):
        raise ProtocolError(400, "auth error: token header lacks 'kid'")
    key = keys.get(kid)
    if key is None:
        raise _unauthorized(f"unknown key id {kid!r}")
    raw_claims = _decode(token, key)
    _check_audience_and_issuer(raw_claims)
    claims = _parse_claims(raw_claims)
    return Claims(claims.usecase, claims.scopes, claims.permissions & key.max_permissions)


@dataclass(frozen=True)
class _Verified:
    claims: Claims
    kid: str
    key: Key
    expires: float
    """The token is valid while the wall clock is before this (``exp`` plus the leeway)."""


class TokenCache:
    """Verified tokens until they expire: a bounded LRU keyed by the token string.

    Verifying an EdDSA JWT (decoding, one signature check per key version, claim checks)
    costs about a hundred microseconds; a client that sends the same token with every
    request pays that once. An entry is used only while

    - the wall clock (``clock``) is before the token's ``exp`` plus the leeway: after
      that it is refused as expired, as verification would refuse it (``exp`` is signed,
      and the clock only moves forward);
    - its ``kid`` still names the very :class:`Key` it was verified with: replacing the
      key set (:meth:`~.authenticator.Authenticator.reload_keys` after a rotation or a
      revocation) invalidates every entry verified with a key that changed.

    Tokens whose ``nbf`` lies ahead are not cached (the verifier does not check ``nbf``,
    like the real server, so caching them would change nothing but could outlive a
    verifier that does). Failures are never cached: a refused token is refused by the
    full verification every time, with its own message.
    """

    def __init__(
        self,
        size: int = 1024,
        *,
        verify: Callable[[str, Mapping[str, Key]], Claims] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.size = size
        self._verify = verify or verify_token
        self._clock = clock
        self._entries: OrderedDict[str, _Verified] = OrderedDict()
        self._lock = threading.Lock()

    def verify(self, token: str, keys: Mapping[str, Key]) -> Claims:
        """The claims of ``token`` (as :func:`verify_token` returns them), cached."""
        now = self._clock()
        with self._lock:
            entry = self._entries.get(token)
            if entry is not None:
                if now < entry.expires and keys.get(entry.kid) is entry.key:
                    self._entries.move_to_end(token)
                    return entry.claims
                del self._entries[token]
                if now >= entry.expires:
                    raise _unauthorized("token expired")
        claims = self._verify(token, keys)
        self._remember(token, claims, keys, now)
        return claims

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def _remember(self, token: str, claims: Claims, keys: Mapping[str, Key], now: float) -> None:
        if self.size <= 0:
            return
        times = _unverified_times(token)
        kid = _kid_of(token)
        key = keys.get(kid) if kid is not None else None
        if times is None or kid is None or key is None:
            return
        expires, not_before = times
        if not_before is not None and not_before > now:
            return
        with self._lock:
            self._entries[token] = _Verified(claims, kid, key, expires + LEEWAY_SECONDS)
            self._entries.move_to_end(token)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)


def _kid_of(token: str) -> str | None:
    """The ``kid`` of a token whose signature was verified."""
    try:
        kid = jwt.get_unverified_header(token).get("kid")
    except jwt.InvalidTokenError:
        return None
    return kid if isinstance(kid, str) else None


def _unverified_times(token: str) -> tuple[float, float | None] | None:
    """``(exp, nbf)`` of a token whose signature was verified; ``None`` if unusable."""
    try:
        payload = jwt.decode(token, options={"verify_signature": False})
    except jwt.InvalidTokenError:
        return None
    exp, nbf = payload.get("exp"), payload.get("nbf")
    if isinstance(exp, bool) or not isinstance(exp, int | float):
        return None
    if nbf is not None and (isinstance(nbf, bool) or not isinstance(nbf, int | float)):
        return None
    return float(exp), None if nbf is None else float(nbf) - LEEWAY_SECONDS
