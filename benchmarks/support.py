"""Shared by the benchmarks: servers on loopback, realistic data, interleaved rounds and
the goal tables.

Every comparison runs in rounds: each round measures every contender for the same time,
in the order A, B on even rounds and B, A on odd rounds, so drift on a busy machine
(other processes, CPU frequency, the page cache) hits both sides alike. A table shows
the median of each contender and the median of the per-round ratios, prints every
round's ratio, and says whether the goal is met.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import urllib3

MIB = 1024 * 1024


@dataclass
class Settings:
    """How long and how often: ``--quick`` shortens everything and proves only that it runs."""

    rounds: int = 5
    seconds: float = 1.0
    large_mib: int = 256
    storage_large_mib: int = 16
    quick: bool = False

    @classmethod
    def quick_mode(cls) -> Settings:
        return cls(rounds=2, seconds=0.2, large_mib=8, storage_large_mib=2, quick=True)


def machine() -> str:
    """One line naming the machine the numbers come from."""
    cores = os.cpu_count()
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    return f"{cores} cores, load average {load} at the start, Python {sys.version.split()[0]}"


# -- data ------------------------------------------------------------------------------

JSON_BLOCK_MIB = 8
"""Large JSON-lines payloads repeat a block of this many MiB of distinct lines: farther
apart than zstd's 2 MiB window at level 3, so the repetition is invisible to it."""

DATA_NOTE = (
    "data: compressible = JSON lines (log records with random ids, numbers and paths; "
    f"large payloads repeat a {JSON_BLOCK_MIB} MiB block, beyond zstd's 2 MiB window); "
    "incompressible = os.urandom"
)


def json_lines(size: int, seed: int = 1) -> bytes:
    """``size`` bytes of log-like JSON lines (zstd level 3 shrinks them about 4-6x)."""
    rng = random.Random(seed)
    levels = ("info", "info", "info", "warning", "error")
    paths = ("/api/0/projects/", "/api/0/issues/", "/api/0/events/", "/api/0/organizations/")
    out: list[bytes] = []
    total = 0
    stamp = 1_700_000_000.0
    while total < size:
        stamp += rng.random()
        line = json.dumps(
            {
                "timestamp": round(stamp, 6),
                "level": rng.choice(levels),
                "logger": "django.request",
                "request_id": f"{rng.getrandbits(64):016x}",
                "user_id": rng.randrange(1, 10**7),
                "method": rng.choice(("GET", "GET", "POST", "PUT")),
                "path": rng.choice(paths) + str(rng.randrange(10**6)) + "/",
                "status": rng.choice((200, 200, 200, 201, 204, 304, 404, 500)),
                "duration_ms": round(rng.expovariate(1 / 40), 3),
            },
            separators=(",", ":"),
        ).encode()
        out.append(line + b"\n")
        total += len(line) + 1
    return b"".join(out)[:size]


class JsonStream:
    """``size`` bytes of JSON lines read from a repeated block (not seekable, like a pipe)."""

    def __init__(self, size: int, block: bytes) -> None:
        self.left = size
        self.block = memoryview(block)
        self.offset = 0

    def readable(self) -> bool:
        return True

    def read(self, n: int = -1) -> bytes:
        if n < 0:
            n = self.left
        n = min(n, self.left, len(self.block) - self.offset)
        data = bytes(self.block[self.offset : self.offset + n])
        self.offset = (self.offset + n) % len(self.block)
        self.left -= n
        return data


def json_block() -> bytes:
    return json_lines(JSON_BLOCK_MIB * MIB, seed=42)


# -- servers ---------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(url: str, process: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server at {url} exited with {process.returncode}")
        try:
            if urllib3.request("GET", url + "/health", retries=False).status == 200:
                return
        except urllib3.exceptions.HTTPError:
            time.sleep(0.05)  # polling a process we do not control, with a deadline
    process.kill()
    raise SystemExit(f"the server at {url} did not start")


def start_server(root: str, storage: str) -> tuple[subprocess.Popen[bytes], str]:
    """``python -m django_objectstore.server run`` on a free port; (process, base URL)."""
    port = free_port()
    env = dict(
        os.environ,
        OS__HTTP_ADDR=f"127.0.0.1:{port}",
        OS__STORAGE__TYPE=storage,
        OS__STORAGE__PATH=root,
        OS__AUTH__ENFORCE="false",
    )
    process = subprocess.Popen([sys.executable, "-m", "django_objectstore.server", "run"], env=env)
    url = f"http://127.0.0.1:{port}"
    wait_healthy(url, process)
    return process, url


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


# -- rounds ----------------------------------------------------------------------------


