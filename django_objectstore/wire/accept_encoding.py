"""``Accept-Encoding``: which content codings a request accepts."""

from __future__ import annotations

__all__ = ["parse_accept_encoding"]


def parse_accept_encoding(header: str) -> list[str]:
    """The codings an ``Accept-Encoding`` header accepts, for ``get(accept_encoding=)``.

    Names are lowercased and stripped of parameters; codings refused with ``q=0`` are
    left out. Pass a browser's header through so zstd objects reach it compressed::

        session.get(key, accept_encoding=parse_accept_encoding(request_header))
    """
    accepted: list[str] = []
    for item in header.split(","):
        name, *params = (piece.strip() for piece in item.split(";"))
        if name and not any(_refused(param) for param in params):
            accepted.append(name.lower())
    return accepted


def _refused(param: str) -> bool:
    label, _, value = param.partition("=")
    if label.strip().lower() != "q":
        return False
    try:
        return float(value) == 0
    except ValueError:
        return False
