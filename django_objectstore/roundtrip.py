"""A full round trip against one storage, for ``manage.py objectstore_check``."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from django_objectstore.storage import ObjectstoreStorage

CHECK_SCOPES = (("objectstore-check", "1"),)


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


def round_trip(alias: str, storage: ObjectstoreStorage) -> Verdict:
    """Put (with the usecase's expiration), head, get and compare, delete, confirm gone.

    The probe object lives in its own scope so it never mixes with real data, and it is
    deleted even when a later step fails.
    """
    started = time.monotonic()
    payload = secrets.token_bytes(512)
    key = f"probe-{secrets.token_hex(8)}"
    step = "connect"
    where = f"{storage.base_url} usecase {storage.usecase.name}"
    try:
        session = storage.session_for(CHECK_SCOPES)
        step = "put"
        session.put(payload, key=key, content_type="application/octet-stream")
        try:
            step = "head"
            if session.head(key) is None:
                raise AssertionError("the object just written is not found")
            step = "get"
            result = session.get(key)
            if result is None:
                raise AssertionError("the object just written is not found")
            with result.payload as stream:
                if stream.read() != payload:
                    raise AssertionError("the object read back differs from what was written")
        finally:
            step = "delete" if step == "get" else step
            session.delete(key)
        step = "confirm deleted"
        if session.head(key) is not None:
            raise AssertionError("the object is still there after delete")
    except Exception as error:
        return Verdict(alias, False, step, f"{error} ({where})", time.monotonic() - started)
    return Verdict(alias, True, "done", f"round trip on {where}", time.monotonic() - started)
