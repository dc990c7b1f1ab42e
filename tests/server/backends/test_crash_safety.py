"""A killed writer or a crowd of concurrent writers never leaves a partial object.

Over HTTP the server process is killed mid-upload, mid-multipart-completion and
mid-renewal, then restarted; two server processes on one root serve concurrent writers
and readers, none of which ever sees a torn object.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import random
import selectors
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest
import urllib3

from django_objectstore.server.backends.records import ObjectLocation, ObjectMetadata
from django_objectstore.server.backends.tiered import TieredBackend
from django_objectstore.server.messages import BytesBody
from tests.server.processes import (
    SERVER_COMMAND,
    free_port,
    server_env,
    start_quiet_server,
    wait_healthy,
)

MIB = 1024 * 1024
SIGNAL_AFTER = 8 * MIB
DEADLINE = 60.0
LOC = ObjectLocation("attachments", (("org", "1"),), "big/upload")

# The child stores an endless body: after SIGNAL_AFTER bytes it prints "ready" and
# keeps writing for a while, then blocks on stdin, so the kill always lands mid-upload.
WRITER = """
import sys
from django_objectstore.server.backends.records import ObjectLocation, ObjectMetadata
from django_objectstore.server.backends.tiered import TieredBackend

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
TieredBackend(root).put(location, ObjectMetadata(content_type="new/partial"), EndlessBody())
"""


def wait_for_line(process: subprocess.Popen[bytes], expected: bytes) -> None:
    assert process.stdout is not None
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        if not selector.select(DEADLINE):
            raise AssertionError(f"child printed nothing within {DEADLINE} s")
    assert process.stdout.readline().strip() == expected


def drafts(root: Path) -> list[Path]:
    """Files being written (or left by a killed writer) under ``revisions/.tmp``."""
    temp = root / "revisions" / ".tmp"
    return sorted(path for path in temp.iterdir()) if temp.is_dir() else []


def age_drafts(root: Path) -> None:
    then = time.time() - 7200
    for path in drafts(root):
        os.utime(path, (then, then))


def kill_writer_mid_upload(root: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(root), str(SIGNAL_AFTER)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=server_env(),
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


def payload_of(backend: TieredBackend, location: ObjectLocation) -> bytes | None:
    stored = backend.get(location)
    if stored is None:
        return None
    return b"".join(stored.iter_bytes())


def test_killed_upload_of_new_key_leaves_no_object(tmp_path: Path) -> None:
    kill_writer_mid_upload(tmp_path)
    (draft,) = drafts(tmp_path)
    assert draft.stat().st_size >= SIGNAL_AFTER // 2  # the kill hit a large upload in flight
    backend = TieredBackend(tmp_path)
    assert backend.get(LOC) is None
    assert backend.sweep(datetime.now(UTC)) == 0
    assert len(drafts(tmp_path)) == 1  # young: it could belong to a live writer
    age_drafts(tmp_path)
    assert backend.sweep(datetime.now(UTC)) == 0
    assert drafts(tmp_path) == []


def test_killed_overwrite_keeps_previous_object(tmp_path: Path) -> None:
    TieredBackend(tmp_path).put(
        LOC, ObjectMetadata(content_type="old/complete"), BytesBody(b"previous")
    )
    kill_writer_mid_upload(tmp_path)
    assert len(drafts(tmp_path)) == 1
    backend = TieredBackend(tmp_path)
    stored = backend.get(LOC)
    assert stored is not None
    assert stored.metadata.content_type == "old/complete"
    assert b"".join(stored.iter_bytes()) == b"previous"
    age_drafts(tmp_path)
    backend.sweep(datetime.now(UTC))
    assert drafts(tmp_path) == []
    assert payload_of(backend, LOC) == b"previous"


def versioned_payload(rng: random.Random, writer: int, version: int) -> bytes:
    """Random length and content, ending in the SHA-256 of everything before it."""
    body = rng.randbytes(rng.randrange(0, 200_000)) + b"%d:%d" % (writer, version)
    return body + hashlib.sha256(body).digest()


def test_concurrent_writers_readers_and_updaters_only_see_whole_versions(tmp_path: Path) -> None:
    backend = TieredBackend(tmp_path)
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
    env = server_env(
        OS__HTTP_ADDR=f"127.0.0.1:{port}",
        OS__STORAGE__TYPE="filesystem",
        OS__STORAGE__PATH=str(tmp_path),
        OS__AUTH__ENFORCE="false",
    )
    server = start_quiet_server(env)
    http = urllib3.PoolManager()
    release = threading.Event()
    try:
        wait_healthy(base, server, DEADLINE)
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
    backend = TieredBackend(tmp_path)
    expected = b"previous" if overwrite else None
    assert (
        payload_of(backend, ObjectLocation("attachments", (("org", "1"),), "big/upload"))
        == expected
    )


# -- killed mid-multipart-completion and mid-renewal; two processes on one root ------------

# A server whose file writes or renewals stall (printing what they stall in) once a
# trigger file exists, so the test kills it at a known point.
STALLING_SERVER = """
import os, sys, threading
from datetime import UTC, datetime, timedelta
from django_objectstore.server.app import create_app
from django_objectstore.server.backends.records import DeadlineRenewal
from django_objectstore.server.backends.tiered import FileLayer, TieredBackend
from django_objectstore.server.config import AuthConfig, ServerConfig
from django_objectstore.server.hosting import serve

