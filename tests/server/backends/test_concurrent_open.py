"""Several processes opening one fresh tiered store at once (server workers, or the
web workers of a Django site sharing an embedded store on their first request)."""

from __future__ import annotations

import multiprocessing
from pathlib import Path
from typing import Any

from django_objectstore.server.backends.tiered.backend import TieredBackend

PROCESSES = 6
ROUNDS = 40


def _open_stores(roots: list[str], barrier: Any, results: Any) -> None:
    for root in roots:
        barrier.wait(60)  # every process opens the same fresh store at the same moment
        try:
            TieredBackend(root, fsync=False).close()
            results.put("ok")
        except Exception as error:  # reported to the test, which names it
            results.put(f"{root}: {type(error).__name__}: {error}")


def test_processes_opening_a_fresh_store_at_once_all_succeed(tmp_path: Path) -> None:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(PROCESSES)
    results = context.Queue()
    roots = [str(tmp_path / f"store-{number}") for number in range(ROUNDS)]
    processes = [
        context.Process(target=_open_stores, args=(roots, barrier, results))
        for _ in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=120) for _ in range(PROCESSES * ROUNDS)]
    for process in processes:
        process.join(30)
    assert [outcome for outcome in outcomes if outcome != "ok"] == []
