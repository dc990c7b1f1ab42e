"""Server throughput and memory against a null ASGI app on the same uvicorn.

Each server runs in its own process; the client is raw urllib3 on one keep-alive
connection. Measured per server:

- small objects: 1 KiB PUT then GET of the same key, sequentially, in timed rounds;
- large objects: one upload and one download of ``--large-mib`` MiB (default 256),
  generated and checked on the fly (the client never holds the object either);
- the server process's peak RSS (``VmHWM``) after the small and after the large phase:
  for the filesystem backend it should not grow with the object size.

Then the hot paths of small requests, as goal tables (:func:`run_hot`): 1 KiB PUT+GET
pairs over the memory backend against the null app on the same HTTP server (goal 70%),
a chunked PUT against the same PUT with ``content-length``, requests carrying a JWT
against requests without, and, when ``--granian-python`` names an interpreter that has
granian, granian against uvicorn for the null app and the server.

``python -m benchmarks.server_bench [--seconds 1.5] [--rounds 3] [--large-mib 256]
[--hot-only] [--granian-python PATH]``
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

from benchmarks.support import Row, machine
from benchmarks.support import print_table as print_goals

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

    def __init__(self, argv: list[str], env: dict[str, str], cwd: str | None = None) -> None:
        self.proc = subprocess.Popen(
            argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
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
        self._wait_answering(deadline)

    def _wait_answering(self, deadline: float) -> None:
        """Servers that print their URL before they bind (granian): poll until one answers."""
        while True:
            try:
                urllib3.request("GET", self.url + "/health", retries=False, timeout=1.0)
                return
            except urllib3.exceptions.HTTPError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.stop()
                    raise RuntimeError(f"{self.url} does not answer") from None
                time.sleep(0.05)  # polling a process we do not control, with a deadline

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
    pool: urllib3.HTTPConnectionPool,
    put: str,
    get: str,
    seconds: float,
    *,
    chunked: bool = False,
    headers: dict[str, str] | None = None,
) -> tuple[float, float, float]:
    """1 KiB objects: (PUT+GET operations, PUTs, GETs) per second, PUT then GET per key.

    ``chunked`` sends the PUT body with ``transfer-encoding: chunked`` (as the official
    client and every zstd upload do) instead of ``content-length``.
    """
    count = 0
    put_time = get_time = 0.0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        key = f"k{count % 1000}"
        t0 = time.perf_counter()
        response = pool.request(
            "PUT", put.format(key=key), body=SMALL, chunked=chunked, headers=headers
        )
        assert response.status in (200, 201), response.status
        t1 = time.perf_counter()
        response = pool.request("GET", get.format(key=key), headers=headers)
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


# -- hot paths of small requests ---------------------------------------------------------


@dataclass
class HotServer:
    name: str
    argv: list[str]
    env: dict[str, str]
    paths: dict[str, str]
    headers: dict[str, str] | None = None
    cwd: str | None = None
    """Where the server starts: ``python -m`` imports from there first."""


def _auth_env(root: str) -> tuple[dict[str, str], dict[str, str]]:
    """``OS__AUTH__*`` enforcing one generated key, and headers with a token for it."""
    import jwt
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = Ed25519PrivateKey.generate()
    public_path = os.path.join(root, "bench.pub")
    with open(public_path, "wb") as out:
        out.write(
            private.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    permissions = '["object.read","object.write","object.delete"]'
    keys = f'{{bench={{key_files=["{public_path}"],max_permissions={permissions}}}}}'
    env = {"OS__AUTH__ENFORCE": "true", "OS__AUTH__KEYS": keys}
    claims = {
        "res": {"os:usecase": "bench", "org": "1"},
        "permissions": ["object.read", "object.write", "object.delete"],
        "exp": int(time.time()) + 3600,
    }
    token = jwt.encode(claims, private, algorithm="EdDSA", headers={"kid": "bench"})
    return env, {"x-os-auth": f"Bearer {token}"}


def _hot_servers(args: argparse.Namespace, root: str) -> list[HotServer]:
    env = {**os.environ, "OS__HTTP_ADDR": "127.0.0.1:0", "OS__AUTH__ENFORCE": "false"}
    memory = {**env, "OS__STORAGE__TYPE": "memory"}
    null_paths = {"small_put": "/{key}", "small_get": "/{key}?size=1024"}
    auth_env, auth_headers = _auth_env(root)
    null = ["-m", "benchmarks.null_app"]
    server = ["-m", "django_objectstore.server", "run"]
    servers = [
        HotServer("null, uvicorn", [sys.executable, *null], env, null_paths),
        HotServer("memory, uvicorn", [sys.executable, *server], memory, OBJECT_PATHS),
        HotServer(
            "memory + JWT, uvicorn",
            [sys.executable, *server],
            {**memory, **auth_env},
            OBJECT_PATHS,
            auth_headers,
        ),
    ]
    if args.baseline_tree:
        before = {"PYTHONPATH": args.baseline_tree}
        servers += [
            HotServer(
                "memory, uvicorn, before",
                [sys.executable, *server],
                {**memory, **before},
                OBJECT_PATHS,
                cwd=args.baseline_tree,
            ),
            HotServer(
                "memory + JWT, uvicorn, before",
                [sys.executable, *server],
                {**memory, **auth_env, **before},
                OBJECT_PATHS,
                auth_headers,
                cwd=args.baseline_tree,
            ),
        ]
    if args.granian_python:
        granian = [args.granian_python, *null, "--granian"]
        servers += [
            HotServer("null, granian", granian, env, null_paths),
            HotServer("memory, granian", [*granian, "--objectstore"], memory, OBJECT_PATHS),
        ]
    return servers


# (label, ours, baseline, goal): "<server>" or "<server> chunked" name what is measured.
HOT_ROWS = [
    ("memory / null app, content-length PUT", "memory, uvicorn", "null, uvicorn", 0.70),
    (
        "memory / null app, chunked PUT",
        "memory, uvicorn chunked",
        "null, uvicorn chunked",
        0.70,
    ),
    ("chunked / content-length PUT, memory", "memory, uvicorn chunked", "memory, uvicorn", 0.95),
    ("chunked / content-length PUT, null app", "null, uvicorn chunked", "null, uvicorn", 0.95),
    ("JWT / no auth, memory", "memory + JWT, uvicorn", "memory, uvicorn", 0.90),
    ("before: memory / null app", "memory, uvicorn, before", "null, uvicorn", 0.70),
    (
        "before: memory / null app, chunked PUT",
        "memory, uvicorn, before chunked",
        "null, uvicorn chunked",
        0.70,
    ),
    (
        "before: chunked / content-length PUT, memory",
        "memory, uvicorn, before chunked",
        "memory, uvicorn, before",
        0.95,
    ),
    ("before: JWT / no auth, memory", "memory + JWT, uvicorn, before", "memory, uvicorn", 0.90),
    ("after / before, memory", "memory, uvicorn", "memory, uvicorn, before", 1.0),
    ("after / before, memory + JWT", "memory + JWT, uvicorn", "memory + JWT, uvicorn, before", 1.0),
    ("granian / uvicorn, null app", "null, granian", "null, uvicorn", 1.10),
    ("granian / uvicorn, memory", "memory, granian", "memory, uvicorn", 1.10),
    ("granian: memory / null app", "memory, granian", "null, granian", 0.70),
]


SLICES = 10
"""Each round of the hot-path tables runs every contender in this many short slices, the
order rotating from slice to slice, so a burst of load elsewhere hits all of them."""


def cpu_seconds(pid: int) -> float:
    """User plus system CPU of ``pid`` and its descendants (granian runs a worker)."""
    total = 0.0
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        total = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as children:
                total += sum(cpu_seconds(int(child)) for child in children.read().split())
    except OSError:
        return float("nan")
    return total


@dataclass
class Contender:
    name: str
    spec: HotServer
    process: ServerProcess
    pool: urllib3.HTTPConnectionPool
    chunked: bool

    def slice(self, seconds: float) -> tuple[int, float, float]:
        """(pairs, wall seconds, server CPU seconds) of one slice."""
        put, get = self.spec.paths["small_put"], self.spec.paths["small_get"]
        cpu = cpu_seconds(self.process.proc.pid)
        started = time.perf_counter()
        pairs = 0
        while time.perf_counter() - started < seconds:
            key = f"k{pairs % 1000}"
            response = self.pool.request(
                "PUT",
                put.format(key=key),
                body=SMALL,
                chunked=self.chunked,
                headers=self.spec.headers,
            )
            assert response.status in (200, 201), response.status
            response = self.pool.request("GET", get.format(key=key), headers=self.spec.headers)
            assert response.status == 200 and len(response.data) == len(SMALL), response.status
            pairs += 1
        return pairs, time.perf_counter() - started, cpu_seconds(self.process.proc.pid) - cpu


def _rounds(contenders: list[Contender], args: argparse.Namespace) -> dict[str, list[float]]:
    """Pairs/s per round and contender; ``<name> cpu`` holds server CPU µs per pair."""
    results: dict[str, list[float]] = {}
    step = args.seconds / SLICES
    for _ in range(args.rounds):
        totals = {c.name: [0, 0.0, 0.0] for c in contenders}
        for index in range(SLICES):
            shift = index % len(contenders)
            for contender in contenders[shift:] + contenders[:shift]:
                pairs, wall, cpu = contender.slice(step)
                total = totals[contender.name]
                total[0] += pairs
                total[1] += wall
                total[2] += cpu
        for name, (pairs, wall, cpu) in totals.items():
            results.setdefault(name, []).append(pairs / wall)
            results.setdefault(f"{name} cpu", []).append(cpu / pairs * 1e6)
    return results


def run_hot(args: argparse.Namespace) -> dict[str, list[float]]:
    """1 KiB PUT+GET pairs/s and server CPU per pair of every hot-path contender."""
    with tempfile.TemporaryDirectory(prefix="objectstore-hot-") as root:
        contenders: list[Contender] = []
        try:
            for spec in _hot_servers(args, root):
                process = ServerProcess(spec.argv, spec.env, spec.cwd)
                pool = urllib3.connection_from_url(process.url, maxsize=1, retries=False)
                for chunked in (False, True):
                    name = spec.name + (" chunked" if chunked else "")
                    contenders.append(Contender(name, spec, process, pool, chunked))
            for contender in contenders:
                contender.slice(0.2)  # warm up
            return _rounds(contenders, args)
        finally:
            for contender in contenders:
                contender.pool.close()
                contender.process.stop()


def hot_rows(results: dict[str, list[float]], cpu: bool = False) -> list[Row]:
    suffix = " cpu" if cpu else ""
    return [
        Row(label, results[ours + suffix], results[base + suffix], goal, not cpu)
        for label, ours, base, goal in HOT_ROWS
        if ours in results and base in results
    ]


def print_hot(results: dict[str, list[float]]) -> None:
    notes = [
        f"machine: {machine()}",
        f"each round runs every contender in {SLICES} slices, the order rotating",
        "goals: 70% of the null app; chunked no slower than content-length;"
        " granian counts as a clear win above 1.10x",
    ]
    print_goals(
        "Server hot paths: 1 KiB PUT+GET pairs, one connection",
        "pairs/s (a PUT then a GET of the same key)",
        ("ours", "baseline"),
        hot_rows(results),
        notes,
    )
    cpu_rows = hot_rows(results, cpu=True)
    for row in cpu_rows:
        row.goal = 0.0  # reference only: server CPU per pair, lower is better
    print_goals(
        "Server hot paths: server CPU per pair (user + system, from /proc)",
        "µs of server CPU per PUT+GET pair (steadier than rates on a busy machine)",
        ("ours", "baseline"),
        cpu_rows,
        ["ratio: ours / baseline CPU; below 1.00x ours costs less"],
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
    parser.add_argument(
        "--hot-only", action="store_true", help="only the hot-path tables of small requests"
    )
    parser.add_argument(
        "--baseline-tree",
        metavar="DIR",
        help="a source tree of an earlier version: also measure its server (before/after)",
    )
    parser.add_argument(
        "--granian-python",
        metavar="PATH",
        help="a Python with granian installed: also measure granian against uvicorn",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args, _ = parser().parse_known_args(argv)
    if args.quick:
        args.seconds, args.rounds, args.large_rounds, args.large_mib = 0.2, 2, 2, 8
    if not args.hot_only:
        print_table(run_all(args), args.large_mib)
    print_hot(run_hot(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
