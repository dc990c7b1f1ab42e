"""A one-line progress display for management commands, shown only on a terminal."""

from __future__ import annotations

import time
from typing import TextIO


class Progress:
    """Rewrites one status line at most ``per_second`` times a second."""

    def __init__(self, stream: TextIO, *, enabled: bool, per_second: float = 4.0) -> None:
        self.stream = stream
        self.enabled = enabled and stream.isatty()
        self._interval = 1.0 / per_second
        self._last = 0.0

    def update(self, text: str, *, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if force or now - self._last >= self._interval:
            self._last = now
            self.stream.write(f"\r\x1b[K{text}")
            self.stream.flush()

    def finish(self) -> None:
        if self.enabled:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
