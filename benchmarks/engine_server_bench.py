"""The filesystem (tiered SQLite) engine behind the HTTP server, against null apps on the
same uvicorn: the server engine's targets.

Every server is a real process (``python -m django_objectstore.server run`` with
``OS__*`` variables, or ``python -m benchmarks.null_app``), started once and measured in
interleaved rounds (order reversed on odd rounds); tables give medians and every
round's ratio. The client is raw urllib3, one keep-alive connection per client thread:
our ``Client`` cannot talk to the null apps, and urllib3 is what it sends with anyway,
so both sides of every ratio pay the same client cost and nothing is compressed.

1. 1 KiB PUT+GET pairs/s, one client thread: the engine with ``fsync`` off against the
   null app (goal >= 70%), with ``fsync`` on against the "durable null" app that appends
   each PUT's body to a file and fdatasyncs it before answering (goal >= 70%).
2. ``run --workers 2`` against ``--workers 1``, 4 client threads doing 1 KiB PUT+GET
   pairs (goal >= 1.4x), ``fsync`` off and on.
3. 256 MiB upload and download against the null app receiving and sending the same
   bytes (goal >= 80% each), and the server's peak RSS (``VmHWM`` from
   ``/proc/PID/status``) before and after: it must not grow with the object size.

``python -m benchmarks.engine_server_bench [--quick] [--rounds 7] [--seconds 1.5]
[--large-mib 256]``
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import urllib3

from benchmarks.server_bench import ServerProcess, cpu_seconds, download, upload
from benchmarks.support import MIB, Row, Settings, json_lines, machine, print_table, rate

PAYLOAD = json_lines(1024, seed=7)
KEYS = [f"k{index}" for index in range(100)]
THREADS = 4
OBJECT = "/v1/objects/bench/org=1/"


@dataclass
class Server:
    """A running server and the paths its small and large requests use."""

    name: str
    process: ServerProcess
    put: str
    get: str
    large: str
    large_get: str
    pool: urllib3.HTTPConnectionPool = field(init=False)
    cpu_per_pair: list[float] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.pool = self.new_pool()

    def new_pool(self) -> urllib3.HTTPConnectionPool:
        return urllib3.connection_from_url(self.process.url, maxsize=1, retries=False)

    @property
    def pid(self) -> int:
        return self.process.proc.pid


def pair(pool: urllib3.HTTPConnectionPool, server: Server, key: str) -> None:
    """PUT 1 KiB under ``key``, then GET it back."""
    response = pool.request("PUT", server.put.format(key=key), body=PAYLOAD)
    assert response.status in (200, 201), response.status
    response = pool.request("GET", server.get.format(key=key))
    assert response.status == 200 and len(response.data) == len(PAYLOAD), response.status


def one_thread(server: Server, seconds: float) -> Callable[[], float]:
    """Pairs/s on one connection; records the server's CPU per pair on the side."""

    def measure() -> float:
        done = 0

        def operation() -> None:
            nonlocal done
            pair(server.pool, server, KEYS[done % len(KEYS)])
            done += 1

        cpu = cpu_seconds(server.pid)
        result = rate(operation, seconds)
        server.cpu_per_pair.append((cpu_seconds(server.pid) - cpu) / done * 1e6)
        return result

    return measure


@dataclass
class ThreadedRound:
    rate: float
    client_cores: float
    """CPU the client process used, in cores (one GIL: at most about 1)."""
    worker_shares: list[float]
    """Share of the server's CPU per worker process, busiest first."""
    server_cores: float = 0.0
    """CPU all server processes used, in cores."""
    cpu_per_pair: float = 0.0
    """Server CPU per pair, µs."""


def children(pid: int) -> list[int]:
    """The worker processes of ``pid`` (not multiprocessing's resource tracker)."""
    found: list[int] = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as listing:
                found += [int(child) for child in listing.read().split()]
    except OSError:
        pass
    workers = []
    for child in found:
        try:
            with open(f"/proc/{child}/cmdline", "rb") as cmdline:
                if b"resource_tracker" not in cmdline.read():
                    workers.append(child)
        except OSError:
            pass
    return workers


def threaded(server: Server, seconds: float, log: list[ThreadedRound]) -> Callable[[], float]:
    """Pairs/s of THREADS client threads, each on a new connection of its own.

    New connections every round: with ``SO_REUSEPORT`` the kernel hashes each
    connection to a worker, so a round may load one worker more than the other; fresh
    connections make that a per-round draw which the median absorbs.
    """

    def measure() -> float:
        pools = [server.new_pool() for _ in range(THREADS)]
        for pool in pools:
            pool.request("GET", "/health")  # connect before the clock starts
        counts = [0] * THREADS
        start = threading.Barrier(THREADS + 1)
        deadline = [0.0]

        def work(index: int) -> None:
            start.wait()
            keys = [f"t{index}-{key}" for key in KEYS]
            while time.perf_counter() < deadline[0]:
                pair(pools[index], server, keys[counts[index] % len(keys)])
                counts[index] += 1

        workers = [threading.Thread(target=work, args=(index,)) for index in range(THREADS)]
        for thread in workers:
            thread.start()
        pids = children(server.pid) or [server.pid]
        cpu = [cpu_seconds(pid) for pid in pids]
        client_cpu = time.process_time()
        began = time.perf_counter()
        deadline[0] = began + seconds
        start.wait()
        for thread in workers:
            thread.join()
        wall = time.perf_counter() - began
        used = [cpu_seconds(pid) - before for pid, before in zip(pids, cpu, strict=True)]
        total = sum(used) or 1.0
        shares = sorted((share / total for share in used), reverse=True)
        for pool in pools:
            pool.close()
        entry = ThreadedRound(
            sum(counts) / wall,
            (time.process_time() - client_cpu) / wall,
            shares,
            sum(used) / wall,
            sum(used) / max(sum(counts), 1) * 1e6,
        )
        log.append(entry)
        return entry.rate

    return measure


