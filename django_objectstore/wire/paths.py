"""Object paths: ``/v1/objects/{usecase}/{scopes}/{key}`` with the client's quoting."""

from __future__ import annotations

import re
from urllib.parse import quote

from django_objectstore.wire.scopes import Scopes, format_scopes

# RFC 3986 unreserved characters, the sub-delims, ":", "@" and "/" stay literal.
PATH_SAFE = "/:@!$&'()*+,;="
_USECASE = re.compile(r"[A-Za-z0-9_-]{3,64}")


def validate_usecase(name: str) -> str:
    """Usecase names are 3-64 characters from ``A-Z a-z 0-9 _ -``."""
    if not _USECASE.fullmatch(name):
        raise ValueError(f"invalid usecase name {name!r}: use 3-64 characters from A-Z a-z 0-9 _ -")
    return name


def quote_path(path: str) -> str:
    """Percent-encode a path as the official client does (uppercase hex, UTF-8)."""
    return quote(path, safe=PATH_SAFE)


def object_path(usecase: str, scopes: Scopes, key: str | None, *, endpoint: str = "objects") -> str:
    """The quoted request path; ``key=None`` gives the collection path ending in ``/``."""
    base = f"/v1/{endpoint}/{usecase}/{format_scopes(scopes)}/"
    return quote_path(base + (key or ""))