root, port, trigger = sys.argv[1], int(sys.argv[2]), sys.argv[3]
forever = threading.Event()

def stall(what):
    print(what, flush=True)
    forever.wait()

class StallingFiles(FileLayer):
    def write(self, fd, data):
        if os.path.exists(trigger + ".write"):
            super().write(fd, data[:4096])
            stall("writing")
        return super().write(fd, data)

class StallingBackend(TieredBackend):
    def update_metadata(self, location, update):
        if isinstance(update, DeadlineRenewal) and os.path.exists(trigger + ".renew"):
            with self.db.write(durable=False) as connection:
                connection.execute("UPDATE objects SET expires = expires + 86400000000")
                stall("renewing")
        return super().update_metadata(location, update)

class Clock:
    # Half a day later once renewals should stall, so a read of a 1-day TTI object renews.
    def now(self):
        later = timedelta(hours=12 if os.path.exists(trigger + ".renew") else 0)
        return datetime.now(UTC) + later

app = create_app(
    ServerConfig(auth=AuthConfig(enforce=False)),
    clock=Clock(),
    backend=StallingBackend(root, files=StallingFiles()),
)
serve(app, "127.0.0.1", port, ready_callback=lambda url: print("ready", flush=True))
"""
SCOPE = "/attachments/org=1"
JSON = {"content-type": "application/json"}


class Server:
    """A server process on ``root``: the stalling one above, or ``python -m ... run``."""

    def __init__(self, root: Path, *, stalling: bool = False) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.trigger = root.parent / "trigger"
        env = server_env(
            OS__HTTP_ADDR=f"127.0.0.1:{self.port}",
            OS__STORAGE__TYPE="filesystem",
            OS__STORAGE__PATH=str(root),
            OS__AUTH__ENFORCE="false",
        )
        if stalling:
            command = [sys.executable, "-c", STALLING_SERVER, str(root), str(self.port)]
            command.append(str(self.trigger))
        else:
            command = list(SERVER_COMMAND)
        self.process = subprocess.Popen(
            command, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, bufsize=0
        )
        self.http = urllib3.PoolManager(maxsize=8)
        wait_until(
            lambda: self.process.poll() is not None or server_healthy(self.http, self.base),
            "the server",
        )
        assert self.process.poll() is None, "the server exited during start-up"

    def request(self, method: str, path: str, **kwargs: object) -> urllib3.BaseHTTPResponse:
        return self.http.request(method, self.base + path, retries=False, **kwargs)  # type: ignore[arg-type]

    def kill_when(self, line: bytes) -> None:
        assert self.process.stdout is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self.process.stdout, selectors.EVENT_READ)
            while True:
                if not selector.select(DEADLINE):
                    raise AssertionError(f"the server never printed {line!r}")
                if self.process.stdout.readline().strip() == line:
                    break
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(DEADLINE)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(DEADLINE)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.http.clear()


@contextlib.contextmanager
def running(root: Path, *, stalling: bool = False) -> Iterator[Server]:
    server = Server(root, stalling=stalling)
    try:
        yield server
    finally:
        server.stop()


def upload_parts(server: Server, key: str, parts: list[bytes]) -> tuple[str, bytes]:
    """Initiate an upload and stage ``parts``; the upload id and the completion body."""
    reply = server.request("PUT", f"/v1/objects:multipart{SCOPE}/{key}")
    assert reply.status == 200, reply.data
    upload_id = reply.json()["upload_id"]
    listed = []
    for number, part in enumerate(parts, start=1):
        reply = server.request(
            "PUT",
            f"/v1/objects:multipart:parts{SCOPE}/{key}?upload_id={upload_id}&part_number={number}",
            body=part,
            headers={"content-length": str(len(part))},
        )
        assert reply.status == 200, reply.data
        listed.append({"part_number": number, "etag": reply.json()["etag"]})
    return upload_id, json.dumps({"parts": listed}).encode()


def test_killing_the_server_mid_multipart_completion_keeps_the_old_object_and_the_parts(
    tmp_path: Path,
) -> None:
    root = tmp_path / "store"
    parts = [b"a" * (3 * MIB), b"b" * (3 * MIB)]
    with running(root, stalling=True) as server:
        assert server.request("PUT", f"/v1/objects{SCOPE}/assembled", body=b"previous").status
        upload_id, completion = upload_parts(server, "assembled", parts)
        server.trigger.with_suffix(".write").touch()
        complete = f"/v1/objects:multipart:complete{SCOPE}/assembled?upload_id={upload_id}"

        def finish() -> None:
            with contextlib.suppress(Exception):  # the server dies under it
                server.request("POST", complete, body=completion, headers=JSON, timeout=DEADLINE)

        finisher = threading.Thread(target=finish)
        finisher.start()
        server.kill_when(b"writing")
        finisher.join(DEADLINE)
    server.trigger.with_suffix(".write").unlink()
    backend = TieredBackend(root)
    location = ObjectLocation("attachments", (("org", "1"),), "assembled")
    assert payload_of(backend, location) == b"previous"
    assert len(drafts(root)) == 1  # the completion's file, cut short
    with running(root) as restarted:
        reply = restarted.request("POST", complete, body=completion, headers=JSON)
        assert json.loads(reply.data) == {"key": "assembled"}
        assert restarted.request("GET", f"/v1/objects{SCOPE}/assembled").data == b"".join(parts)
    age_drafts(root)
    backend.sweep(datetime.now(UTC))
    assert drafts(root) == []
    assert payload_of(backend, location) == b"".join(parts)


def test_killing_the_server_mid_renewal_leaves_the_object_and_its_old_deadline(
    tmp_path: Path,
) -> None:
    root = tmp_path / "store"
    url = f"/v1/objects{SCOPE}/idle"
    with running(root, stalling=True) as server:
        headers = {"x-sn-expiration": "tti:1d"}
        assert server.request("PUT", url, body=b"kept", headers=headers).status == 200
        location = ObjectLocation("attachments", (("org", "1"),), "idle")
        stored = TieredBackend(root).get(location)
        assert stored is not None
        deadline = stored.metadata.time_expires
        stored.close()
        server.trigger.with_suffix(".renew").touch()
        stored = TieredBackend(root).get(location)  # a reader in another process
        assert stored is not None
        stored.close()

        def read() -> None:
            with contextlib.suppress(Exception):
                server.request("GET", url, timeout=DEADLINE)

        reader = threading.Thread(target=read)
        reader.start()
        server.kill_when(b"renewing")
        reader.join(DEADLINE)
    backend = TieredBackend(root)
    stored = backend.get(location)
    assert stored is not None
    assert stored.metadata.time_expires == deadline
    assert b"".join(stored.iter_bytes()) == b"kept"
    backend.update_metadata(location, lambda metadata: metadata)  # the write lock is free


def test_two_server_processes_on_one_root_never_serve_a_torn_object(tmp_path: Path) -> None:
    root = tmp_path / "store"
    keys = [f"shared-{n}" for n in range(3)]
    errors: list[BaseException] = []
    reads = [0]
    with running(root) as first, running(root) as second:
        servers = [first, second]
        done = threading.Event()

        def writer(number: int) -> None:
            rng = random.Random(number)
            for version in range(8):
                size = rng.choice([10, 1000, MIB - 40, MIB + 1, 2 * MIB])
                body = rng.randbytes(size) + b"%d:%d" % (number, version)
                body += hashlib.sha256(body).digest()
                headers = {"x-snme-digest": hashlib.sha256(body).hexdigest()}
                server = servers[(number + version) % 2]
                reply = server.request(
                    "PUT", f"/v1/objects{SCOPE}/{rng.choice(keys)}", body=body, headers=headers
                )
                assert reply.status == 200

        def reader(number: int) -> None:
            finished = False
            while not finished:
                finished = done.is_set()
                for key in keys:
                    reply = servers[number % 2].request("GET", f"/v1/objects{SCOPE}/{key}")
                    if reply.status == 404:
                        continue
                    body = reply.data
                    assert hashlib.sha256(body[:-32]).digest() == body[-32:]
                    assert reply.headers["x-snme-digest"] == hashlib.sha256(body).hexdigest()
                    reads[0] += 1

        def guarded(work: Callable[[int], None], number: int) -> threading.Thread:
            def run() -> None:
                try:
                    work(number)
                except BaseException as error:
                    errors.append(error)

            return threading.Thread(target=run)

        writers = [guarded(writer, n) for n in range(3)]
        readers = [guarded(reader, n) for n in range(3)]
        for thread in writers + readers:
            thread.start()
        for thread in writers:
            thread.join()
        done.set()
        for thread in readers:
            thread.join()
    assert errors == []
    assert reads[0] > 0
    assert drafts(root) == []
