"""Scopes in the path's matrix syntax: ``org=42;project=1337``, or ``_`` for none."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

NO_SCOPES = "_"
_ALLOWED = re.compile(r"[A-Za-z0-9_\-()$!+']+")
ALLOWED_CHARACTERS = "A-Z a-z 0-9 _ - ( ) $ ! + '"

Scopes = tuple[tuple[str, str], ...]


def validate_scope_part(text: str, what: str) -> str:
    """Check one scope name or value; ``ValueError`` naming the offending part."""
    if not _ALLOWED.fullmatch(text):
        raise ValueError(
            f"invalid scope {what} {text!r}: use only the characters {ALLOWED_CHARACTERS}"
        )
    return text


def make_scopes(pairs: Mapping[str, object] | Iterable[tuple[str, object]]) -> Scopes:
    """Validate and stringify ``{"org": 42}`` or ``[("org", 42)]``; order is kept."""
    items = pairs.items() if isinstance(pairs, Mapping) else pairs
    return tuple(
        (
            validate_scope_part(str(name), "name"),
            validate_scope_part(str(value), f"value of {str(name)!r}"),
        )
        for name, value in items
    )


def format_scopes(scopes: Scopes) -> str:
    """``(("org", "42"),)`` -> ``org=42``; no scopes -> ``_``."""
    if not scopes:
        return NO_SCOPES
    return ";".join(f"{name}={value}" for name, value in scopes)


def parse_scopes(segment: str) -> Scopes:
    """Parse a (percent-decoded) path segment; ``ValueError`` when malformed."""
    if segment == NO_SCOPES:
        return ()
    pairs = []
    for item in segment.split(";"):
        name, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"invalid scope {item!r}: expected name=value")
        pairs.append(
            (validate_scope_part(name, "name"), validate_scope_part(value, f"value of {name!r}"))
        )
    return tuple(pairs)
