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

Every file operation parses its name, and every save checks it several times, so parsing
and checks are cached: bounded LRU caches map names (and scope segments) already
accepted to their parts. Only names that passed are cached; a refused name is checked
again each time, so a forged name never gets in. The checks are pure functions of the
name (the active scope is applied after them), so a cached answer is always the answer.
"""

from __future__ import annotations

import os
import posixpath
import re
from functools import lru_cache

from django.core.exceptions import SuspiciousFileOperation
from django.core.files.utils import validate_file_name

from django_objectstore.wire.scopes import Scopes, format_scopes, parse_scopes

__all__ = [
    "NAME_CACHE_SIZE",
    "Scopes",
    "check_file_name",
    "check_relative_name",
    "join_name",
    "looks_scoped",
    "scoped_parts",
    "split_name",
    "validate_key",
]

NAME_CACHE_SIZE = 4096
"""Parsed names kept (least recently used first out); scope segments get a quarter."""

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")

_SEGMENT = r"(?!\.\.?(?:/|\Z))[^/\\\x00-\x1f\x7f]+"
_VALID_KEY = re.compile(rf"{_SEGMENT}(?:/{_SEGMENT})*")
"""Every rule of :func:`validate_key` in one match: segments that are not empty, ``.``
or ``..``, without backslashes or control characters."""


def validate_key(key: str) -> str:
    """Check an object key taken from a name; ``ValueError`` saying what is wrong."""
    if isinstance(key, str) and _VALID_KEY.fullmatch(key):
        return key
    if not key:
        raise ValueError("the object key is empty")
    if "\\" in key:
        raise ValueError(f"invalid object key {key!r}: backslashes are not allowed")
    if _CONTROL.search(key):
        raise ValueError(f"invalid object key {key!r}: control characters are not allowed")
    raise ValueError(
        f"invalid object key {key!r}: empty, '.' and '..' path segments are not allowed"
    )


@lru_cache(maxsize=NAME_CACHE_SIZE // 4)
def _parse_segment(segment: str) -> Scopes:
    return parse_scopes(segment)


@lru_cache(maxsize=NAME_CACHE_SIZE)
def join_name(scopes: Scopes, key: str) -> str:
    """``((("org", "42"),), "abc")`` -> ``org=42/abc``."""
    return f"{format_scopes(scopes)}/{validate_key(key)}"


def split_name(name: str) -> tuple[Scopes, str]:
    """``org=42;project=1337/abc/def`` -> ``((("org", "42"), ("project", "1337")), "abc/def")``.

    ``ValueError`` for anything that is not exactly ``<scope>/<key>``.
    """
    if not isinstance(name, str):
        raise ValueError(f"file name must be a string, got {type(name).__name__}")
    return _split(name)


@lru_cache(maxsize=NAME_CACHE_SIZE)
def _split(name: str) -> tuple[Scopes, str]:
    segment, sep, key = name.partition("/")
    if not sep:
        raise ValueError(f"invalid file name {name!r}: expected '<scope>/<key>'")
    try:
        scopes = _parse_segment(segment)
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
        _parse_segment(segment)
    except ValueError:
        return False
    return True


@lru_cache(maxsize=NAME_CACHE_SIZE)
def scoped_parts(name: str) -> tuple[Scopes, str] | None:
    """``split_name(name)`` when ``name`` :func:`looks_scoped`, else ``None`` (a name for
    the active scope); ``ValueError`` for a scoped name with an invalid key.

    Cached without a wrapper (a save asks three times): ``name`` is a ``str`` already,
    as :func:`check_file_name` and ``Storage.save`` made it.
    """
    return _split(name) if looks_scoped(name) else None


def check_relative_name(name: str) -> str:
    """Django's ``validate_file_name(name, allow_relative_path=True)``, without pathlib.

    The same rules, messages and ``SuspiciousFileOperation``: a file name must remain
    (not empty, ``.`` or ``..``), and the path must be relative without ``..`` parts.
    ``Storage.save`` asks this three times per save, which with pathlib cost more than
    all the storage's own name handling.
    """
    if type(name) is str:
        return _checked_relative_name(name)
    return _check_relative_name(name)


def _check_relative_name(name: str) -> str:
    if os.path.basename(name) in {"", ".", ".."}:
        raise SuspiciousFileOperation(f"Could not derive file name from '{name}'")
    path = str(name).replace("\\", "/")
    if path.startswith("/") or ".." in path.split("/"):
        raise SuspiciousFileOperation(f"Detected path traversal attempt in '{name}'")
    return name


_checked_relative_name = lru_cache(maxsize=NAME_CACHE_SIZE)(_check_relative_name)


def check_file_name(name: str) -> str:
    """``name`` with backslashes as slashes, after Django's ``validate_file_name`` of its
    last part (what ``Storage.get_available_name`` checks before looking for a name)."""
    if type(name) is str:
        return _checked_file_name(name)
    return _check_file_name(name)


def _check_file_name(name: str) -> str:
    name = str(name).replace("\\", "/")
    validate_file_name(posixpath.basename(name))
    return name


_checked_file_name = lru_cache(maxsize=NAME_CACHE_SIZE)(_check_file_name)
