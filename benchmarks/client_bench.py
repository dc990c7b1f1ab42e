"""Client throughput and memory: this client vs the official client 0.2.10 vs raw urllib3.

One server (``python -m django_objectstore.server run``, filesystem storage in a
temporary directory, auth off) runs in its own process; each client runs in its own
worker process so its peak RSS is its own. Measured per client:

- small objects: 1 KiB PUT then GET of the same key, for a few seconds, with 1 thread
  and with 8 threads sharing one client (compression "none", and "zstd" for the two
  objectstore clients);
- large objects: one upload and one download of ``--large-mib`` MiB (default 256),
  generated and checked on the fly (compression "none", and "zstd");
- the worker's peak RSS (``ru_maxrss``) in each phase.

The server keeps objects in memory by default, so the comparison measures the clients
and not fsync latency (``--storage filesystem`` to include the disk).

``python -m benchmarks.client_bench [--seconds 3] [--large-mib 256] [--storage memory]``
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any, BinaryIO, cast

import urllib3

from benchmarks.support import start_server

MIB = 1024 * 1024
SMALL = os.urandom(1024)
BLOCK = os.urandom(MIB)
KINDS = ("ours", "official", "urllib3")
PutGet = Callable[[str, bytes], bytes]


class Source(io.RawIOBase):
    """``size`` bytes generated on the fly (not seekable, like a socket or pipe)."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), self.left, len(BLOCK))
        buffer[:n] = BLOCK[:n]
        self.left -= n
        return n


def _ours(
    url: str, compression: str
) -> tuple[PutGet, Callable[[int], float], Callable[[int], float]]:
    from django_objectstore.client import Client, Compression, Usecase

    usecase = Usecase("bench", compression=cast(Compression, compression))
    session = Client(url).session(usecase, org=1)

    def put_get(key: str, data: bytes) -> bytes:
        session.put(data, key=key)
        result = session.get(key)
        assert result is not None
        with result:
            return result.payload.read()

    def upload(size: int) -> float:
        return _timed(lambda: session.put(cast(BinaryIO, Source(size)), key="large"))

    def download(size: int) -> float:
        def run() -> None:
            result = session.get("large")
            assert result is not None
            with result:
                _drain(result.payload.read, size)

        return _timed(run)

    return put_get, upload, download


def _official(
    url: str, compression: str
) -> tuple[PutGet, Callable[[int], float], Callable[[int], float]]:
    import objectstore_client as official

    session = official.Client(url).session(
        official.Usecase("bench", compression=cast(Any, compression)), org=1
    )

    def put_get(key: str, data: bytes) -> bytes:
        session.put(data, key=key)
        result = session.get(key)
        assert result is not None
        data = result.payload.read()
        result.payload.close()
        return data

    def upload(size: int) -> float:
        return _timed(lambda: session.put(cast(BinaryIO, Source(size)), key="large"))

    def download(size: int) -> float:
        def run() -> None:
            result = session.get("large")
            assert result is not None
            _drain(result.payload.read, size)
            result.payload.close()

        return _timed(run)

    return put_get, upload, download


def _raw(
    url: str, compression: str
) -> tuple[PutGet, Callable[[int], float], Callable[[int], float]]:
    pool = urllib3.connection_from_url(url, maxsize=10)
    prefix = "/v1/objects/bench/org=1/"

    def put_get(key: str, data: bytes) -> bytes:
        response = pool.urlopen("PUT", prefix + key, body=data)
        assert response.status == 200, response.status
        response = pool.urlopen("GET", prefix + key)
        return response.data

    def upload(size: int) -> float:
        def chunks() -> Any:
            left = size
            while left:
                n = min(left, MIB)
                left -= n
                yield BLOCK[:n]

        return _timed(lambda: pool.urlopen("PUT", prefix + "large", body=chunks()))

    def download(size: int) -> float:
        def run() -> None:
            response = pool.urlopen("GET", prefix + "large", preload_content=False)
            _drain(response.read, size)
            response.release_conn()

        return _timed(run)

    return put_get, upload, download