def interleave(
    contenders: list[tuple[str, Callable[[], float]]], rounds: int
) -> dict[str, list[float]]:
    """A, B, C, D on even rounds and D, C, B, A on odd ones (as ``support.interleaved``)."""
    results: dict[str, list[float]] = {name: [] for name, _ in contenders}
    for index in range(rounds):
        order = contenders if index % 2 == 0 else contenders[::-1]
        for name, measure in order:
            results[name].append(measure())
    return results


# -- servers ---------------------------------------------------------------------------


@contextmanager
def servers(root: str, large_mib: int) -> Iterator[dict[str, Server]]:
    """Every server of the run, started once and stopped at the end."""
    base_env = {
        **os.environ,
        "OS__HTTP_ADDR": "127.0.0.1:0",
        "OS__AUTH__ENFORCE": "false",
        "OS__SWEEP_INTERVAL": "0s",
    }
    null = [sys.executable, "-m", "benchmarks.null_app"]
    run = [sys.executable, "-m", "django_objectstore.server", "run"]
    null_paths = ("/{key}", "/{key}?size=1024", "/large", f"/large?size={large_mib * MIB}")
    object_paths = (OBJECT + "{key}", OBJECT + "{key}", OBJECT + "large", OBJECT + "large")
    specs: list[tuple[str, list[str], dict[str, str], tuple[str, str, str, str]]] = [
        ("null app", null, base_env, null_paths),
        ("durable null app", [*null, "--durable", f"{root}/durable.log"], base_env, null_paths),
    ]
    for fsync in ("false", "true"):
        for workers in ("1", "2"):
            env = {
                **base_env,
                "OS__STORAGE__TYPE": "filesystem",
                "OS__STORAGE__PATH": f"{root}/fsync-{fsync}-workers-{workers}",
                "OS__STORAGE__FSYNC": fsync,
            }
            plural = "s" if workers != "1" else ""
            name = f"fsync {'on' if fsync == 'true' else 'off'}, {workers} worker{plural}"
            specs.append((name, [*run, "--workers", workers], env, object_paths))
    started: dict[str, Server] = {}
    try:
        for name, argv, env, paths in specs:
            started[name] = Server(name, ServerProcess(argv, env), *paths)
        yield started
    finally:
        for server in started.values():
            server.pool.close()
            server.process.stop()


# -- the three tables ------------------------------------------------------------------


def small_table(found: dict[str, Server], rounds: int, seconds: float) -> None:
    names = ["fsync off, 1 worker", "null app", "fsync on, 1 worker", "durable null app"]
    for name in names:  # warm up: every key exists before the clock starts
        for key in KEYS:
            pair(found[name].pool, found[name], key)
    results = interleave([(n, one_thread(found[n], seconds)) for n in names], rounds)
    rows = [
        Row("fsync off: engine / null app", results[names[0]], results[names[1]], 0.70),
        Row("fsync on: engine / durable null app", results[names[2]], results[names[3]], 0.70),
    ]
    cpu = ", ".join(f"{name} {statistics.median(found[name].cpu_per_pair):.0f}" for name in names)
    print_table(
        "Server over HTTP: 1 KiB PUT+GET pairs, one client thread",
        "pairs/s (a PUT of 1 KiB JSON lines, then a GET of the same key; 100 keys overwritten)",
        ("engine", "null app"),
        rows,
        [
            "filesystem engine = OS__STORAGE__TYPE=filesystem (tiered SQLite), 1 worker, "
            "auth off, default log level (one access-log line per request)",
            "durable null app = the null app appending each PUT body to one file and "
            "fdatasync-ing it before answering",
            f"{rounds} interleaved rounds of {seconds:g} s per server",
            f"server CPU per pair, median µs (user + system, /proc): {cpu}",
        ],
    )


