"""Authentication and authorization (placeholder: allows everything until completed)."""

from __future__ import annotations

from django_objectstore.server.backends.base import ObjectLocation
from django_objectstore.server.config import AuthConfig
from django_objectstore.server.messages import Request


class AuthContext:
    """What a request may do; ``require`` raises ``ProtocolError(403)`` when not allowed."""

    def require(self, permission: str, location: ObjectLocation) -> None:
        return None


class Authenticator:
    def __init__(self, config: AuthConfig) -> None:
        self.config = config

    def authenticate(self, request: Request) -> AuthContext:
        return AuthContext()
