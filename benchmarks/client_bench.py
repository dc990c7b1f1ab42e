"""Our client against the official ``objectstore-client`` 0.2.10, interleaved.

Both clients run in their own long-lived worker process (so each one's peak RSS is its
own). Each round measures both clients for the same time, in reversed order on odd
rounds; tables give medians and per-round ratios, and each worker reports its own CPU
time per operation.

- small: 1 KiB of JSON lines, PUT then GET of the same key, operations = PUT+GET pairs
  per second; both clients with their defaults (zstd), with compression "none", and
  with 8 threads sharing one client (zstd), against ``benchmarks.responder`` (a minimal
  objectstore responder, so the ratio is the clients' own and not diluted by our
  Python server's time); with auth (a signing key) against our server, which verifies
  every token. References without a goal: the same against our server, and our client
  against a bare urllib3 pool sending the same two requests;
- large: a ``--large-mib`` MiB JSON-lines upload (a non-seekable stream, compressed on
  the fly) and download (decompressed on the fly), MB/s of decoded data, against
  ``benchmarks.sink_server`` (our server with the memory backend; uploads to ``sink*``
  keys are dropped, downloads of them stream one prepared zstd frame) and against zstd's
  one-core limit on the same data measured in the same rounds by a third process;
- the peak RSS of each client's worker.

``python -m benchmarks.client_bench [--quick]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

import zstandard

from benchmarks.support import (
    DATA_NOTE,
    MIB,
    JsonStream,
    Row,
    Settings,
    interleaved,
    json_block,
    json_lines,
    machine,
    print_table,
)

SMALL = json_lines(1024, seed=3)
KID = "bench"


# -- the worker side -------------------------------------------------------------------


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Worker:
    """One client kind in this process; answers one JSON command per stdin line."""

    def __init__(self, kind: str, url: str, pem: str | None) -> None:
        self.kind = kind
        self.url = url
        self.pem = pem
        self.sessions: dict[tuple[str, bool], Any] = {}
        self.block = json_block() if kind in ("ours", "official", "zstd") else b""

    def session(self, compression: str, auth: bool) -> Any:
        key = (compression, auth)
        if key not in self.sessions:
            if self.kind == "urllib3":
                import urllib3

                self.sessions[key] = urllib3.connection_from_url(self.url, maxsize=8)
                return self.sessions[key]
            if self.kind == "ours":
                from django_objectstore.client import Client, SecretKey, Usecase

                token = SecretKey(KID, self.pem) if auth and self.pem else None
                client = Client(self.url, token=token)
                usecase = Usecase("bench", compression=cast(Any, compression))
            else:
                import objectstore_client as official

                token = official.SecretKey(KID, self.pem) if auth and self.pem else None
                client = official.Client(self.url, token=token)
                usecase = official.Usecase("bench", compression=cast(Any, compression))
            self.sessions[key] = client.session(usecase, org=1)
        return self.sessions[key]

    def put_get(self, session: Any, key: str) -> None:
        if self.kind == "urllib3":
            self.raw_put_get(session, key)
            return
        session.put(SMALL, key=key)
        result = session.get(key)
        assert result is not None
        data = result.payload.read()
        result.payload.close()
        assert data == SMALL

    def raw_put_get(self, pool: Any, key: str) -> None:
        """The same two requests on a bare urllib3 pool: the floor of any urllib3 client."""
        path = f"/v1/objects/bench/org=1/{key}"
        headers = {"x-sn-compression": "none", "content-type": "application/octet-stream"}
        response = pool.urlopen("PUT", path, body=SMALL, headers=headers, retries=False)
        assert json.loads(response.data)["key"] == key
        response = pool.urlopen("GET", path, retries=False, preload_content=False)
        data = response.read()
        response.release_conn()
        assert data == SMALL

    def small(
        self, compression: str, auth: bool, threads: int, seconds: float
    ) -> tuple[float, float]:
        """PUT+GET pairs per second, and this process's CPU microseconds per pair."""
        session = self.session(compression, auth)
        cpu_before = _cpu()
        if threads == 1:
            done = 0
            started = time.perf_counter()
            while (elapsed := time.perf_counter() - started) < seconds or not done:
                self.put_get(session, "small-0")
                done += 1
            return done / elapsed, (_cpu() - cpu_before) / done * 1e6
        counts = [0] * threads
        deadline = time.perf_counter() + seconds

        def work(index: int) -> None:
            while time.perf_counter() < deadline:
                self.put_get(session, f"small-{index}")
                counts[index] += 1

        workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
        started = time.perf_counter()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        elapsed = time.perf_counter() - started
        pairs = max(sum(counts), 1)
        return sum(counts) / elapsed, (_cpu() - cpu_before) / pairs * 1e6

    def upload(self, size: int) -> float:
        stream = JsonStream(size, self.block)
        started = time.perf_counter()
        if self.kind == "zstd":  # the one-core limit: compress the same stream, no I/O
            compressor = zstandard.ZstdCompressor(level=3).compressobj()
            while chunk := stream.read(64 * 1024):
                compressor.compress(chunk)
            compressor.flush()
        else:
            self.session("zstd", False).put(stream, key="sink-upload")
        return size / MIB / (time.perf_counter() - started)

    def download(self, size: int) -> float:
        started = time.perf_counter()
        total = 0
        if self.kind == "zstd":  # the one-core limit: decode the frame the server sends
            frame = getattr(self, "frame", None)
            if frame is None:
                from benchmarks.sink_server import prepared_frame

                frame = self.frame = prepared_frame(size)
            started = time.perf_counter()
            reader = zstandard.ZstdDecompressor().stream_reader(frame)
            while chunk := reader.read(MIB):
                total += len(chunk)
        else:
            result = self.session("zstd", False).get("sink-download")
            assert result is not None
            while chunk := result.payload.read(MIB):
                total += len(chunk)
            result.payload.close()
        assert total == size, (total, size)
        return size / MIB / (time.perf_counter() - started)

    def run(self) -> None:
        for line in sys.stdin:
            command = json.loads(line)
            op = command.pop("op")
            if op == "rss":
                value = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            else:
                value = getattr(self, op)(**command)
            print(json.dumps(value), flush=True)


