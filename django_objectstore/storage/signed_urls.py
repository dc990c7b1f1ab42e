"""Signed proxy URLs: ``storage.url(name)`` that the download view serves without a scope.

A proxy URL carries two query parameters, ``expires`` (a Unix time) and ``signature``,
an HMAC made with Django's signing framework (:class:`django.core.signing.Signer`,
``SECRET_KEY``, salt :data:`SALT`) over the storage alias, the exact name and the
expiry. Changing any of the three, or using the URL after ``expires``, invalidates it.
``SECRET_KEY_FALLBACKS`` are honoured, so rotating the key keeps rendered URLs working.

The expiry is rounded **up** to a multiple of a tenth of the validity
(:func:`expiry_for`), so every URL of a name rendered within that window is the same
(browsers and caches can reuse the response) and each stays valid for at least the
validity asked for and at most 10% longer.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum

from django.core.signing import BadSignature, Signer

__all__ = [
    "EXPIRES_PARAM",
    "SALT",
    "SIGNATURE_PARAM",
    "Verdict",
    "Verification",
    "expiry_for",
    "now",
    "sign",
    "signed_query",
    "verify",
]

SALT = "django_objectstore.download"
"""The signing salt: signatures made for other purposes never validate here."""

EXPIRES_PARAM = "expires"
SIGNATURE_PARAM = "signature"

BUCKETS_PER_VALIDITY = 10
"""The expiry is rounded up to a multiple of ``validity / 10`` (at least a second)."""

_MAX_EXPIRES_DIGITS = 12  # Unix times until the year 33658


def now() -> float:
    """The current Unix time (one place, so tests can move the clock)."""
    return time.time()


def expiry_for(validity: timedelta, at: float | None = None) -> int:
    """``at + validity`` rounded up to a multiple of a tenth of ``validity``."""
    seconds = max(math.ceil(validity.total_seconds()), 1)
    bucket = max(seconds // BUCKETS_PER_VALIDITY, 1)
    deadline = math.ceil((now() if at is None else at) + seconds)
    return -(-deadline // bucket) * bucket


def _signer() -> Signer:
    return Signer(salt=SALT)


def _payload(alias: str, name: str, expires: int) -> str:
    return json.dumps([alias, name, expires], separators=(",", ":"))


def sign(alias: str, name: str, expires: int) -> str:
    """The signature of the URL of ``name`` in storage ``alias`` until ``expires``."""
    signed = _signer().sign(_payload(alias, name, expires))
    return signed.rsplit(_signer().sep, 1)[1]


def signed_query(alias: str, name: str, validity: timedelta) -> dict[str, str]:
    """The query parameters of a signed URL valid for at least ``validity``."""
    expires = expiry_for(validity)
    return {EXPIRES_PARAM: str(expires), SIGNATURE_PARAM: sign(alias, name, expires)}


class Verdict(Enum):
    ABSENT = "absent"
    """No signature in the URL."""
    VALID = "valid"
    EXPIRED = "expired"
    """A genuine signature past its expiry."""
    INVALID = "invalid"
    """Made for another name or storage, edited, or signed with another key."""


@dataclass(frozen=True)
class Verification:
    verdict: Verdict
    expires: int | None = None

    @property
    def valid(self) -> bool:
        return self.verdict is Verdict.VALID

    def explain(self) -> str:
        """What went wrong, for ``DEBUG`` responses."""
        if self.verdict is Verdict.EXPIRED and self.expires is not None:
            when = datetime.fromtimestamp(self.expires, UTC).isoformat()
            return (
                f"the URL's signature expired at {when}: render the page again for a "
                "fresh URL, or raise the storage's url_expiry option"
            )
        if self.verdict is Verdict.INVALID:
            return (
                "the URL's signature does not match this file name and storage: use the "
                "URL exactly as storage.url() returned it (SECRET_KEY must be the one it "
                "was signed with, or listed in SECRET_KEY_FALLBACKS)"
            )
        return "the URL carries no signature"


def verify(query: Mapping[str, str], alias: str, name: str) -> Verification:
    """Check the ``expires``/``signature`` parameters of a request for ``name``."""
    signature = query.get(SIGNATURE_PARAM)
    raw_expires = query.get(EXPIRES_PARAM)
    if not signature and not raw_expires:
        return Verification(Verdict.ABSENT)
    if (
        not signature
        or not raw_expires
        or not raw_expires.isascii()
        or not raw_expires.isdigit()
        or len(raw_expires) > _MAX_EXPIRES_DIGITS
    ):
        return Verification(Verdict.INVALID)
    expires = int(raw_expires)
    signer = _signer()
    try:
        signer.unsign(f"{_payload(alias, name, expires)}{signer.sep}{signature}")
    except BadSignature:
        return Verification(Verdict.INVALID)
    if now() >= expires:
        return Verification(Verdict.EXPIRED, expires)
    return Verification(Verdict.VALID, expires)
