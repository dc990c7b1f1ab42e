"""The canonical string that pre-signed URLs sign.

``METHOD\\nPATH\\nQUERY`` where HEAD signs as GET, PATH is the raw request path as on the
wire, and QUERY is the raw query split on ``&`` with empty pieces dropped, names
lowercased, ``os_sig`` removed, sorted and joined with ``&``.
"""

from __future__ import annotations

MAX_DURATION_SECONDS = 7 * 24 * 3600
SIGNATURE_PARAM = "os_sig"


def canonical_string(method: str, raw_path: str, raw_query: str) -> bytes:
    """The bytes that are signed for ``method`` on ``raw_path?raw_query``."""
    method = method.upper()
    if method == "HEAD":
        method = "GET"
    pieces = []
    for piece in raw_query.split("&"):
        if not piece:
            continue
        name, sep, value = piece.partition("=")
        name = name.lower()
        if name == SIGNATURE_PARAM:
            continue
        pieces.append(f"{name}{sep}{value}")
    pieces.sort()
    return f"{method}\n{raw_path}\n{'&'.join(pieces)}".encode()
