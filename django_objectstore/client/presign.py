"""Pre-signed URLs: a signature in the query string authorizes one GET/HEAD URL.

The server verifies an Ed25519 signature over
:func:`django_objectstore.wire.presign.canonical_string` of the URL exactly as sent.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from django_objectstore.client.auth import SecretKey
from django_objectstore.wire.paths import PATH_SAFE
from django_objectstore.wire.presign import MAX_DURATION_SECONDS, SIGNATURE_PARAM, canonical_string
from django_objectstore.wire.timestamps import format_timestamp

METHODS = ("GET", "HEAD")
_QUERY_SAFE = PATH_SAFE + "?"


def presign_query(
    key: SecretKey,
    method: str,
    encoded_path: str,
    duration: timedelta,
    *,
    now: datetime | None = None,
) -> str:
    """The query string (``os_kid=...&os_sig=...``) that authorizes ``method`` on the path.

    ``encoded_path`` is the path exactly as it goes on the wire (including ``/v1``).
    """
    method = method.upper()
    if method not in METHODS:
        raise ValueError(f"cannot pre-sign method {method!r}: use GET or HEAD")
    if not isinstance(duration, timedelta) or duration <= timedelta(0):
        raise ValueError(f"duration must be a positive timedelta, got {duration!r}")
    seconds = math.ceil(duration.total_seconds())
    if seconds > MAX_DURATION_SECONDS:
        raise ValueError(f"duration {duration} exceeds the maximum of 7 days")
    timestamp = format_timestamp(now or datetime.now(UTC))
    query = (
        f"os_kid={quote(key.kid, safe=_QUERY_SAFE)}&os_timestamp={timestamp}&os_duration={seconds}"
    )
    signature = key.sign(canonical_string(method, encoded_path, query))
    return f"{query}&{SIGNATURE_PARAM}={signature}"
