"""The ``content-disposition`` header sent on GET and HEAD for objects with a filename.

The quoted ``filename`` parameter is a safe ASCII fallback; ``filename*`` (RFC 8187)
carries the exact name when it is not pure ASCII. The ``x-sn-filename`` header always
carries the unsanitized name.
"""

from __future__ import annotations

import string

# RFC 8187 attr-char: letters, digits and these marks stay literal in ``filename*``.
_ATTR_CHARS = frozenset(string.ascii_letters + string.digits + "!#$&+-.^_`|~")


def _fallback_char(char: str, only_dots: bool) -> str:
    if char in "/\\" or only_dots:
        return "-"
    if char == '"':
        return '\\"'
    if not char.isascii() or ord(char) < 0x20 or char == "\x7f":
        return "_"
    return char


def _ext_value(filename: str) -> str:
    return "".join(
        chr(byte) if chr(byte) in _ATTR_CHARS else f"%{byte:02X}"
        for byte in filename.encode("utf-8")
    )


def content_disposition(filename: str) -> str:
    """``attachment; filename="..."`` plus ``filename*=UTF-8''...`` for non-ASCII names.

    ``/`` and ``\\`` become ``-`` (no directory parts), a name made only of dots becomes
    dashes (no ``.``/``..``), quotes are escaped, non-ASCII and control characters
    become ``_`` in the fallback.
    """
    only_dots = bool(filename) and set(filename) == {"."}
    fallback = "".join(_fallback_char(char, only_dots) for char in filename)
    value = f'attachment; filename="{fallback}"'
    if not filename.isascii():
        value += f"; filename*=UTF-8''{_ext_value(filename)}"
    return value
