"""Where the filesystem backend keeps an object: safe, bounded, collision-free names.

Every user-supplied string (usecase, scope names and values, key) becomes exactly one
path component, never several, so nothing a client sends can climb out of its
directory. The encoding:

* bytes of the UTF-8 text (lone surrogates kept via ``surrogatepass``) from
  ``a-z 0-9 - _ .`` stay literal, except a leading ``.``; every other byte becomes
  ``%XX`` with uppercase hex. So ``/``, ``\\``, NUL, ``..``, upper case letters and
  non-ASCII text are all escaped, no name starts with ``.`` and no name is ``.`` or
  ``..``. Upper case letters are escaped so that names stay distinct on
  case-insensitive filesystems too (``%`` always starts a three-character token, so
  case folding cannot make two encodings equal).
* the empty string becomes ``%`` (never the result of encoding a non-empty string);
* an encoding longer than :data:`MAX_NAME` characters is replaced by ``~`` and the
  SHA-256 hex digest of the encoding. ``~`` never appears in an encoding, so hashed and
  plain names cannot collide; the object file's header holds the full location and is
  checked on every read.

Scope pairs become ``<name>=<value>`` directories (``=`` is always escaped inside the
parts). Keys are sharded by the first byte of the SHA-256 of the key. Names starting
with ``.`` are reserved for the backend's own files (``.locks``, ``*.draft``).
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field

from django_objectstore.server.backends.records import ObjectLocation

MAX_NAME = 200
"""Longest plain component; well below the 255-byte limit of common filesystems."""

OBJECTS_DIR = "objects"
LOCKS_DIR = ".locks"
DRAFT_SUFFIX = ".draft"

_SAFE = frozenset(b"abcdefghijklmnopqrstuvwxyz0123456789-_.")
_DOT = ord(".")
_ESCAPES = tuple(f"%{byte:02X}" for byte in range(256))


def encode_text(text: str) -> str:
    """The reversible, filesystem-safe spelling of ``text`` (see the module docstring)."""
    raw = text.encode("utf-8", "surrogatepass")
    if not raw:
        return "%"
    parts = [_ESCAPES[raw[0]] if raw[0] == _DOT or raw[0] not in _SAFE else chr(raw[0])]
    parts.extend(chr(byte) if byte in _SAFE else _ESCAPES[byte] for byte in raw[1:])
    return "".join(parts)


def decode_text(name: str) -> str:
    """Invert :func:`encode_text` (hashed ``~`` names cannot be inverted)."""
    if name == "%":
        return ""
    if name.startswith("~"):
        raise ValueError(f"hashed name {name!r} cannot be decoded; read the object header")
    out = bytearray()
    index = 0
    while index < len(name):
        if name[index] == "%":
            out.append(int(name[index + 1 : index + 3], 16))
            index += 3
        else:
            out.append(ord(name[index]))
            index += 1
    return out.decode("utf-8", "surrogatepass")


def bound(name: str) -> str:
    """``name`` itself when short enough, else ``~`` + SHA-256 hex of it."""
    if len(name) <= MAX_NAME:
        return name
    return "~" + hashlib.sha256(name.encode("ascii")).hexdigest()


def scope_dir_name(name: str, value: str) -> str:
    return bound(f"{encode_text(name)}={encode_text(value)}")


@dataclass(frozen=True)
class ObjectPath:
    """An object's place relative to the backend root."""

    parts: tuple[str, ...]
    """Directory components followed by the file name."""

    @property
    def directory(self) -> tuple[str, ...]:
        return self.parts[:-1]

    @property
    def name(self) -> str:
        return self.parts[-1]

    relative: str = field(init=False, compare=False, repr=False)
    """``parts`` joined with ``/``."""
    digest: bytes = field(init=False, compare=False, repr=False)
    """Stable hash of the path, used to pick lock slots."""

    def __post_init__(self) -> None:
        # Computed once: paths are used several times per operation. (Plain fields, not
        # functools.cached_property, which serialises all threads on Python < 3.12.)
        relative = "/".join(self.parts)
        object.__setattr__(self, "relative", relative)
        object.__setattr__(self, "digest", hashlib.sha256(relative.encode("ascii")).digest())


@functools.lru_cache(maxsize=4096)
def object_path(location: ObjectLocation) -> ObjectPath:
    """``<usecase>/<name>=<value>/.../objects/<shard>/<key>`` for ``location``."""
    key_bytes = location.key.encode("utf-8", "surrogatepass")
    shard = hashlib.sha256(key_bytes).hexdigest()[:2]
    parts = [bound(encode_text(location.usecase))]
    parts.extend(scope_dir_name(name, value) for name, value in location.scopes)
    parts.extend((OBJECTS_DIR, shard, bound(encode_text(location.key))))
    return ObjectPath(tuple(parts))


def is_draft_name(name: str) -> bool:
    return name.startswith(".") and name.endswith(DRAFT_SUFFIX)


def is_object_name(name: str) -> bool:
    """Whether a file name in a shard directory can be an object (not a draft/junk)."""
    return bool(name) and not name.startswith(".")