# -- the parent side -------------------------------------------------------------------


class WorkerProcess:
    def __init__(self, kind: str, url: str, pem_path: str | None) -> None:
        command = [sys.executable, "-m", "benchmarks.client_bench", "--worker", kind, "--url", url]
        if pem_path:
            command += ["--pem", pem_path]
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def ask(self, op: str, **arguments: object) -> Any:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps({"op": op, **arguments}) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit(f"benchmark worker failed during {op}")
        return json.loads(line)

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(30)


def _keys(directory: Path) -> tuple[Path, Path]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.generate()
    private = directory / "bench.pem"
    public = directory / "bench.public.pem"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return private, public


class SinkServer:
    def __init__(self, download_mib: int, public_key: Path | None) -> None:
        from benchmarks.server_bench import ServerProcess

        argv = [sys.executable, "-m", "benchmarks.sink_server"]
        argv += ["--download-mib", str(download_mib)]
        if public_key is not None:
            argv += ["--auth-key-file", str(public_key), "--kid", KID]
        self.server = ServerProcess(argv, dict(os.environ))
        self.url = self.server.url

    def stop(self) -> None:
        self.server.stop()


class Responder:
    """``benchmarks.responder``: a server that costs the clients' comparison little."""

    def __init__(self) -> None:
        from benchmarks.server_bench import ServerProcess

        argv = [sys.executable, "-m", "benchmarks.responder"]
        self.server = ServerProcess(argv, dict(os.environ))
        self.url = self.server.url

    def stop(self) -> None:
        self.server.stop()