def _timed(run: Callable[[], object]) -> float:
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def _drain(read: Callable[[int], bytes], size: int) -> None:
    total = 0
    while chunk := read(MIB):
        total += len(chunk)
    assert total == size, (total, size)


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _small_ops(put_get: PutGet, threads: int, seconds: float) -> tuple[float, float]:
    """(put+get pairs per second, client CPU microseconds per pair)."""
    deadline = time.perf_counter() + seconds
    counts = [0] * threads

    def work(index: int) -> None:
        key = f"small-{index}"
        while time.perf_counter() < deadline:
            assert put_get(key, SMALL) == SMALL
            counts[index] += 1

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    start, cpu = time.perf_counter(), _cpu()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    total = sum(counts)
    return total / (time.perf_counter() - start), (_cpu() - cpu) / total * 1e6


def _guarded(measure: Callable[[], tuple[float, float]]) -> tuple[float, float]:
    """A failed measurement (e.g. a timeout) is reported as NaN instead of ending the run."""
    try:
        return measure()
    except Exception as error:
        print(f"measurement failed: {error!r}", file=sys.stderr)
        return math.nan, math.nan


def worker(kind: str, phase: str, url: str, seconds: float, large_mib: int) -> dict[str, float]:
    factories = {"ours": _ours, "official": _official, "urllib3": _raw}
    size = large_mib * MIB
    results: dict[str, float] = {}
    for compression in ("none", "zstd") if kind != "urllib3" else ("none",):
        put_get, upload, download = factories[kind](url, compression)
        if phase == "small":
            put_get("warmup", SMALL)
            for threads in (1, 8):
                rate, cpu = _guarded(lambda: _small_ops(put_get, threads, seconds))  # noqa: B023
                results[f"small ops/s {threads}T {compression}"] = rate
                results[f"small CPU us/op {threads}T {compression}"] = cpu
        else:
            for name, run in (("upload", upload), ("download", download)):
                cpu = _cpu()
                elapsed = _guarded(lambda: (run(size), 0.0))[0]  # noqa: B023
                results[f"{name} MB/s {compression}"] = size / MIB / elapsed
                results[f"{name} CPU s/GiB {compression}"] = (_cpu() - cpu) * 1024 / (size / MIB)
    results[f"peak RSS MiB {phase}"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--large-mib", type=int, default=256)
    parser.add_argument(
        "--storage",
        choices=("memory", "filesystem"),
        default="memory",
        help="server storage (memory: no fsync noise in the client comparison)",
    )
    parser.add_argument("--worker", choices=KINDS, help=argparse.SUPPRESS)
    parser.add_argument("--phase", choices=("small", "large"), help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        result = worker(args.worker, args.phase, args.url, args.seconds, args.large_mib)
        print(json.dumps(result))
        return 0
    with tempfile.TemporaryDirectory() as root:
        process, url = start_server(root, args.storage)
        try:
            table: dict[str, dict[str, float]] = {kind: {} for kind in KINDS}
            # Phase by phase, so every client meets the server in the same state.
            for phase in ("small", "large"):
                for kind in KINDS:
                    command = [sys.executable, "-m", "benchmarks.client_bench"]
                    command += ["--worker", kind, "--phase", phase, "--url", url]
                    command += ["--seconds", str(args.seconds), "--large-mib", str(args.large_mib)]
                    output = subprocess.run(
                        command, check=True, capture_output=True, text=True
                    ).stdout
                    table[kind].update(json.loads(output.strip().splitlines()[-1]))
        finally:
            process.terminate()
            process.wait(10)
    _print_table(table)
    return 0


def _print_table(table: dict[str, dict[str, float]]) -> None:
    rows = list(table["ours"])
    print(f"{'metric':28} {'ours':>10} {'official':>10} {'urllib3':>10} {'advantage':>14}")
    for row in rows:
        values = [table[kind].get(row) for kind in KINDS]
        cells = [f"{v:10.2f}" if v is not None else f"{'-':>10}" for v in values]
        ours, official = values[0], values[1]
        if ours and official and ("CPU" in row or "RSS" in row):
            ours, official = official, ours  # lower is better: show how many times less
        ratio = f"{ours / official:13.2f}x" if ours and official else f"{'-':>14}"
        print(f"{row:28} {' '.join(cells)} {ratio}")


if __name__ == "__main__":
    sys.exit(main())
