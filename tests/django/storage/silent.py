"""A TCP server that accepts connections and never answers: a hung objectstore."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress


@contextmanager
def silent_server(answer: bytes = b"") -> Iterator[str]:
    """Yield ``http://127.0.0.1:<port>`` of a server that reads requests, answers nothing.

    Requests are read (so uploads are not stuck on a full socket buffer) and dropped;
    connections stay open until the block ends. With ``answer``, those bytes are sent
    once a request's headers arrived, then nothing more (a server stalling mid-body).
    """
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    lock = threading.Lock()

    def drain(connection: socket.socket) -> None:
        received = b""
        with suppress(OSError):
            while data := connection.recv(65536):
                if answer and b"\r\n\r\n" not in received:
                    received += data
                    if b"\r\n\r\n" in received:
                        connection.sendall(answer)

    def serve() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:  # the listener was closed: the block ended
                return
            with lock:
                accepted.append(connection)
            threading.Thread(target=drain, args=(connection,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        # shutdown() wakes the blocked accept() (close() alone does not on Linux).
        with suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)
        listener.close()
        with lock:
            for connection in accepted:
                connection.close()
        thread.join(timeout=5)
