"""Authentication (who signed this request) and authorization (may it do this).

Auth is *active* when ``auth.enforce`` is true or any key is configured; inactive, every
request is allowed. Active, a request carries either a pre-signed URL (``os_sig`` in the
query, see ``presigned.py``) or an EdDSA JWT (``x-os-auth``, else ``authorization``,
each ``Bearer <jwt>``, else the ``os_auth`` query parameter; see ``tokens.py``).
With ``enforce: false`` tokens are still checked and failures logged, but the request
proceeds.

Token and pre-signed URL times are checked against the real wall clock, not the app's
clock: tests move the app clock to expire objects, and that must not expire the
credentials clients mint with the real time (nor make expired ones valid again).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from django_objectstore.server.auth.presigned import verify_presigned
from django_objectstore.server.auth.tokens import (
    PERMISSIONS,
    Claims,
    Key,
    TokenCache,
    load_keys,
    verify_token,
)
from django_objectstore.server.backends.records import ObjectLocation
from django_objectstore.server.config import AuthConfig
from django_objectstore.server.errors import ProtocolError
from django_objectstore.server.messages import Request
from django_objectstore.wire.headers import AUTH, AUTHORIZATION
from django_objectstore.wire.presign import SIGNATURE_PARAM

logger = logging.getLogger(__name__)

READ = "object.read"
WRITE = "object.write"
DELETE = "object.delete"
TOKEN_PARAM = "os_auth"
_BEARER = "bearer "


@dataclass(frozen=True)
class AuthContext:
    """What a request may do; ``require`` raises ``ProtocolError(403)`` when not allowed.

    The default context allows everything (auth inactive). ``claims`` limits a JWT
    request; ``presigned`` allows reading whatever path the signature covered.
    ``enforce=False`` logs refusals instead of raising them.
    """

    claims: Claims | None = None
    presigned: bool = False
    enforce: bool = True
    permissions: frozenset[str] = field(default=PERMISSIONS)

    def require(self, permission: str, location: ObjectLocation) -> None:
        problem = self._problem(permission, location)
        if problem is None:
            return
        if self.enforce:
            raise ProtocolError(403, f"auth error: {problem}")
        logger.warning("auth not enforced, allowing: %s", problem)

    def _problem(self, permission: str, location: ObjectLocation) -> str | None:
        if permission not in self.permissions:
            return f"permission {permission!r} not granted"
        claims = self.claims
        if claims is None:
            return None
        if claims.usecase != location.usecase:
            return f"token is not valid for usecase {location.usecase!r}"
        for name, value in location.scopes:
            granted = claims.scopes.get(name)
            if granted != "*" and granted != value:
                return f"token is not valid for scope {name}={value}"
        return None


ALLOW_ALL = AuthContext()


TOKEN_CACHE_SIZE = 1024
"""Verified JWTs remembered until they expire (least recently used dropped first)."""


class Authenticator:
    """Checks requests against the keys of ``config``, loaded once here.

    Raises ``ValueError`` (naming the setting) when auth is enforced without keys or a
    key file cannot be used, so a misconfigured server refuses to start.

    Verified JWTs are cached until they expire (:class:`~.tokens.TokenCache`, at most
    ``token_cache_size``; ``0`` turns the cache off); ``verify`` is the full verification
    behind it. :meth:`reload_keys` re-reads the key files after a rotation or a
    revocation and forgets every token verified with a key that changed.
    """

    def __init__(
        self,
        config: AuthConfig,
        *,
        token_cache_size: int = TOKEN_CACHE_SIZE,
        verify: Callable[[str, Mapping[str, Key]], Claims] = verify_token,
    ) -> None:
        self.config = config
        self.active = config.active
        self.enforce = config.enforce
        if config.enforce and not config.keys:
            raise ValueError(
                "auth is enforced (auth.enforce / OS__AUTH__ENFORCE) but no keys are"
                " configured (auth.keys / OS__AUTH__KEYS); add a key or disable enforcement"
            )
        self.keys = load_keys(config.keys)
        self.tokens = TokenCache(token_cache_size, verify=verify)

    def reload_keys(self) -> None:
        """Read the key files again (``KeyLoadError`` leaves the old keys in place)."""
        keys = load_keys(self.config.keys)
        self.keys = keys
        self.tokens.clear()

    def authenticate(self, request: Request) -> AuthContext:
        if not self.active:
            return ALLOW_ALL
        try:
            context = self._authenticate(request)
        except ProtocolError as error:
            if self.enforce:
                raise
            logger.warning("auth not enforced, allowing: %s", error.detail)
            return ALLOW_ALL
        if not self.enforce:
            return AuthContext(context.claims, context.presigned, False, context.permissions)
        return context

    def _authenticate(self, request: Request) -> AuthContext:
        params = _query_params(request.query)
        if SIGNATURE_PARAM in params:
            now = datetime.now(UTC)
            verify_presigned(request.method, request.path, request.query, params, self.keys, now)
            return AuthContext(presigned=True, permissions=frozenset({READ}))
        token = _header_token(request) or params.get(TOKEN_PARAM)
        if not token:
            raise ProtocolError(400, "auth error: no token (send x-os-auth: Bearer <jwt>)")
        claims = self.tokens.verify(token, self.keys)
        return AuthContext(claims=claims, permissions=claims.permissions)


def _bearer(value: str) -> str | None:
    return value[len(_BEARER) :] if value[: len(_BEARER)].lower() == _BEARER else None


def _header_token(request: Request) -> str | None:
    """``x-os-auth`` if present (even without ``Bearer``), else ``authorization``."""
    value = request.headers.get(AUTH)
    if value is None:
        value = request.headers.get(AUTHORIZATION)
    return _bearer(value) if value is not None else None


def _query_params(query: str) -> Mapping[str, str]:
    """Decoded query parameters (the last of repeated names); 400 if undecodable."""
    try:
        return dict(parse_qsl(query, keep_blank_values=True, errors="strict"))
    except (UnicodeDecodeError, ValueError):
        raise ProtocolError(400, "auth error: the query string cannot be parsed") from None
