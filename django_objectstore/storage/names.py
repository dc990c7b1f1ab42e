"""File names of the storage: ``<scope>/<key>``, e.g. ``org=42;project=1337/4f0c...``.

The scope part uses the protocol's matrix syntax (``_`` for no scope); the key is
everything after the first ``/`` and may itself contain ``/``. A name is self-contained:
it says which scope its object lives in, so tasks and commands can reach it without a
request.

Parsing is strict so that a forged name can never reach another scope: the scope part
must be a valid scope (no ``%``, ``.``, ``/``), and the key must not be empty, start or
end with ``/``, contain empty, ``.`` or ``..`` segments, backslashes or control
characters. Whatever passes is sent to the server percent-encoded, so the server sees
exactly the scope written in the name.
"""

from __future__ import annotations

import re

from django_objectstore.wire.scopes import Scopes, format_scopes, parse_scopes

__all__ = ["Scopes", "join_name", "looks_scoped", "split_name", "validate_key"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def validate_key(key: str) -> str:
    """Check an object key taken from a name; ``ValueError`` saying what is wrong."""
    if not key:
        raise ValueError("the object key is empty")
    if "\\" in key:
        raise ValueError(f"invalid object key {key!r}: backslashes are not allowed")
    if _CONTROL.search(key):
        raise ValueError(f"invalid object key {key!r}: control characters are not allowed")
    for segment in key.split("/"):
        if segment in ("", ".", ".."):
            raise ValueError(
                f"invalid object key {key!r}: empty, '.' and '..' path segments are not allowed"
            )
    return key


def join_name(scopes: Scopes, key: str) -> str:
    """``((("org", "42"),), "abc")`` -> ``org=42/abc``."""
    return f"{format_scopes(scopes)}/{validate_key(key)}"


def split_name(name: str) -> tuple[Scopes, str]:
    """``org=42;project=1337/abc/def`` -> ``((("org", "42"), ("project", "1337")), "abc/def")``.

    ``ValueError`` for anything that is not exactly ``<scope>/<key>``.
    """
    if not isinstance(name, str):
        raise ValueError(f"file name must be a string, got {type(name).__name__}")
    segment, sep, key = name.partition("/")
    if not sep:
        raise ValueError(f"invalid file name {name!r}: expected '<scope>/<key>'")
    try:
        scopes = parse_scopes(segment)
    except ValueError as exc:
        raise ValueError(f"invalid file name {name!r}: {exc}") from None
    try:
        validate_key(key)
    except ValueError as exc:
        raise ValueError(f"invalid file name {name!r}: {exc}") from None
    return scopes, key


def looks_scoped(name: str) -> bool:
    """Whether ``name`` starts with a valid scope segment followed by ``/``."""
    segment, sep, _ = name.partition("/")
    if not sep:
        return False
    try:
        parse_scopes(segment)
    except ValueError:
        return False
    return True