def rate(operation: Callable[[], object], seconds: float) -> float:
    """Operations per second over about ``seconds`` (at least one operation)."""
    done = 0
    started = time.perf_counter()
    deadline = started + seconds
    while True:
        operation()
        done += 1
        now = time.perf_counter()
        if now >= deadline:
            return done / (now - started)


def interleaved(
    contenders: Sequence[tuple[str, Callable[[], float]]], rounds: int
) -> dict[str, list[float]]:
    """Each contender's measurement per round; the order is reversed on odd rounds."""
    results: dict[str, list[float]] = {name: [] for name, _ in contenders}
    for index in range(rounds):
        order = contenders if index % 2 == 0 else list(reversed(contenders))
        for name, measure in order:
            results[name].append(measure())
    return results


@dataclass
class Row:
    """One comparison: ``ours`` against ``baseline``, per round, with its goal."""

    label: str
    ours: list[float]
    baseline: list[float]
    goal: float
    higher_is_better: bool = True
    """For ``ours/baseline``; a lower-is-better row (overhead) compares ``ours/baseline - 1``."""
    ratios: list[float] = field(init=False)

    def __post_init__(self) -> None:
        self.ratios = [
            a / b if b else float("nan") for a, b in zip(self.ours, self.baseline, strict=True)
        ]

    @property
    def ratio(self) -> float:
        return statistics.median(self.ratios)

    @property
    def met(self) -> bool:
        if self.higher_is_better:
            return self.ratio >= self.goal
        return self.ratio - 1 <= self.goal


def print_table(
    title: str, unit: str, names: tuple[str, str], rows: Sequence[Row], notes: Sequence[str]
) -> None:
    """One goal's table: medians, the median per-round ratio, the goal, met or not."""
    print(f"\n## {title}")
    print(f"unit: {unit}")
    for note in notes:
        print(note)
    ours, baseline = names
    header = f"| case | {ours} | {baseline} | ratio (median of rounds) | goal | result |"
    print(header)
    print("|---|---:|---:|---:|---|---|")
    for row in rows:
        if row.higher_is_better:
            measured = f"{row.ratio:.2f}x"
            goal = f">= {row.goal:.2f}x"
        else:
            measured = f"{row.ratio - 1:+.1%}"
            goal = f"<= {row.goal:+.0%}"
        print(
            f"| {row.label} | {_num(statistics.median(row.ours))} | "
            f"{_num(statistics.median(row.baseline))} | {measured} | {goal} | "
            f"{'met' if row.met else 'NOT met'} |"
        )
    for row in rows:
        rounds = ", ".join(f"{r:.2f}" for r in row.ratios)
        print(f"rounds, {row.label}: {ours}/{baseline} = {rounds}")


def _num(value: float) -> str:
    return f"{value:.1f}" if value < 100 else f"{value:.0f}"


def paired(
    contenders: Sequence[tuple[str, Callable[[], object]]], seconds: float, rounds: int
) -> dict[str, list[float]]:
    """Operations per second of each contender per round, measured operation by operation.

    Within a round the contenders take turns one operation at a time (A B, then B A, so
    neither always goes first) until each has run for ``seconds``; a burst of load from
    elsewhere then hits both sides of a round alike. For operations of a millisecond or
    more on a shared machine, where whole-second turns (:func:`interleaved`) swing.
    """
    results: dict[str, list[float]] = {name: [] for name, _ in contenders}
    for _ in range(rounds):
        spent = {name: 0.0 for name, _ in contenders}
        done = dict.fromkeys(spent, 0)
        turn = 0
        while min(spent.values()) < seconds:
            order = contenders if turn % 2 == 0 else list(reversed(contenders))
            for name, operation in order:
                started = time.perf_counter()
                operation()
                spent[name] += time.perf_counter() - started
                done[name] += 1
            turn += 1
        for name in results:
            results[name].append(done[name] / spent[name])
    return results


def configure_django() -> None:
    """Minimal settings for benchmarks that use the Django storage outside a project."""
    import django
    from django.conf import settings

    if not settings.configured:
        settings.configure(
            USE_TZ=True,
            INSTALLED_APPS=["django_objectstore"],
            STORAGES={
                "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
                "staticfiles": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
            },
            OBJECTSTORE={},
        )
        django.setup()


def settings_from_argv(argv: list[str] | None, description: str) -> Settings:
    """The rounds a benchmark without options of its own runs: ``--quick`` or the full ones."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true", help="short rounds: proves it runs")
    args, _ = parser.parse_known_args(argv)
    return Settings.quick_mode() if args.quick else Settings()
