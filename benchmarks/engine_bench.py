"""The embedded engine: ``ObjectstoreStorage`` 1 KiB save+open against ``FileSystemStorage``.

One operation = ``storage.save(name, ContentFile)`` then ``storage.open(name).read()``
of a 1 KiB JSON-lines payload, overwriting one name, in this process (no HTTP). Six
contenders, measured in the same interleaved rounds:

- ``ObjectstoreStorage`` on an embedded store (the ``filesystem`` storage type: the
  tiered engine), ``fsync`` off and on, with its default options (zstd);
- Django's ``FileSystemStorage`` (``allow_overwrite``), plain and with an ``os.fsync``
  of every saved file, the durable baseline;
- the previous one-file-per-object engine (``--old-engine COMMIT``, loaded from git;
  skipped when git or the commit is not available), ``fsync`` off and on.

Goals: >= 0.5x ``FileSystemStorage`` with ``fsync`` off, >= 0.8x
``FileSystemStorage`` + ``fsync`` with ``fsync`` on.

``python -m benchmarks.engine_bench [--quick] [--old-engine a5d1c17]``
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from benchmarks.support import (
    Row,
    Settings,
    configure_django,
    interleaved,
    json_lines,
    machine,
    print_table,
    rate,
)

ROOT = Path(__file__).resolve().parents[1]
OLD_ENGINE = "a5d1c17"
"""The last commit with the one-file-per-object engine."""
_OLD_PACKAGE = "django_objectstore/server/backends/filesystem"


def load_old_engine(commit: str, into: Path) -> type[Any] | None:
    """The old ``FilesystemBackend`` class from ``commit``, or ``None`` if git cannot say."""
    try:
        names = subprocess.run(
            ["git", "-C", str(ROOT), "ls-tree", "--name-only", f"{commit}:{_OLD_PACKAGE}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        return None
    package = into / "filesystem"
    package.mkdir(parents=True)
    for name in names:
        source = subprocess.run(
            ["git", "-C", str(ROOT), "show", f"{commit}:{_OLD_PACKAGE}/{name}"],
            capture_output=True,
            check=True,
        ).stdout
        (package / name).write_bytes(source)
    import django_objectstore.server.backends as backends

    backends.__path__.append(str(into))  # the old package imports itself by its old name
    from django_objectstore.server.backends.filesystem.backend import (  # type: ignore[import-not-found]
        FilesystemBackend,
    )

    return FilesystemBackend  # type: ignore[no-any-return]


def objectstore_storage(root: str, backend: Any) -> Any:
    from django_objectstore.client.transports.inprocess import InProcessTransport
    from django_objectstore.server import AuthConfig, ServerConfig, create_app
    from django_objectstore.storage import ObjectstoreStorage

    url = f"embedded://{root}"
    app = create_app(ServerConfig(auth=AuthConfig(enforce=False)), backend=backend)
    return ObjectstoreStorage(
        base_url=url,
        usecase="bench",
        key_mode="name",
        allow_overwrite=True,
        client_options={"transport": InProcessTransport(url, app)},
    )


def filesystem_storage(root: str, *, fsync: bool) -> Any:
    from django.core.files.storage import FileSystemStorage

    class SyncedFileSystemStorage(FileSystemStorage):
        def _save(self, name: str, content: Any) -> str:
            saved: str = super()._save(name, content)
            fd = os.open(self.path(saved), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
            return saved

    kind = SyncedFileSystemStorage if fsync else FileSystemStorage
    return kind(location=root, allow_overwrite=True)


def save_and_open(storage: Any, payload: bytes) -> Callable[[], None]:
    from django.core.files.base import ContentFile

    def operation() -> None:
        name = storage.save("org=1/report.jsonl", ContentFile(payload))
        with storage.open(name) as handle:
            assert len(handle.read()) == len(payload)

    return operation


def run(settings: Settings, old_commit: str | None) -> None:
    from django_objectstore.server.backends.tiered import TieredBackend

    payload = json_lines(1024, seed=5)
    with tempfile.TemporaryDirectory(prefix="engine-bench-") as scratch:
        base = Path(scratch)
        old = load_old_engine(old_commit, base / "old-package") if old_commit else None
        contenders: dict[str, Callable[[], None]] = {}
        for fsync in (False, True):
            suffix = "fsync" if fsync else "no fsync"
            root = str(base / f"tiered-{fsync}")
            contenders[f"tiered, {suffix}"] = save_and_open(
                objectstore_storage(root, TieredBackend(root, fsync=fsync)), payload
            )
            contenders[f"FileSystemStorage, {suffix}"] = save_and_open(
                filesystem_storage(str(base / f"django-{fsync}"), fsync=fsync), payload
            )
            if old is not None:
                root = str(base / f"old-{fsync}")
                contenders[f"old engine, {suffix}"] = save_and_open(
                    objectstore_storage(root, old(root, fsync=fsync)), payload
                )
        for operation in contenders.values():
            operation()  # warm up
        results = interleaved(
            [(name, lambda op=op: rate(op, settings.seconds)) for name, op in contenders.items()],
            settings.rounds,
        )
    rows = [
        Row(
            "fsync off: tiered / FileSystemStorage",
            results["tiered, no fsync"],
            results["FileSystemStorage, no fsync"],
            0.5,
        ),
        Row(
            "fsync on: tiered / FileSystemStorage + os.fsync",
            results["tiered, fsync"],
            results["FileSystemStorage, fsync"],
            0.8,
        ),
    ]
    if old is not None:
        rows += [
            Row(
                "fsync off: tiered / old engine",
                results["tiered, no fsync"],
                results["old engine, no fsync"],
                1.0,
            ),
            Row(
                "fsync on: tiered / old engine",
                results["tiered, fsync"],
                results["old engine, fsync"],
                1.0,
            ),
        ]
    print_table(
        "Embedded ObjectstoreStorage 1 KiB save+open",
        "operations per second (one operation = save, then open and read)",
        ("ours", "baseline"),
        rows,
        [
            "payload: 1 KiB JSON lines; ObjectstoreStorage with its defaults (zstd), "
            "in process over the embedded engine",
            f"old engine: the one-file-per-object engine of commit {old_commit}"
            if old is not None
            else "old engine: not measured (no git checkout)",
            f"{settings.rounds} interleaved rounds of {settings.seconds:g} s per contender",
        ],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="short rounds: proves it runs")
    parser.add_argument(
        "--old-engine",
        default=OLD_ENGINE,
        help="git commit of the previous engine to compare with ('' to skip)",
    )
    args, _ = parser.parse_known_args(argv)
    settings = Settings.quick_mode() if args.quick else Settings()
    configure_django()
    print(f"\n# engine_bench on {machine()}")
    run(settings, args.old_engine or None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