def workers_table(found: dict[str, Server], rounds: int, seconds: float) -> None:
    names = [
        "fsync off, 2 workers",
        "fsync off, 1 worker",
        "fsync on, 2 workers",
        "fsync on, 1 worker",
    ]
    logs: dict[str, list[ThreadedRound]] = {name: [] for name in names}
    for name in names:
        threaded(found[name], 0.3, [])()  # warm up every worker's connections
    results = interleave([(n, threaded(found[n], seconds, logs[n])) for n in names], rounds)
    rows = [
        Row("fsync off: 2 workers / 1 worker", results[names[0]], results[names[1]], 1.4),
        Row("fsync on: 2 workers / 1 worker", results[names[2]], results[names[3]], 1.4),
    ]
    notes = [
        f"{THREADS} client threads in this one Python process (one GIL), each on its own "
        "connection, new connections every round",
        f"this machine has {os.cpu_count()} cores: the client threads compete with the "
        "server processes for them, so 2 workers can gain at most what the client leaves",
        f"{rounds} interleaved rounds of {seconds:g} s per server",
    ]
    for name in names:
        client = statistics.median(entry.client_cores for entry in logs[name])
        server = statistics.median(entry.server_cores for entry in logs[name])
        cost = statistics.median(entry.cpu_per_pair for entry in logs[name])
        notes.append(
            f"{name}: client {client:.2f} cores, server {server:.2f} cores, "
            f"server CPU {cost:.0f} µs per pair (medians of rounds)"
        )
    for name in (names[0], names[2]):
        split = "; ".join(
            "/".join(f"{share:.0%}" for share in entry.worker_shares) for entry in logs[name]
        )
        notes.append(f"server CPU split between workers per round, {name}: {split}")
    print_table(
        f"--workers 2 against --workers 1: 1 KiB PUT+GET pairs, {THREADS} client threads",
        "pairs/s, all client threads together",
        ("2 workers", "1 worker"),
        rows,
        notes,
    )


def large_table(found: dict[str, Server], rounds: int, large_mib: int) -> None:
    size = large_mib * MIB
    warm = max(size // 8, 2 * MIB)  # above the 1 MiB inline limit: a revision file
    names = ["fsync on, 1 worker", "null app", "fsync off, 1 worker"]
    peaks: dict[str, list[float]] = {}
    for name in names:
        server = found[name]
        peaks[name] = [server.process.peak_rss_mib()]
        upload(server.pool, server.large, warm)
        download(server.pool, server.large_get.replace(str(size), str(warm)), warm)
        peaks[name].append(server.process.peak_rss_mib())
    up: dict[str, list[float]] = {name: [] for name in names}
    down: dict[str, list[float]] = {name: [] for name in names}
    for index in range(rounds):
        for name in names if index % 2 == 0 else names[::-1]:
            server = found[name]
            up[name].append(upload(server.pool, server.large, size))
            down[name].append(download(server.pool, server.large_get, size))
    for name in names:
        peaks[name].append(found[name].process.peak_rss_mib())
    engine, null, fast = names
    rows = [
        Row("upload, fsync on (default)", up[engine], up[null], 0.8),
        Row("download, fsync on (default)", down[engine], down[null], 0.8),
        Row("upload, fsync off", up[fast], up[null], 0.8),
        Row("download, fsync off", down[fast], down[null], 0.8),
    ]
    print_table(
        f"{large_mib} MiB upload and download against the null app",
        "MiB/s (one PUT with content-length, then one GET of the same object)",
        ("engine", "null app"),
        rows,
        [
            "the null app reads and drops the upload and streams the download from memory; "
            "the engine writes a revision file (fsync on: fsync-ed with its directory) "
            "and streams it back",
            f"{rounds} interleaved rounds, one upload and one download per server per round",
        ],
    )
    print(f"\n## Server peak RSS (VmHWM from /proc/PID/status) and {large_mib} MiB objects")
    print(
        f"| server | after small requests | after {warm // MIB} MiB | after {large_mib} MiB "
        f"| growth, small -> {large_mib} MiB | goal | result |"
    )
    print("|---|---:|---:|---:|---:|---|---|")
    for name in names:
        small, middle, large = peaks[name]
        growth = large - small
        result = "met" if growth <= 16 else "NOT met"
        goal = "<= 16 MiB (flat)"
        if name == null:
            goal, result = "(reference)", ""
        print(
            f"| {name} | {small:.0f} MiB | {middle:.0f} MiB | {large:.0f} MiB "
            f"| {growth:+.1f} MiB | {goal} | {result} |"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short rounds: proves it runs")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds (>= 5)")
    parser.add_argument("--seconds", type=float, default=1.5, help="length of a small round")
    parser.add_argument("--large-mib", type=int, default=256, help="large object size in MiB")
    args, _ = parser.parse_known_args(argv)
    settings = Settings(rounds=args.rounds, seconds=args.seconds, large_mib=args.large_mib)
    if args.quick:
        settings = Settings.quick_mode()
    print(f"\n# engine_server_bench on {machine()}")
    print("client: urllib3, one keep-alive connection per client thread; no compression")
    with (
        tempfile.TemporaryDirectory(prefix="engine-server-bench-") as root,
        servers(root, settings.large_mib) as found,
    ):
        small_table(found, settings.rounds, settings.seconds)
        workers_table(found, settings.rounds, settings.seconds)
        large_table(found, settings.rounds, settings.large_mib)
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    print(f"\nload average at the end: {load} (os.getloadavg(), {os.cpu_count()} cores)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
