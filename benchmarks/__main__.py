"""``python -m benchmarks [--quick] [--only NAME]``: every benchmark, one table per goal.

The goals are those of issue 12 (client vs the official client, large transfers vs
zstd's one-core limit, client memory, storage overhead) and of issue 11 (``engine_bench``:
the embedded engine against ``FileSystemStorage``; ``engine_server_bench``: the engine
behind the HTTP server against null apps, workers, large objects); ``server_bench`` and
``keepalive_bench`` print reference tables without goals. ``--quick`` runs everything
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
