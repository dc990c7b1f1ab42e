"""A killed writer or a crowd of concurrent writers never leaves a partial object."""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import random
import selectors
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import pytest
import urllib3

from django_objectstore.server.backends.filesystem import FilesystemBackend
from django_objectstore.server.backends.records import ObjectLocation, ObjectMetadata
from django_objectstore.server.messages import BytesBody

REPO = Path(__file__).resolve().parents[2]
MIB = 1024 * 1024
SIGNAL_AFTER = 8 * MIB
DEADLINE = 60.0
LOC = ObjectLocation("attachments", (("org", "1"),), "big/upload")

# The child stores an endless body: after SIGNAL_AFTER bytes it prints "ready" and
# keeps writing for a while, then blocks on stdin, so the kill always lands mid-upload.
WRITER = """
import sys
from django_objectstore.server.backends.records import ObjectLocation, ObjectMetadata
from django_objectstore.server.backends.filesystem import FilesystemBackend

root, signal_after = sys.argv[1], int(sys.argv[2])

class EndlessBody:
    sent = 0
    signalled = False
    def read(self, n=-1):
        n = 65536 if n < 0 else n
        if self.sent >= signal_after and not self.signalled:
            self.signalled = True
            print("ready", flush=True)
        if self.sent >= 4 * signal_after:
            sys.stdin.read()
        self.sent += n
        return b"p" * n

location = ObjectLocation("attachments", (("org", "1"),), "big/upload")
FilesystemBackend(root).put(location, ObjectMetadata(content_type="new/partial"), EndlessBody())
"""


def child_env() -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
    }


def wait_for_line(process: subprocess.Popen[bytes], expected: bytes) -> None:
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(DEADLINE):
            raise AssertionError(f"child printed nothing within {DEADLINE} s")
    assert process.stdout.readline().strip() == expected


def drafts(root: Path) -> list[Path]:
    return [path for path in root.rglob("*.draft") if path.is_file()]


def kill_writer_mid_upload(root: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(root), str(SIGNAL_AFTER)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=child_env(),
    )
    try:
        wait_for_line(process, b"ready")
        os.kill(process.pid, signal.SIGKILL)
        assert process.wait(DEADLINE) == -signal.SIGKILL
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()


def payload_of(backend: FilesystemBackend, location: ObjectLocation) -> bytes | None:
    stored = backend.get(location)
    if stored is None:
        return None
    return b"".join(stored.iter_bytes())


def test_killed_upload_of_new_key_leaves_no_object(tmp_path: Path) -> None:
    kill_writer_mid_upload(tmp_path)
    (draft,) = drafts(tmp_path)
    assert draft.stat().st_size >= SIGNAL_AFTER // 2  # the kill hit a large upload in flight
    backend = FilesystemBackend(tmp_path)
    assert backend.get(LOC) is None
    later = datetime.now(UTC) + timedelta(hours=2)
    assert backend.sweep(later) == 0
    assert drafts(tmp_path) == []


def test_killed_overwrite_keeps_previous_object(tmp_path: Path) -> None:
    FilesystemBackend(tmp_path).put(
        LOC, ObjectMetadata(content_type="old/complete"), BytesBody(b"previous")
    )
    kill_writer_mid_upload(tmp_path)
    assert len(drafts(tmp_path)) == 1
    backend = FilesystemBackend(tmp_path)
    stored = backend.get(LOC)
    assert stored is not None
    assert stored.metadata.content_type == "old/complete"
    assert b"".join(stored.iter_bytes()) == b"previous"
    backend.sweep(datetime.now(UTC) + timedelta(hours=2))
    assert drafts(tmp_path) == []
    assert payload_of(backend, LOC) == b"previous"


def versioned_payload(rng: random.Random, writer: int, version: int) -> bytes:
    """Random length and content, ending in the SHA-256 of everything before it."""
    body = rng.randbytes(rng.randrange(0, 200_000)) + b"%d:%d" % (writer, version)
    return body + hashlib.sha256(body).digest()