def run(settings: Settings) -> None:
    size = settings.large_mib * MIB
    with tempfile.TemporaryDirectory() as tmp:
        private, public = _keys(Path(tmp))
        plain = SinkServer(settings.large_mib, None)
        signed = SinkServer(0, public)
        fast = Responder()
        pools: dict[str, dict[str, WorkerProcess]] = {"fast": {}, "plain": {}, "signed": {}}
        try:
            for kind in ("ours", "official"):
                pools["fast"][kind] = WorkerProcess(kind, fast.url, None)
                pools["plain"][kind] = WorkerProcess(kind, plain.url, None)
                pools["signed"][kind] = WorkerProcess(kind, signed.url, str(private))
            pools["fast"]["urllib3"] = WorkerProcess("urllib3", fast.url, None)
            limit = WorkerProcess("zstd", plain.url, None)
            _small_tables(settings, pools)
            workers = pools["plain"]
            _large_tables(settings, workers, limit, size)
            rss = {kind: worker.ask("rss") for kind, worker in workers.items()}
            print("\n## Client memory (peak RSS of each client's worker process)")
            print("unit: MiB")
            print(
                f"| client | peak RSS | goal | result |\n|---|---:|---|---|\n"
                f"| ours | {rss['ours']:.0f} | < 64 MiB | "
                f"{'met' if rss['ours'] < 64 else 'NOT met'} |\n"
                f"| official 0.2.10 | {rss['official']:.0f} | (reference) | |"
            )
            print(
                f"includes the worker's {settings.large_mib} MiB transfers, the "
                f"{8} MiB JSON block they are read from and the interpreter"
            )
            for pool in pools.values():
                for worker in pool.values():
                    worker.close()
            limit.close()
        finally:
            plain.stop()
            signed.stop()
            fast.stop()


SMALL_CASES = [
    # label, backend, compression, auth, threads, baseline, goal (None: a reference row)
    ("1 thread, zstd (both defaults)", "fast", "zstd", False, 1, "official", 1.5),
    ("1 thread, uncompressed", "fast", "none", False, 1, "official", 1.5),
    ("1 thread, zstd, auth", "signed", "zstd", True, 1, "official", 1.3),
    ("8 threads, zstd", "fast", "zstd", False, 8, "official", 1.3),
    ("1 thread, zstd (both defaults)", "plain", "zstd", False, 1, "official", None),
    ("1 thread, uncompressed", "plain", "none", False, 1, "official", None),
    ("1 thread, uncompressed", "fast", "none", False, 1, "urllib3", None),
]
BACKENDS = {
    "fast": "benchmarks.responder (asyncio + httptools, about 30-40 us of CPU per request)",
    "plain": "benchmarks.sink_server (our server, memory backend)",
    "signed": "benchmarks.sink_server (our server, memory backend) verifying every token",
}


