"""A full round trip against one storage, for ``manage.py objectstore_check``.

Steps, each named in the verdict when it fails: ``reach`` (``GET /health``), ``auth``
and ``put`` (a write with the usecase's expiration; 401/403 are reported as ``auth``),
``head``, ``get`` (and compare), ``delete``, ``confirm deleted``. The probe object lives
in a scope of its own (``objectstore-check=1``) so it never mixes with real data, and it
is deleted even when a step after the put fails.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from django_objectstore.client import RequestError, Session
from django_objectstore.storage import ObjectstoreStorage

CHECK_SCOPES = (("objectstore-check", "1"),)


class CheckFailed(Exception):
    """A step got an answer, but not the expected one."""


@dataclass
class Verdict:
    alias: str
    ok: bool
    step: str
    detail: str
    elapsed: float

    def line(self) -> str:
        if self.ok:
            return f"{self.alias}: OK ({self.detail}, {self.elapsed * 1000:.0f} ms)"
        return f"{self.alias}: FAILED at {self.step}: {self.detail}"


def reach(session: Session) -> None:
    """``GET /health`` answers 200 (any server-side problem shows up here first)."""
    response = session.transport.request("GET", "/health")
    try:
        if response.status != 200:
            raise CheckFailed(f"GET /health answered {response.status}")
    finally:
        response.close()


def is_auth_error(error: RequestError) -> bool:
    """401/403, or the 400 objectstore answers to a request without a token."""
    return error.status in (401, 403) or (
        error.status == 400 and "auth error" in (error.body or "")
    )


def round_trip(alias: str, storage: ObjectstoreStorage) -> Verdict:
    """Reach, put (with the usecase's expiration), head, get and compare, delete, confirm."""
    started = time.monotonic()
    payload = secrets.token_bytes(512)
    key = f"probe-{secrets.token_hex(8)}"
    step = "configuration"
    where = f"{storage.resolved_base_url()}, usecase {storage.usecase.name}"
    try:
        session = storage.session_for(CHECK_SCOPES)
        step = "reach"
        reach(session)
        step = "put"
        try:
            session.put(payload, key=key, content_type="application/octet-stream")
        except RequestError as error:
            if is_auth_error(error):
                step = "auth"
            raise
        try:
            step = "head"
            if session.head(key) is None:
                raise CheckFailed("the object just written is not found")
            step = "get"
            _read_back(session, key, payload)
        except Exception:
            session.delete(key)  # clean up, then report the step that failed
            raise
        step = "delete"
        session.delete(key)
        step = "confirm deleted"
        if session.head(key) is not None:
            raise CheckFailed("the object is still there after delete")
    except Exception as error:
        return Verdict(alias, False, step, f"{error} ({where})", time.monotonic() - started)
    return Verdict(alias, True, "done", f"round trip on {where}", time.monotonic() - started)


def _read_back(session: Session, key: str, payload: bytes) -> None:
    result = session.get(key)
    if result is None:
        raise CheckFailed("the object just written is not found")
    with result.payload as stream:
        if stream.read() != payload:
            raise CheckFailed("the object read back differs from what was written")
