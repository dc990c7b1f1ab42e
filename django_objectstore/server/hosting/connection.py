"""uvicorn's httptools connection with a deadline and a size cap for request headers.

uvicorn bounds the idle time between requests (``timeout_keep_alive``) but not the time
a client takes to send a request line and headers, nor their size: a client sending half
a request line keeps its connection forever, and one sending endless headers grows the
server's memory. Like hyper's ``header_read_timeout``, this connection closes when a
request's headers are not complete ``header_timeout`` seconds after the connection
opened or the request began, and it answers 431 and closes once more than
:data:`HEADER_BYTES_CAP` arrive before the headers end (the adapter's exact limits,
100 headers and 400 KiB, still apply to requests below the cap).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from django_objectstore.server.hosting.asgi import MAX_HEADER_BYTES

HEADER_TIMEOUT = 30.0
"""Seconds a client may take for a request's line and headers (hyper's default)."""
HEADER_BYTES_CAP = MAX_HEADER_BYTES + 256 * 1024
"""Bytes received while a request's headers are incomplete before the connection is
refused; above the 400 KiB limit by one socket read, since reads also carry body bytes."""
_REFUSAL = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"content-length: 31\r\n"
    b"connection: close\r\n\r\n"
    b"Request Header Fields Too Large"
)


class GuardedProtocol(HttpToolsProtocol):
    """An httptools connection whose request headers must arrive in time and in bounds."""

    header_timeout = HEADER_TIMEOUT

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None
        self._awaiting_headers = True
        self._header_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._awaiting_headers:
            self._header_bytes += len(data)
            if self._header_bytes > HEADER_BYTES_CAP:
                self._refuse()
                return
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._awaiting_headers = True
        self._header_bytes = 0
        self._arm()

    def on_headers_complete(self) -> None:
        self._awaiting_headers = False
        self._disarm()
        super().on_headers_complete()

    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(self.header_timeout, self._timed_out)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _in_flight(self) -> bool:
        return self.cycle is not None and not self.cycle.response_complete

    def _timed_out(self) -> None:
        self._header_timer = None
        if not self._awaiting_headers or self.transport.is_closing():
            return
        if self._in_flight():  # a pipelined request is still answering: wait for it
            self._arm()
            return
        self.transport.close()

    def _refuse(self) -> None:
        self._disarm()
        self._awaiting_headers = False
        if not self.transport.is_closing():
            if not self._in_flight():
                self.transport.write(_REFUSAL)
            self.transport.close()


def guarded_protocol(header_timeout: float) -> type[GuardedProtocol]:
    """A :class:`GuardedProtocol` class with its own ``header_timeout`` (uvicorn's ``http``)."""
    return type("GuardedProtocol", (GuardedProtocol,), {"header_timeout": header_timeout})
