"""Server throughput and memory against a null ASGI app on the same uvicorn.

Each server runs in its own process; the client is raw urllib3 on one keep-alive
connection. Measured per server:

- small objects: 1 KiB PUT then GET of the same key, sequentially, in timed rounds;
- large objects: one upload and one download of ``--large-mib`` MiB (default 256),
  generated and checked on the fly (the client never holds the object either);
- the server process's peak RSS (``VmHWM``) after the small and after the large phase:
  for the filesystem backend it should not grow with the object size.

``python -m benchmarks.server_bench [--seconds 1.5] [--rounds 3] [--large-mib 256]``
"""

from __future__ import annotations

import argparse
import os
import re
import select
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import urllib3

MIB = 1024 * 1024
SMALL = b"s" * 1024
BLOCK = b"L" * MIB
START_DEADLINE = 20.0


@dataclass
class Result:
    name: str
    small_ops: float = 0.0
    put_ops: float = 0.0
    get_ops: float = 0.0
    upload_mbs: float = 0.0
    download_mbs: float = 0.0
    rss_small_mib: float = 0.0
    rss_large_mib: float = 0.0
    notes: list[str] = field(default_factory=list)


class ServerProcess:
    """A server started as ``argv`` that prints ``... listening on <url>`` when ready."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        assert self.proc.stdout is not None
        deadline = time.monotonic() + START_DEADLINE
        ready, _, _ = select.select([self.proc.stdout], [], [], START_DEADLINE)
        line = self.proc.stdout.readline() if ready else ""
        match = re.search(r"listening on (\S+)", line)
        if match is None or time.monotonic() > deadline:
            self.stop()
            raise RuntimeError(f"{argv} did not start: {line!r}")
        self.url = match[1]

    def peak_rss_mib(self) -> float:
        with open(f"/proc/{self.proc.pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def _blocks(total: int) -> Iterator[bytes]:
    for _ in range(total // MIB):
        yield BLOCK


def small_ops(
    pool: urllib3.HTTPConnectionPool, put: str, get: str, seconds: float
) -> tuple[float, float, float]:
    """1 KiB objects: (PUT+GET operations, PUTs, GETs) per second, PUT then GET per key."""
    count = 0
    put_time = get_time = 0.0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        key = f"k{count % 1000}"
        t0 = time.perf_counter()
        response = pool.request("PUT", put.format(key=key), body=SMALL)
        assert response.status in (200, 201), response.status
        t1 = time.perf_counter()
        response = pool.request("GET", get.format(key=key))
        assert response.status == 200 and len(response.data) == len(SMALL), response.status
        get_time += time.perf_counter() - t1
        put_time += t1 - t0
        count += 1
    return 2 * count / (put_time + get_time), count / put_time, count / get_time


def upload(pool: urllib3.HTTPConnectionPool, path: str, size: int) -> float:
    start = time.perf_counter()
    response = pool.urlopen("PUT", path, body=_blocks(size), headers={"content-length": str(size)})
    assert response.status in (200, 201), response.status
    return size / MIB / (time.perf_counter() - start)


def download(pool: urllib3.HTTPConnectionPool, path: str, size: int) -> float:
    start = time.perf_counter()
    response = pool.request("GET", path, preload_content=False)
    received = 0
    for chunk in response.stream(MIB):
        received += len(chunk)
    response.release_conn()
    assert received == size, received
    return size / MIB / (time.perf_counter() - start)


OBJECT_PATHS = {
    "small_put": "/v1/objects/bench/org=1/{key}",
    "small_get": "/v1/objects/bench/org=1/{key}",
    "large_put": "/v1/objects/bench/org=1/large",
    "large_get": "/v1/objects/bench/org=1/large",
}


@dataclass
class Target:
    name: str
    server: ServerProcess
    paths: dict[str, str]
    pool: urllib3.HTTPConnectionPool
    result: Result


def _targets(
    args: argparse.Namespace, root: str
) -> list[tuple[str, list[str], dict[str, str], dict[str, str]]]:
    env = {**os.environ, "OS__HTTP_ADDR": "127.0.0.1:0", "OS__AUTH__ENFORCE": "false"}
    null_paths = {
        "small_put": "/{key}",
        "small_get": "/{key}?size=1024",
        "large_put": "/large",
        "large_get": f"/large?size={args.large_mib * MIB}",
    }
    null = [sys.executable, "-m", "benchmarks.null_app"]
    server = [sys.executable, "-m", "django_objectstore.server", "run"]
    specs = [
        ("null ASGI app", null, env, null_paths),
        ("adapter + null core", [*null, "--core"], env, null_paths),
    ]
    for name, storage, fsync in (
        ("filesystem", "filesystem", "true"),
        ("fs, no fsync", "filesystem", "false"),
        ("memory", "memory", "true"),
    ):
        storage_env = {
            **env,
            "OS__STORAGE__TYPE": storage,
            "OS__STORAGE__PATH": os.path.join(root, name.replace(" ", "")),
            "OS__STORAGE__FSYNC": fsync,
        }
        specs.append((f"objectstore ({name})", server, storage_env, OBJECT_PATHS))
    return specs


def _order(targets: list[Target], index: int) -> list[Target]:
    """Every round measures every server; the order is reversed on odd rounds."""
    return targets if index % 2 == 0 else list(reversed(targets))


def run_all(args: argparse.Namespace) -> list[Result]:
    """All servers run at once and are measured in interleaved rounds; medians count."""
    size = args.large_mib * MIB
    targets: list[Target] = []
    samples: dict[str, dict[str, list[float]]] = {}
    with tempfile.TemporaryDirectory(prefix="objectstore-bench-") as root:
        try:
            for name, argv, env, paths in _targets(args, root):
                process = ServerProcess(argv, env)
                pool = urllib3.connection_from_url(process.url, maxsize=1, retries=False)
                targets.append(Target(name, process, paths, pool, Result(name)))
                samples[name] = {"small": [], "put": [], "get": [], "up": [], "down": []}
            for target in targets:  # warm up
                small_ops(target.pool, target.paths["small_put"], target.paths["small_get"], 0.2)
            for index in range(args.rounds):
                for t in _order(targets, index):
                    ops, puts, gets = small_ops(
                        t.pool, t.paths["small_put"], t.paths["small_get"], args.seconds
                    )
                    samples[t.name]["small"].append(ops)
                    samples[t.name]["put"].append(puts)
                    samples[t.name]["get"].append(gets)
            for t in targets:
                t.result.rss_small_mib = t.server.peak_rss_mib()
            for index in range(args.large_rounds):
                for t in _order(targets, index):
                    samples[t.name]["up"].append(upload(t.pool, t.paths["large_put"], size))
                    samples[t.name]["down"].append(download(t.pool, t.paths["large_get"], size))
            for t in targets:
                t.result.rss_large_mib = t.server.peak_rss_mib()
                got = samples[t.name]
                t.result.small_ops = statistics.median(got["small"])
                t.result.put_ops = statistics.median(got["put"])
                t.result.get_ops = statistics.median(got["get"])
                t.result.upload_mbs = statistics.median(got["up"])
                t.result.download_mbs = statistics.median(got["down"])
        finally:
            for t in targets:
                t.pool.close()
                t.server.stop()
    return [t.result for t in targets]


def print_table(results: list[Result], large_mib: int) -> None:
    base = results[0]
    print(f"\nServer over HTTP (urllib3, one connection; large object {large_mib} MiB)")
    header = (
        f"{'server':<24} {'1KiB ops/s':>10} {'ratio':>5} {'PUT/s':>6} {'GET/s':>6}"
        f" {'up MB/s':>8} {'ratio':>5} {'down MB/s':>9} {'ratio':>5}"
        f" {'RSS small':>9} {'RSS large':>9}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        print(
            f"{r.name:<24} {r.small_ops:>10.0f} {r.small_ops / base.small_ops:>5.0%}"
            f" {r.put_ops:>6.0f} {r.get_ops:>6.0f}"
            f" {r.upload_mbs:>8.0f} {r.upload_mbs / base.upload_mbs:>5.0%}"
            f" {r.download_mbs:>9.0f} {r.download_mbs / base.download_mbs:>5.0%}"
            f" {r.rss_small_mib:>7.0f}Mi {r.rss_large_mib:>7.0f}Mi"
        )
    print(
        "(medians of interleaved rounds, order reversed on odd rounds; ops/s counts PUTs "
        "and GETs; RSS is the server process's peak, VmHWM; the memory backend holds the "
        "one large object it is measured with; reference only, no goal)"
    )


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.server_bench")
    parser.add_argument("--seconds", type=float, default=1.0, help="length of a small-object round")
    parser.add_argument("--rounds", type=int, default=5, help="small-object rounds per server")
    parser.add_argument(
        "--large-rounds", type=int, default=5, help="large-object rounds per server"
    )
    parser.add_argument("--quick", action="store_true", help="short rounds: proves it runs")
    parser.add_argument("--large-mib", type=int, default=256, help="large object size in MiB")
    return parser


def main(argv: list[str] | None = None) -> int:
    args, _ = parser().parse_known_args(argv)
    if args.quick:
        args.seconds, args.rounds, args.large_rounds, args.large_mib = 0.2, 2, 2, 8
    print_table(run_all(args), args.large_mib)
    return 0


if __name__ == "__main__":
    sys.exit(main())