def test_concurrent_writers_readers_and_updaters_only_see_whole_versions(tmp_path: Path) -> None:
    backend = FilesystemBackend(tmp_path)
    keys = [ObjectLocation("u", (("org", "1"),), f"key-{n}") for n in range(3)]
    errors: list[BaseException] = []
    reads = [0]

    def guarded(work: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                work()
            except BaseException as error:
                errors.append(error)

        return run

    def writer(number: int) -> None:
        rng = random.Random(number)
        for version in range(12):
            payload = versioned_payload(rng, number, version)
            digest = hashlib.sha256(payload).hexdigest()
            meta = ObjectMetadata(custom={"digest": digest})
            backend.put(rng.choice(keys), meta, BytesBody(payload))

    writers_done = threading.Event()

    def reader() -> None:
        finished = False
        while not finished:
            finished = writers_done.is_set()  # one full pass after the writers stop
            for key in keys:
                stored = backend.get(key)
                if stored is None:
                    continue
                payload = b"".join(stored.iter_bytes())
                assert hashlib.sha256(payload[:-32]).digest() == payload[-32:]
                assert stored.metadata.custom["digest"] == hashlib.sha256(payload).hexdigest()
                reads[0] += 1

    def updater() -> None:
        count = 0
        while not writers_done.is_set():
            count += 1
            for key in keys:

                def bump(metadata: ObjectMetadata, count: int = count) -> ObjectMetadata:
                    metadata.custom["bumps"] = str(count)
                    return metadata

                backend.update_metadata(key, bump)

    for number, key in enumerate(keys):
        payload = versioned_payload(random.Random(-1), -1, number)
        digest = hashlib.sha256(payload).hexdigest()
        backend.put(key, ObjectMetadata(custom={"digest": digest}), BytesBody(payload))
    writers = [threading.Thread(target=guarded(partial(writer, n))) for n in range(4)]
    others = [threading.Thread(target=guarded(reader)) for _ in range(3)]
    others += [threading.Thread(target=guarded(updater))]
    for thread in writers + others:
        thread.start()
    for thread in writers:
        thread.join()
    writers_done.set()
    for thread in others:
        thread.join()
    assert errors == []
    assert reads[0] > 0
    assert drafts(tmp_path) == []


# -- over HTTP, killing the real server process ------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    pause = threading.Event()
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        pause.wait(0.05)


def server_healthy(http: urllib3.PoolManager, base: str) -> bool:
    try:
        return http.request("GET", base + "/health", retries=False, timeout=2).status == 200
    except urllib3.exceptions.HTTPError:
        return False


@pytest.mark.skipif(
    importlib.util.find_spec("django_objectstore.server.__main__") is None,
    reason="python -m django_objectstore.server run is not available",
)
@pytest.mark.parametrize("overwrite", [False, True], ids=["new-key", "overwrite"])
def test_killing_the_http_server_mid_upload_never_leaves_a_partial_object(
    tmp_path: Path, overwrite: bool
) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    url = base + "/v1/objects/attachments/org=1/big/upload"
    env = {
        **child_env(),
        "OS__HTTP_ADDR": f"127.0.0.1:{port}",
        "OS__STORAGE__TYPE": "filesystem",
        "OS__STORAGE__PATH": str(tmp_path),
        "OS__AUTH__ENFORCE": "false",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "django_objectstore.server", "run"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    http = urllib3.PoolManager()
    release = threading.Event()
    try:
        wait_until(lambda: server.poll() is not None or server_healthy(http, base), "the server")
        assert server.poll() is None, "the server exited during start-up"
        if overwrite:
            assert http.request("PUT", url, body=b"previous", retries=False).status == 200

        def endless() -> Iterator[bytes]:
            chunk = b"h" * (64 * 1024)
            sent = 0
            while sent < 4 * SIGNAL_AFTER:
                yield chunk
                sent += len(chunk)
            release.wait(DEADLINE)
            yield chunk

        def upload() -> None:
            with contextlib.suppress(Exception):  # the server dies under it
                http.request("PUT", url, body=endless(), chunked=True, retries=False)

        uploader = threading.Thread(target=upload)
        uploader.start()
        wait_until(
            lambda: any(path.stat().st_size >= MIB for path in drafts(tmp_path)),
            "the server to stream the upload into a draft",
        )
        os.kill(server.pid, signal.SIGKILL)
        server.wait(DEADLINE)
    finally:
        release.set()
        if server.poll() is None:
            server.kill()
            server.wait()
    uploader.join(DEADLINE)
    http.clear()
    backend = FilesystemBackend(tmp_path)
    expected = b"previous" if overwrite else None
    assert (
        payload_of(backend, ObjectLocation("attachments", (("org", "1"),), "big/upload"))
        == expected
    )