def _small_tables(settings: Settings, pools: dict[str, dict[str, WorkerProcess]]) -> None:
    rows: list[tuple[Row, str]] = []
    references: list[tuple[Row, str]] = []
    cpu_notes = []
    for label, backend, compression, auth, threads, baseline, goal in SMALL_CASES:
        pool = pools[backend]
        arguments: dict[str, object] = dict(compression=compression, auth=auth, threads=threads)
        for worker in pool.values():  # warm up: connections, sessions, tokens
            worker.ask("small", seconds=0.05, **arguments)
        cpu: dict[str, list[float]] = {"ours": [], baseline: []}

        def measure(
            kind: str,
            cpu: dict[str, list[float]] = cpu,
            pool: dict[str, WorkerProcess] = pool,
            arguments: dict[str, object] = arguments,
        ) -> Callable[[], float]:
            def once() -> float:
                pairs_per_second, cpu_us = pool[kind].ask(
                    "small", seconds=settings.seconds, **arguments
                )
                cpu[kind].append(cpu_us)
                return float(pairs_per_second)

            return once

        results = interleaved(
            [(kind, measure(kind)) for kind in ("ours", baseline)], settings.rounds
        )
        name = f"{label}, {backend}"
        row = Row(name, results["ours"], results[baseline], goal or 0.0)
        (rows if goal is not None else references).append((row, baseline))
        cpu_notes.append(
            f"client CPU per pair, {name}: ours {statistics.median(cpu['ours']):.0f} us, "
            f"{baseline} {statistics.median(cpu[baseline]):.0f} us"
        )
    notes = [
        "backends: " + "; ".join(f"{key} = {value}" for key, value in BACKENDS.items()),
        "payload: 1 KiB of JSON lines; one key per thread, overwritten",
        f"{settings.rounds} interleaved rounds of {settings.seconds:g} s per client",
    ]
    unit = "PUT+GET pairs per second (one pair = PUT then GET of the same key)"
    title = "Client vs official 0.2.10: 1 KiB PUT+GET"
    print_table(title, unit, ("ours", "official 0.2.10"), [row for row, _ in rows], notes)
    print("\nreference, no goal: against our own server (its ~150-200 us of CPU per request is")
    print("shared by both clients and dilutes the ratio), and against a bare urllib3 pool sending")
    print("the same two requests with no client around them (the floor of a urllib3 client)")
    for row, baseline in references:
        rounds = ", ".join(f"{r:.2f}" for r in row.ratios)
        print(
            f"- {row.label}: ours {statistics.median(row.ours):.0f}, {baseline} "
            f"{statistics.median(row.baseline):.0f} pairs/s, {row.ratio:.2f}x (rounds {rounds})"
        )
    for note in cpu_notes:
        print(f"- {note}")


def _large_tables(
    settings: Settings, workers: dict[str, WorkerProcess], limit: WorkerProcess, size: int
) -> None:
    rows = []
    limits: dict[str, list[float]] = {}
    for op in ("upload", "download"):
        contenders = [
            ("ours", lambda op=op: workers["ours"].ask(op, size=size)),
            ("official", lambda op=op: workers["official"].ask(op, size=size)),
            ("limit", lambda op=op: limit.ask(op, size=size)),
        ]
        limit.ask(op, size=size)  # warm up (and prepare the frame)
        results = interleaved(contenders, settings.rounds)
        limits[op] = results["limit"]
        rows.append(Row(f"{op}, vs official", results["ours"], results["official"], 1.1))
        rows.append(Row(f"{op}, vs zstd one-core limit", results["ours"], results["limit"], 0.9))
    print_table(
        f"Client vs official 0.2.10 and vs zstd: {settings.large_mib} MiB zstd transfer",
        "MB/s of decoded data (MiB per second)",
        ("ours", "baseline"),
        rows,
        [
            "backend: benchmarks.sink_server (uploads read and dropped; downloads stream "
            "one prepared zstd frame)",
            f"payload: {settings.large_mib} MiB of JSON lines, a non-seekable stream",
            "baseline: the official client, or zstd level 3 compressing (decoding) the "
            "same data in one thread without I/O, measured in the same rounds",
            "zstd one-core limit, median MB/s: "
            + ", ".join(f"{op} {statistics.median(limits[op]):.0f}" for op in limits),
        ],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short rounds: proves it runs")
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--seconds", type=float)
    parser.add_argument("--large-mib", type=int)
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--pem", help=argparse.SUPPRESS)
    args, _ = parser.parse_known_args(argv)
    if args.worker:
        pem = Path(args.pem).read_text() if args.pem else None
        Worker(args.worker, args.url, pem).run()
        return 0
    settings = Settings.quick_mode() if args.quick else Settings()
    if args.rounds:
        settings.rounds = args.rounds
    if args.seconds:
        settings.seconds = args.seconds
    if args.large_mib:
        settings.large_mib = args.large_mib
    print(f"\n# client_bench on {machine()}")
    print(DATA_NOTE)
    run(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
