"""A one-line progress display for management commands, shown only on a terminal."""

from __future__ import annotations

import time
from collections.abc import Callable


class Progress:
    """Rewrites one status line at most ``per_second`` times a second.

    ``write(text)`` puts ``text`` on the terminal as it is (no newline added) and
    flushes; pass ``enabled=False`` when the output is not a terminal.
    """

    def __init__(
        self, write: Callable[[str], None], *, enabled: bool, per_second: float = 4.0
    ) -> None:
        self.write = write
        self.enabled = enabled
        self._interval = 1.0 / per_second
        self._last = 0.0

    def update(self, text: str, *, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if force or now - self._last >= self._interval:
            self._last = now
            self.write(f"\r\x1b[K{text}")

    def finish(self) -> None:
        if self.enabled:
            self.write("\r\x1b[K")
