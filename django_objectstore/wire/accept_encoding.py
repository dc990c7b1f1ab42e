"""``Accept-Encoding``: which content codings a request accepts.

One reading of the header for the client (``parse_accept_encoding``, shaped like the
official client's) and for the download view (``accepts_encoding``). A coding is refused
only by ``q=0`` (or ``0.0``...); a ``q`` that is not a number is ignored, as the official
client ignores it, so a malformed parameter never hides a coding the client named.
"""

from __future__ import annotations

from collections.abc import Iterator

__all__ = ["accepts_encoding", "parse_accept_encoding"]


def parse_accept_encoding(header: str) -> list[str]:
    """The codings an ``Accept-Encoding`` header accepts, for ``get(accept_encoding=)``.

    Names are lowercased and stripped of parameters; codings refused with ``q=0`` are
    left out. Pass a browser's header through so zstd objects reach it compressed::

        session.get(key, accept_encoding=parse_accept_encoding(request_header))
    """
    return [name for name, accepted in _codings(header) if accepted]


def accepts_encoding(header: str | None, coding: str) -> bool:
    """Whether ``header`` accepts ``coding``: named with ``q`` > 0, or matched by ``*``."""
    wildcard = False
    for name, accepted in _codings(header or ""):
        if name == coding:
            return accepted
        if name == "*":
            wildcard = accepted
    return wildcard


def _codings(header: str) -> Iterator[tuple[str, bool]]:
    """``(lowercased coding, accepted)`` for each non-empty element of the header."""
    for item in header.split(","):
        name, *params = (piece.strip() for piece in item.split(";"))
        if name:
            yield name.lower(), not any(_refuses(param) for param in params)


def _refuses(param: str) -> bool:
    label, _, value = param.partition("=")
    if label.strip().lower() != "q":
        return False
    try:
        return float(value) == 0
    except ValueError:
        return False
