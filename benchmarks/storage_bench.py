"""Storage overhead: ObjectstoreStorage save+open vs the raw client on the same server.

One server process (memory backend, so the numbers measure our code, not the disk)
serves both; each round saves a payload and reads it back whole:

- ``client``: ``session.put(bytes, ...)`` with the filename, content type and size the
  storage records, then ``session.get(key).payload.read()``;
- ``storage``: ``storage.save(name, ContentFile)`` then ``storage.open(name).read()``
  through the same kind of client, plus what the storage adds (names, scope checks,
  filename and content type, recorded size);
- ``filesystem``: Django's ``FileSystemStorage`` on a temporary directory, for scale.

Rounds alternate between the contenders and the best of several rounds counts, which
keeps a busy machine's noise out of the ratio. Goal: storage overhead <= 10 %.

``python -m benchmarks.storage_bench [--seconds 2] [--large-mib 16]``
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from collections.abc import Callable

from benchmarks.support import start_server

MIB = 1024 * 1024


def _configure_django() -> None:
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


def _rate(round_trip: Callable[[], None], seconds: float) -> float:
    """Round trips per second over about ``seconds``."""
    done = 0
    started = time.perf_counter()
    deadline = started + seconds
    while time.perf_counter() < deadline:
        round_trip()
        done += 1
    return done / (time.perf_counter() - started)


def _measure(
    url: str, tmp: str, size: int, compression: str, seconds: float, rounds: int
) -> dict[str, float]:
    """Best round trips per second of the three contenders for one payload."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import FileSystemStorage

    from django_objectstore.client import Client
    from django_objectstore.storage import ObjectstoreStorage
    from django_objectstore.storage.files import SIZE_METADATA

    payload = os.urandom(size)
    client = Client(url)
    session = client.session("bench", org=1)
    storage = ObjectstoreStorage(base_url=url, usecase="bench", compression=compression)
    files = FileSystemStorage(location=tmp)

    def raw() -> None:
        # The same object the storage writes: its filename, content type and size.
        key = session.put(
            payload,
            compression=compression,  # type: ignore[arg-type]
            content_type="application/octet-stream",
            filename="report.bin",
            metadata={SIZE_METADATA: str(size)},
        )
        result = session.get(key)
        assert result is not None and len(result.payload.read()) == size

    def stored() -> None:
        name = storage.save("org=1/report.bin", ContentFile(payload))
        with storage.open(name) as handle:
            assert len(handle.read()) == size

    def local() -> None:
        name = files.save("report.bin", ContentFile(payload))
        with files.open(name) as handle:
            assert len(handle.read()) == size
        files.delete(name)

    best = {"client": 0.0, "storage": 0.0, "filesystem": 0.0}
    for _ in range(rounds):
        for name, fn in (("client", raw), ("storage", stored), ("filesystem", local)):
            best[name] = max(best[name], _rate(fn, seconds / rounds))
    client.close()
    return best


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--large-mib", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    args, _ = parser.parse_known_args(argv)
    _configure_django()

    cases = (
        ("1 KiB, none", 1024, "none"),
        ("1 KiB, zstd", 1024, "zstd"),
        (f"{args.large_mib} MiB, none", args.large_mib * MIB, "none"),
    )
    with tempfile.TemporaryDirectory() as tmp:
        process, url = start_server(tmp, "memory")
        try:
            results = {
                label: _measure(url, tmp, size, compression, args.seconds, args.rounds)
                for label, size, compression in cases
            }
        finally:
            process.terminate()
            process.wait()

    print("\nStorage save+open vs raw client put+get (same server, memory backend)")
    print(
        f"{'payload':<16}{'client/s':>11}{'storage/s':>11}{'overhead':>10}{'FileSystemStorage/s':>21}"
    )
    for label, best in results.items():
        overhead = best["client"] / best["storage"] - 1 if best["storage"] else float("inf")
        print(
            f"{label:<16}{best['client']:>11.1f}{best['storage']:>11.1f}"
            f"{overhead:>9.1%}{best['filesystem']:>21.1f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
