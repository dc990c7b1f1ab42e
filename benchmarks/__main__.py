"""``python -m benchmarks [--quick] [--only NAME]``: every benchmark, one table per goal.

The goals: the client against the official client, large transfers against zstd's
one-core limit, client memory, the storage's and the download view's overhead over the
raw client (``client_bench``, ``storage_bench``, ``view_bench``); the embedded engine
against ``FileSystemStorage`` (``engine_bench``); the engine behind the HTTP server
against null apps, with workers and with large objects (``engine_server_bench``);
``server_bench`` and ``keepalive_bench`` compare the server with null apps and time
keepalive. ``--quick`` runs everything
with short rounds and small objects in well under a minute: it proves the benchmarks
still run (what CI checks) and asserts nothing about time.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import time
from pathlib import Path

ORDER = (
    "client_bench",
    "storage_bench",
    "view_bench",
    "server_bench",
    "keepalive_bench",
    "engine_bench",
    "engine_server_bench",
)


def discover() -> list[str]:
    here = Path(__file__).parent
    found = {path.stem for path in here.glob("*_bench.py")}
    return [name for name in ORDER if name in found] + sorted(found - set(ORDER))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--only", action="append", help="run only this benchmark (repeatable)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--quick", action="store_true", help="short runs for CI (< 60 s)")
    args, rest = parser.parse_known_args(argv)
    names = discover()
    if args.list:
        print("\n".join(names))
        return 0
    if args.quick:
        rest = [*rest, "--quick"]
    started = time.monotonic()
    status = 0
    for name in names:
        if args.only and name not in args.only:
            continue
        module = importlib.import_module(f"benchmarks.{name}")
        status |= module.main(rest)
    print(f"\n(all benchmarks took {time.monotonic() - started:.0f} s)")
    return status


if __name__ == "__main__":
    sys.exit(main())
