"""``python -m benchmarks [--only NAME] [args...]``: run every ``*_bench.py`` module.

Each benchmark module offers ``main(argv) -> int`` and prints its own table. Extra
arguments are passed to each module (``--help`` of a module lists its own).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path


def discover() -> list[str]:
    here = Path(__file__).parent
    return sorted(path.stem for path in here.glob("*_bench.py"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks")
    parser.add_argument("--only", action="append", help="run only this benchmark (repeatable)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    args, rest = parser.parse_known_args(argv)
    names = discover()
    if args.list:
        print("\n".join(names))
        return 0
    selected = [name for name in names if not args.only or name in args.only]
    status = 0
    for name in selected:
        module = importlib.import_module(f"benchmarks.{name}")
        status |= module.main(rest)
    return status


if __name__ == "__main__":
    sys.exit(main())
