"""Object keys that the official client's end-to-end suite round-trips (protocol.md §2.4).

Spaces, unicode, sub-delimiters, literal ``%`` and ``/`` inside keys: shared by the
client and server suites so both exercise exactly the same set.
"""

from __future__ import annotations

E2E_KEYS = [
    "plain-key",
    "with space",
    "café-unicode",
    "emoji-😀",
    "plus+sign",
    "sub!$'()*+,=delims",
    "tilde~dot.key",
    "100%literal-percent",
    "looks%20encoded",
    "nested/path/segments",
    "quote'apostrophe",
    "at@sign",
    "colon:separated",
    "ampersand&inside",
    "semi;colon",
    "equals=sign",
]
