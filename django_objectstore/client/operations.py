"""Session operations with more policy than plumbing: keepalive, expiry extension, URLs."""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django_objectstore.client.auth import Permission
from django_objectstore.client.errors import RequestError
from django_objectstore.client.presign import presign_query
from django_objectstore.wire import headers as h
from django_objectstore.wire.durations import format_duration
from django_objectstore.wire.expiration import TimeToIdle
from django_objectstore.wire.timestamps import ceil_second, format_timestamp, require_aware

if TYPE_CHECKING:
    from django_objectstore.client.session import Session

_JSON = {h.CONTENT_TYPE: "application/json"}
# PATCH answers after which keepalive asks with HEAD instead: no write permission (403),
# a server without PATCH (405, 501), or a conflict whose cause HEAD can tell apart (409).
_HEAD_FALLBACK = frozenset({403, 405, 409, 501})


def extension_body(
    at: datetime | None, from_creation: timedelta | None, from_now: timedelta | None
) -> bytes:
    """The PATCH body for ``extend_expiry``; ``ValueError`` for bad arguments."""
    given = [
        name
        for name, value in (("at", at), ("from_creation", from_creation), ("from_now", from_now))
        if value is not None
    ]
    if len(given) != 1:
        raise ValueError(
            "extend_expiry needs exactly one of at, from_creation or from_now"
            + (f"; got {', '.join(given)}" if given else "")
        )
    extension: dict[str, str]
    if at is not None:
        if not isinstance(at, datetime):
            raise ValueError(f"at must be a datetime, got {at!r}")
        # Whole seconds with "Z": the form the server's RFC 3339 parser accepts.
        extension = {"at": format_timestamp(ceil_second(require_aware(at, "at")))}
    else:
        delta = from_creation if from_creation is not None else from_now
        if not isinstance(delta, timedelta) or delta < timedelta(0):
            raise ValueError(f"expiry extension must be a non-negative timedelta, got {delta!r}")
        extension = {
            "after": format_duration(delta),
            "from": "creation" if from_creation is not None else "now",
        }
    return json.dumps({"extend_expiry": extension}).encode()


def keepalive(session: Session, key: str) -> bool:
    """Renew a TTI object's deadline without downloading it; ``False`` if it is gone.

    When the usecase has a ``TimeToIdle`` policy the client sends PATCH
    ``{"extend_expiry": {"after": <usecase TTI>, "from": "now"}}``: the deadline moves
    to now + TTI at once and deterministically (never shortened). Otherwise, and when
    PATCH is not possible (403 without write permission, 405/501 from servers without
    PATCH, 409), it sends HEAD: a read renews TTI on the server too, but debounced
    (only once a quarter of the TTI, at most a day, has passed) and, on the real
    server, asynchronously. HEAD is always correct and cheap; PATCH is exact.
    """
    client = session.client
    policy = session.usecase.expiration_policy
    metrics = session._metrics("keepalive")
    try:
        if isinstance(policy, TimeToIdle) and not client._patch_unsupported:
            body = json.dumps(
                {"extend_expiry": {"after": format_duration(policy.delta), "from": "now"}}
            ).encode()
            try:
                response = session._request(
                    "PATCH", key, headers=_JSON, body=body, expected_missing=True
                )
            except RequestError as error:
                if error.status not in _HEAD_FALLBACK:
                    raise
                if error.status in (405, 501):
                    client._patch_unsupported = True
            else:
                response.close()
                return response.status != 404
        response = session._request("HEAD", key, expected_missing=True)
        response.close()
        return response.status != 404
    finally:
        if metrics is not None:
            metrics.finish()


def object_url(session: Session, key: str, token_validity: timedelta | None) -> str:
    url = session.transport.base_url + session._path(key)
    if token_validity is None:
        return url
    if not isinstance(token_validity, timedelta) or token_validity <= timedelta(0):
        raise ValueError(f"token_validity must be a positive timedelta, got {token_validity!r}")
    token = session.mint_token([Permission.OBJECT_READ], math.ceil(token_validity.total_seconds()))
    # A JWT is base64url segments joined by ".": safe in a query string as it is.
    return f"{url}?os_auth={token}"


def presigned_object_url(session: Session, method: str, key: str, duration: timedelta) -> str:
    secret = session.client._secret_key()
    prefix: str = getattr(session.transport, "path_prefix", "")
    path = session._path(key)
    query = presign_query(secret, method, prefix + path, duration)
    return f"{session.transport.base_url}{path}?{query}"
