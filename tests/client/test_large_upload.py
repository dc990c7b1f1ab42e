from __future__ import annotations

import contextlib
import hashlib
import io
import random
import socket
import threading
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from django_objectstore.client import Client, ObjectstoreConnectionError, Session, Usecase
from django_objectstore.client.large_upload import put_large

KiB = 1024
MiB = 1024 * KiB


class DroppingProxy:
    """A TCP proxy that cuts every open connection once, after ``drop_after`` bytes upstream.

    It also remembers whether a multipart abort (``DELETE /v1/objects:multipart/``)
    went through, and how many connections it accepted.
    """

    def __init__(self, target: tuple[str, int], drop_after: int | None) -> None:
        self.target = target
        self.drop_after = drop_after
        self.upstream_bytes = 0
        self.dropped = False
        self.saw_abort = False
        self.connections = 0
        self._lock = threading.Lock()
        self._open: list[socket.socket] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._threads: list[threading.Thread] = []
        self._start(self._accept)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _start(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        thread.start()
        self._threads.append(thread)

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            with self._lock:
                self.connections += 1
                self._open += [client, upstream]
            self._start(self._pump, client, upstream, True)
            self._start(self._pump, upstream, client, False)

    def _pump(self, source: socket.socket, sink: socket.socket, counting: bool) -> None:
        try:
            while data := source.recv(64 * KiB):
                if counting and self._count(data):
                    return  # the connection was just cut in the middle of a request
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()

    def _count(self, data: bytes) -> bool:
        """Count upstream bytes; ``True`` when this chunk triggered the (only) cut."""
        with self._lock:
            if b"DELETE /v1/objects:multipart/" in data:
                self.saw_abort = True
            self.upstream_bytes += len(data)
            limit = self.drop_after
            if limit is None or self.dropped or self.upstream_bytes < limit:
                return False
            self.dropped = True
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
            return True

    def close(self) -> None:
        self._listener.close()
        with self._lock:
            for sock in self._open:
                sock.close()


@pytest.fixture
def proxy_factory(objectstore_server: object) -> Iterator[object]:
    proxies: list[DroppingProxy] = []
    host, port = str(objectstore_server).removeprefix("http://").rsplit(":", 1)

    def make(drop_after: int | None) -> DroppingProxy:
        proxy = DroppingProxy((host, int(port)), drop_after)
        proxies.append(proxy)
        return proxy

    yield make
    for proxy in proxies:
        proxy.close()


def _write_data(path: Path, size: int, seed: int = 7) -> str:
    """Semi-compressible data written in blocks; returns its SHA-256."""
    rng = random.Random(seed)
    digest = hashlib.sha256()
    with path.open("wb") as file:
        written = 0
        while written < size:
            block = (rng.randbytes(48 * KiB) + bytes(16 * KiB))[: min(64 * KiB, size - written)]
            file.write(block)
            digest.update(block)
            written += len(block)
    return digest.hexdigest()


def _digest(session: Session, key: str) -> str:
    result = session.get(key)
    assert result is not None
    digest = hashlib.sha256()
    with result:
        for chunk in result.payload:
            digest.update(chunk)
    return digest.hexdigest()


def _session(url: str, usecase: str, scope: dict[str, str], **usecase_kwargs: object) -> Session:
    return Client(url).session(Usecase(usecase, **usecase_kwargs), **scope)  # type: ignore[arg-type]


@pytest.mark.parametrize("compression", ["zstd", "none"])
def test_interrupted_large_upload_completes_byte_exact(
    proxy_factory: object,
    tmp_path: Path,
    objectstore_usecase: str,
    objectstore_scope: dict[str, str],
    compression: str,
) -> None:
    path = tmp_path / "big.bin"
    expected = _write_data(path, 3 * MiB + 123)
    proxy = proxy_factory(drop_after=1 * MiB + 4321)  # type: ignore[operator]
    session = _session(proxy.url, objectstore_usecase, objectstore_scope)
    with path.open("rb") as file:
        key = put_large(
            session, file, key="big", part_size=256 * KiB, compression=compression, concurrency=3
        )
    assert key == "big"
    assert proxy.dropped
    assert not proxy.saw_abort
    assert _digest(session, "big") == expected
    metadata = session.head("big")
    assert metadata is not None
    assert metadata.compression == (None if compression == "none" else "zstd")


def test_upload_that_keeps_failing_is_aborted(
    proxy_factory: object,
    tmp_path: Path,
    objectstore_usecase: str,
    objectstore_scope: dict[str, str],
) -> None:
    path = tmp_path / "big.bin"
    _write_data(path, 1 * MiB)
    proxy = proxy_factory(drop_after=300 * KiB)  # type: ignore[operator]
    session = _session(proxy.url, objectstore_usecase, objectstore_scope)
    with path.open("rb") as file, pytest.raises(ObjectstoreConnectionError):
        put_large(session, file, key="never", part_size=128 * KiB, part_retries=0)
    assert proxy.saw_abort
    assert session.head("never") is None


def test_session_put_uses_parts_above_the_threshold(
    objectstore_server: object,
    tmp_path: Path,
    objectstore_usecase: str,
    objectstore_scope: dict[str, str],
) -> None:
    path = tmp_path / "file.bin"
    expected = _write_data(path, 600 * KiB)
    session = _session(
        str(objectstore_server),
        objectstore_usecase,
        objectstore_scope,
        multipart_threshold=512 * KiB,
    )
    with path.open("rb") as file:
        file.seek(100)
        key = session.put(file, filename="file.bin")
    with path.open("rb") as file:
        file.seek(100)
        assert _digest(session, key) == hashlib.sha256(file.read()).hexdigest()
    assert expected  # the whole file was written
    metadata = session.head(key)
    assert metadata is not None and metadata.filename == "file.bin"


def test_empty_file_becomes_an_empty_object(
    objectstore_server: object, objectstore_usecase: str, objectstore_scope: dict[str, str]
) -> None:
    session = _session(str(objectstore_server), objectstore_usecase, objectstore_scope)
    key = put_large(session, io.BytesIO(b""), key="empty")
    assert _digest(session, key) == hashlib.sha256(b"").hexdigest()


def test_unseekable_file_is_refused(
    objectstore_server: object, objectstore_usecase: str, objectstore_scope: dict[str, str]
) -> None:
    session = _session(str(objectstore_server), objectstore_usecase, objectstore_scope)

    class Unseekable(io.BytesIO):
        def seekable(self) -> bool:
            return False

    with pytest.raises(ValueError, match="seekable"):
        put_large(session, Unseekable(b"abc"))


def test_memory_is_bounded_by_parts_in_flight(
    objectstore_server: object,
    tmp_path: Path,
    objectstore_usecase: str,
    objectstore_scope: dict[str, str],
) -> None:
    path = tmp_path / "big.bin"
    expected = _write_data(path, 12 * MiB)
    session = _session(str(objectstore_server), objectstore_usecase, objectstore_scope)
    tracemalloc.start()
    try:
        with path.open("rb") as file:
            put_large(session, file, key="bounded", part_size=512 * KiB, concurrency=2)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Two parts in flight, each raw plus compressed, plus the server's buffers.
    assert peak < 6 * MiB, f"peak {peak / MiB:.1f} MiB"
    assert _digest(session, "bounded") == expected
