"""uvicorn's httptools connection with a deadline and a size cap for request headers.

uvicorn bounds the idle time between requests (``timeout_keep_alive``) but not the time
a client takes to send a request line and headers, nor their size: a client sending half
a request line keeps its connection forever, and one sending endless headers grows the
server's memory. Like hyper's ``header_read_timeout``, this connection closes when a
request's headers are not complete ``header_timeout`` seconds after the connection
opened or the request began, and it answers 431 and closes once more than
:data:`HEADER_BYTES_CAP` arrive before the headers end (the adapter's exact limits,
100 headers and 400 KiB, still apply to requests below the cap).

It also coalesces small writes: uvicorn writes a response's status line and headers and
then each body message with a ``send`` system call apiece, so a small response costs two
sends and wakes the client twice. :class:`CoalescingTransport` gathers the writes made
in one turn of the event loop (up to :data:`COALESCE_BYTES`) into one send.

:func:`guarded_protocol` also pads glibc's malloc heaps (:func:`pad_malloc_heaps`): the
event loop runs in a thread of its own, and glibc gives such a thread its own heap,
which it shrinks as soon as its top is free. asyncio receives into a fresh 256 KiB
buffer per socket read, so every request grew and shrank that heap again: measured,
it cost as much server CPU as uvicorn's own work for a small request. Setting the pad
fixes glibc's ``mmap`` threshold at 128 KiB, so it also raises that threshold to
:data:`MALLOC_MMAP_THRESHOLD`: large bodies move in buffers of 256 KiB to 1 MiB.
"""

from __future__ import annotations

import asyncio
import ctypes
import platform
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from django_objectstore.server.hosting.asgi import MAX_HEADER_BYTES

HEADER_TIMEOUT = 30.0
"""Seconds a client may take for a request's line and headers (hyper's default)."""
HEADER_BYTES_CAP = MAX_HEADER_BYTES + 256 * 1024
"""Bytes received while a request's headers are incomplete before the connection is
refused; above the 400 KiB limit by one socket read, since reads also carry body bytes."""
MALLOC_TOP_PAD = 1024 * 1024
"""Free bytes glibc keeps at the top of a heap instead of returning them (``M_TOP_PAD``);
above asyncio's 256 KiB read buffer. Measured: 512 KiB did not stop the churn, 1 MiB did."""
MALLOC_MMAP_THRESHOLD = 2 * 1024 * 1024
"""Allocations glibc serves from a heap instead of a fresh ``mmap`` of their own. Setting
``M_TOP_PAD`` turns off glibc's sliding threshold (which would have grown to the sizes
seen), leaving it at 128 KiB: every received body message and every revision read
(256 KiB to 1 MiB) was mapped, zero-filled page by page and unmapped again. Measured:
page faults were half the event loop's time on a large upload."""
MALLOC_TRIM_THRESHOLD = 4 * 1024 * 1024
"""Free bytes at the top of a heap before glibc returns them: a few of the largest
buffers, so a large transfer does not return and fault in its memory again. Measured:
with 1 MiB buffers, 4 MiB is as fast as 8 and the server's peak memory is 4 MiB lower."""
_M_TRIM_THRESHOLD = -1  # mallopt parameter numbers, <malloc.h>
_M_TOP_PAD = -2
_M_MMAP_THRESHOLD = -3
COALESCE_BYTES = 64 * 1024
"""Writes gathered before they are sent at once; larger writes go out as they come."""
_REFUSAL = (
    b"HTTP/1.1 431 Request Header Fields Too Large\r\n"
    b"content-type: text/plain; charset=utf-8\r\n"
    b"content-length: 31\r\n"
    b"connection: close\r\n\r\n"
    b"Request Header Fields Too Large"
)


class CoalescingTransport:
    """A transport whose small writes in one turn of the loop leave in one send.

    The first small write schedules a flush for the end of the current turn
    (``call_soon``); writes before it are joined. Once :data:`COALESCE_BYTES` are held,
    or when a single write is that large, everything is written at once, so flow
    control (the transport's buffer limits and uvicorn's backpressure) sees large
    responses as before. Closing flushes first; aborting drops what is held.
    """

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []
        self._size = 0

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._held and len(data) >= COALESCE_BYTES:
            self._transport.write(data)
            return
        if not self._held:
            self._loop.call_soon(self.flush)
        self._held.append(bytes(data))
        self._size += len(data)
        if self._size >= COALESCE_BYTES:
            self.flush()

    def flush(self) -> None:
        if not self._held:
            return
        data = self._held[0] if len(self._held) == 1 else b"".join(self._held)
        self._held = []
        self._size = 0
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._held = []
        self._size = 0
        self._transport.abort()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._transport.set_protocol(protocol)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class GuardedProtocol(HttpToolsProtocol):
    """An httptools connection whose request headers must arrive in time and in bounds."""

    header_timeout = HEADER_TIMEOUT

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._header_timer: asyncio.TimerHandle | None = None
        self._awaiting_headers = True
        self._began = False
        self._header_bytes = 0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        coalescing = CoalescingTransport(transport, self.loop)
        super().connection_made(cast(asyncio.Transport, coalescing))
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
        self._began = False
        super().data_received(data)
        if self._began and self._awaiting_headers:
            # A request began inside this read (which on_message_begin cannot place):
            # count the whole read, so no header byte goes uncounted. At most one read
            # too many, which the cap's slack above MAX_HEADER_BYTES allows for.
            self._header_bytes += len(data)
            if self._header_bytes > HEADER_BYTES_CAP:
                self._refuse()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._awaiting_headers = True
        self._began = True
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


def pad_malloc_heaps(pad: int = MALLOC_TOP_PAD) -> bool:
    """Ask glibc to keep ``pad`` free bytes atop each heap (process-wide); ``True`` if set.

    Also serves allocations below :data:`MALLOC_MMAP_THRESHOLD` from the heaps and keeps
    up to :data:`MALLOC_TRIM_THRESHOLD` free atop each. Elsewhere (musl, macOS) nothing
    is done. Costs at most the trim threshold of memory per malloc arena in use (glibc
    makes at most eight per core; one per thread that allocates at the same time).
    """
    if platform.libc_ver()[0] != "glibc":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    mallopt(_M_MMAP_THRESHOLD, MALLOC_MMAP_THRESHOLD)
    mallopt(_M_TRIM_THRESHOLD, MALLOC_TRIM_THRESHOLD)
    return bool(mallopt(_M_TOP_PAD, pad))


def guarded_protocol(header_timeout: float) -> type[GuardedProtocol]:
    """A :class:`GuardedProtocol` class with its own ``header_timeout`` (uvicorn's ``http``).

    Called as the server is configured, it also pads the malloc heaps (see the module).
    """
    pad_malloc_heaps()
    return type("GuardedProtocol", (GuardedProtocol,), {"header_timeout": header_timeout})
