"""Storage overhead: ``ObjectstoreStorage`` save+open against the raw client, interleaved.

One server process (``benchmarks.sink_server``: our server, memory backend) serves
both. Both sides overwrite one key (the storage with ``key_mode="name"`` and
``allow_overwrite``), so the server holds two objects, whatever the run's length.
Operations: one save+open = ``storage.save(name, ContentFile)`` then
``storage.open(name).read()``; the raw client does ``session.put`` of the same object
(the filename, content type and recorded size the storage writes) then
``session.get(key).payload.read()``. Goal: the storage adds <= 5 %.

``python -m benchmarks.storage_bench [--quick]``
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable

from benchmarks.support import (
    DATA_NOTE,
    MIB,
    JsonStream,
    Row,
    Settings,
    configure_django,
    interleaved,
    json_block,
    json_lines,
    machine,
    paired,
    print_table,
    settings_from_argv,
)


def _pair(url: str, payload: bytes, compression: str) -> tuple[Callable[[], None], ...]:
    from django.core.files.base import ContentFile

    from django_objectstore.client import Client, Usecase
    from django_objectstore.storage import ObjectstoreStorage
    from django_objectstore.storage.files import SIZE_METADATA
    from django_objectstore.storage.uploads import content_type_for

    size = len(payload)
    content_type = content_type_for(None, "report.jsonl")  # what the storage sends
    session = Client(url).session(Usecase("bench", compression=compression), org=1)  # type: ignore[arg-type]
    storage = ObjectstoreStorage(
        base_url=url,
        usecase="bench",
        compression=compression,
        key_mode="name",
        allow_overwrite=True,
    )

    def raw() -> None:
        key = session.put(
            payload,
            key="raw-report.jsonl",
            content_type=content_type,
            filename="report.jsonl",
            metadata={SIZE_METADATA: str(size)},
        )
        result = session.get(key)
        assert result is not None
        with result:
            assert len(result.payload.read()) == size

    def stored() -> None:
        name = storage.save("org=1/report.jsonl", ContentFile(payload))
        with storage.open(name) as handle:
            assert len(handle.read()) == size

    return raw, stored


def run(settings: Settings) -> None:
    from benchmarks.server_bench import ServerProcess

    large = settings.storage_large_mib * MIB
    cases = [
        ("1 KiB JSON lines, zstd (default)", json_lines(1024, seed=5), "zstd"),
        ("1 KiB random, uncompressed", os.urandom(1024), "none"),
        (
            f"{settings.storage_large_mib} MiB JSON lines, zstd (default)",
            JsonStream(large, json_block()).read(large),
            "zstd",
        ),
    ]
    server = ServerProcess([sys.executable, "-m", "benchmarks.sink_server"], dict(os.environ))
    rows = []
    try:
        for label, payload, compression in cases:
            raw, stored = _pair(server.url, payload, compression)
            raw(), stored()  # warm up
            results = paired(
                [("client", raw), ("storage", stored)], settings.seconds, settings.rounds
            )
            # Overhead: how much longer a storage operation takes than the client's.
            rows.append(
                Row(label, results["client"], results["storage"], 0.05, higher_is_better=False)
            )
    finally:
        server.stop()
    print_table(
        "Storage save+open over the raw client put+get",
        "operations per second (one operation = save then open+read, or put then get+read)",
        ("raw client", "storage"),
        rows,
        [
            "backend: benchmarks.sink_server, our server with the memory backend (one key "
            "per side, overwritten)",
            "ratio: raw client ops/s over storage ops/s, minus 1 = the storage's overhead",
            f"{settings.rounds} rounds of >= {settings.seconds:g} s per side, the two sides "
            "taking turns operation by operation (benchmarks.support.paired)",
        ],
    )


def own_work(settings: Settings) -> None:
    """The storage's own CPU time per operation, where sockets and a second process
    cannot blur it: both sides on the client's in-process memory store, timed by
    ``time.process_time`` in interleaved rounds (a reference; the goal is the table)."""
    import statistics
    import time

    operations = 200 if settings.quick else 2000
    print(
        "\nreference, no goal: CPU time per save+open in one process (memory:// store, no sockets)"
    )
    for label, payload, compression in (
        ("1 KiB random, uncompressed", os.urandom(1024), "none"),
        ("1 KiB JSON lines, zstd", json_lines(1024, seed=5), "zstd"),
    ):
        raw, stored = _pair("memory://storage-bench", payload, compression)
        raw(), stored()

        def cpu(operation: Callable[[], None]) -> float:
            started = time.process_time()
            for _ in range(operations):
                operation()
            return (time.process_time() - started) / operations * 1e6

        results = interleaved(
            [("raw", lambda raw=raw: cpu(raw)), ("storage", lambda stored=stored: cpu(stored))],
            max(settings.rounds, 5) * 2,
        )
        client_us = statistics.median(results["raw"])
        storage_us = statistics.median(results["storage"])
        print(
            f"- {label}: raw client {client_us:.1f} us, storage {storage_us:.1f} us, "
            f"the storage's own work {storage_us - client_us:.1f} us per operation"
        )


def main(argv: list[str] | None = None) -> int:
    settings = settings_from_argv(argv, __doc__.splitlines()[0])
    configure_django()
    print(f"\n# storage_bench on {machine()}")
    print(DATA_NOTE)
    run(settings)
    own_work(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
