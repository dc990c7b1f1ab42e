"""Health endpoints: ``/health`` (liveness) and ``/ready`` (readiness, drained by a file).

Like the real server, ``/ready`` answers 503 ``Shutting down`` while a file named
``objectstore.down`` exists in the temporary directory, so a deployment can drain an
instance before stopping it. Both are exempt from auth.
"""

from __future__ import annotations

import os
import tempfile

from django_objectstore.server.errors import ProtocolError
from django_objectstore.server.messages import Request, Response

DOWN_MARKER = "objectstore.down"


def down_marker_path() -> str:
    """Where the drain marker is looked for (``tempfile.gettempdir()``)."""
    return os.path.join(tempfile.gettempdir(), DOWN_MARKER)


def _text(status: int, text: str, head: bool) -> Response:
    payload = text.encode()
    headers = [
        ("content-type", "text/plain; charset=utf-8"),
        ("content-length", str(len(payload))),
    ]
    return Response(status, headers, [] if head else [payload])


def handle(request: Request) -> Response:
    """Serve ``GET``/``HEAD`` on ``/health`` and ``/ready``; other methods are 405."""
    if request.method not in ("GET", "HEAD"):
        raise ProtocolError(405, body="empty")
    head = request.method == "HEAD"
    if request.path == "/ready" and os.path.exists(down_marker_path()):
        return _text(503, "Shutting down", head)
    return _text(200, "OK", head)
