"""The proxy download view against a direct client get, interleaved.

One server process (``benchmarks.sink_server``) serves both sides. The view is called
as a WSGI server would call it: ``download(request, name)`` with a request from
Django's ``RequestFactory``, then the streamed response iterated to the end, counting
bytes (nothing is kept). The direct side is ``session.get(key)`` on the same server,
its payload read to the end in 1 MiB reads. One operation = one whole object downloaded.

Cases:

- a random object stored uncompressed (one object in the memory backend, written once):
  the view relays the stored bytes;
- JSON lines stored with zstd (the sink's prepared frame, never stored), for a browser
  that accepts zstd: the view passes the compressed bytes through, against a direct get
  with ``decompress=False``;
- the same object for a browser without zstd: the view decompresses, against a direct
  get that decompresses.

Goal: the view >= 0.9x the direct get's operations per second.

``python -m benchmarks.view_bench [--quick]``
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable

from benchmarks.support import (
    DATA_NOTE,
    MIB,
    Row,
    Settings,
    configure_django,
    interleaved,
    machine,
    paired,
    print_table,
    settings_from_argv,
)

SCOPE = "org=1"
VIEW_MIB = 64
QUICK_VIEW_MIB = 4
DIRECT_READ = 1024 * 1024
CPU_DOWNLOADS = 3
"""The direct side streams in reads of this size: the fastest way we found to read an
object with the client (``payload.read()`` in one piece is slower: it builds one
64 MiB ``bytes``, and would flatter the view)."""


def _drain(chunks: object) -> int:
    total = 0
    for chunk in chunks:  # type: ignore[attr-defined]
        total += len(chunk)
    return total


def _cpu(operation: Callable[[], None]) -> float:
    """Milliseconds of this process's CPU time per ``operation``."""
    started = time.process_time()
    for _ in range(CPU_DOWNLOADS):
        operation()
    return (time.process_time() - started) / CPU_DOWNLOADS * 1000


def _pair(
    url: str, key: str, accept: str | None, decompress: bool
) -> tuple[Callable[[], None], Callable[[], None]]:
    from django.test import RequestFactory

    from django_objectstore.client import Client, Usecase
    from django_objectstore.scope import objectstore_scope
    from django_objectstore.views import download

    session = Client(url).session(Usecase("bench"), org=1)
    headers = {"HTTP_ACCEPT_ENCODING": accept} if accept else {}
    request_factory = RequestFactory()
    name = f"{SCOPE}/{key}"

    def direct() -> None:
        result = session.get(key, decompress=decompress)
        assert result is not None
        total = 0
        with result:
            while chunk := result.payload.read(DIRECT_READ):
                total += len(chunk)
        assert total

    def view() -> None:
        request = request_factory.get(f"/files/{name}", **headers)
        with objectstore_scope(org=1):
            response = download(request, name)
            assert response.status_code == 200, response.status_code
            try:
                assert _drain(response)
            finally:
                response.close()

    return direct, view


def run(settings: Settings) -> None:
    from django.test import override_settings

    from benchmarks.server_bench import ServerProcess
    from django_objectstore.client import Client, Usecase

    mib = QUICK_VIEW_MIB if settings.quick else VIEW_MIB
    size = mib * MIB
    server = ServerProcess(
        [sys.executable, "-m", "benchmarks.sink_server", "--download-mib", str(mib)],
        dict(os.environ),
    )
    rows = []
    cpu_notes: list[str] = []
    try:
        session = Client(server.url).session(Usecase("bench", compression="none"), org=1)
        session.put(os.urandom(size), key="random", content_type="application/octet-stream")
        storages = {
            "default": {
                "BACKEND": "django_objectstore.storage.ObjectstoreStorage",
                "OPTIONS": {"base_url": server.url, "usecase": "bench"},
            },
            "staticfiles": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
        }
        cases = [
            (f"{mib} MiB random, stored uncompressed", "random", None, True),
            (
                f"{mib} MiB JSON lines, zstd passed through",
                "sink-json",
                "zstd",
                False,
            ),
            (f"{mib} MiB JSON lines, zstd decompressed", "sink-json", None, True),
        ]
        with override_settings(STORAGES=storages, DEBUG=False):
            for label, key, accept, decompress in cases:
                direct, view = _pair(server.url, key, accept, decompress)
                direct(), view()  # warm up
                results = paired(
                    [("view", view), ("direct", direct)], settings.seconds, settings.rounds
                )
                rows.append(Row(label, results["view"], results["direct"], 0.9))
                cpu = interleaved(
                    [("view", lambda view=view: _cpu(view)), ("direct", lambda d=direct: _cpu(d))],
                    settings.rounds,
                )
                cpu_notes.append(
                    f"- {label}: view {statistics.median(cpu['view']):.1f} ms, "
                    f"direct get {statistics.median(cpu['direct']):.1f} ms"
                )
    finally:
        server.stop()
    print_table(
        "Proxy download view against a direct client get",
        "downloads per second (one download = the whole object read or streamed to the end)",
        ("view", "direct get"),
        rows,
        [
            "backend: benchmarks.sink_server (the random object is the one object its memory "
            "backend holds; the zstd object is a prepared frame, never stored)",
            "view: download(request, name) iterated as a WSGI server would; direct get: "
            "session.get(key), payload read to the end in 1 MiB reads (decompress=False for "
            "the pass-through case; one read() of the whole object is slower)",
            "ratio: view downloads/s over direct get downloads/s",
            f"{settings.rounds} rounds of >= {settings.seconds:g} s per side, the two sides "
            "taking turns download by download (benchmarks.support.paired)",
        ],
    )
    print(
        "\nreference, no goal: CPU time of this process per download "
        f"(median of {settings.rounds} interleaved rounds of {CPU_DOWNLOADS} downloads)"
    )
    print("\n".join(cpu_notes))


def main(argv: list[str] | None = None) -> int:
    settings = settings_from_argv(argv, __doc__.splitlines()[0])
    configure_django()
    print(f"\n# view_bench on {machine()}")
    print(DATA_NOTE)
    run(settings)
    return 0


if __name__ == "__main__":
    sys.exit(main())
