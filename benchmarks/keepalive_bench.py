"""``objectstore_keepalive`` over many rows against the embedded (in-process) server.

For each row count: a setup process creates the objects (tiny payloads, written through
the client's batch API with the server clock set two days back, so that every keepalive
read really renews a deadline and writes metadata) and the rows (``bulk_create`` in a
temporary SQLite database); a fresh process then runs ``manage.py objectstore_keepalive``
and reports its wall time, the CPU time it used (all threads; on a busy machine the wall
time follows the load, the CPU time much less) and its peak RSS. Memory should stay flat
in the number of rows. Goal: 100,000 rows in less than 10 s.

``python -m benchmarks.keepalive_bench [--rows 10000 100000] [--scopes 100]``
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
POLICY = "tti:30d"
USECASE = "bench"


def configure(directory: Path) -> None:
    """The example site's settings on a temporary database and embedded store."""
    import django
    from django.conf import settings

    import testproject.settings as site

    values = {name: getattr(site, name) for name in dir(site) if name.isupper()}
    values["DATABASES"] = {
        "default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(directory / "db.sqlite3")}
    }
    values["STORAGES"] = {
        **site.STORAGES,
        "attachments": {
            "BACKEND": "django_objectstore.storage.ObjectstoreStorage",
            "OPTIONS": {
                "alias": "attachments",
                "base_url": f"embedded://{directory / 'store'}",
                "usecase": USECASE,
                "expiration_policy": POLICY,
            },
        },
    }
    values["INSTALLED_APPS"] = [
        app for app in site.INSTALLED_APPS if app != "django.contrib.staticfiles"
    ]
    settings.configure(**values)
    django.setup()


def setup(directory: Path, rows: int, scopes: int) -> None:
    configure(directory)
    from django.core.management import call_command

    from django_objectstore.client import Client, InProcessTransport, Put, Usecase, run_batch
    from django_objectstore.server import (
        AuthConfig,
        OffsetClock,
        ServerConfig,
        StorageConfig,
        create_app,
    )
    from django_objectstore.storage.names import join_name
    from django_objectstore.wire.expiration import parse_expiration
    from testproject.example.models import Attachment, Organization, Project

    call_command("migrate", verbosity=0)
    clock = OffsetClock()
    clock.advance(-timedelta(days=2))  # every read in the timed run renews a deadline
    config = ServerConfig(
        storage=StorageConfig(type="filesystem", path=str(directory / "store")),
        auth=AuthConfig(enforce=False),
        sweep_interval=timedelta(0),
    )
    url = f"embedded://{directory / 'store'}"
    client = Client(url, transport=InProcessTransport(url, create_app(config, clock=clock)))
    usecase = Usecase(USECASE, "none", parse_expiration(POLICY))
    organization = Organization.objects.create(name="bench")
    per_scope = rows // scopes
    for number in range(scopes):
        project = Project.objects.create(organization=organization, name=f"p{number}")
        session = client.session(usecase, org=organization.pk, project=project.pk)
        keys = [f"k{number}-{i}" for i in range(per_scope)]
        for result in run_batch(session, (Put(b"x", key=key) for key in keys)):
            if result.error is not None:
                raise result.error
        Attachment.objects.bulk_create(
            (Attachment(project=project, file=join_name(session.scopes, key)) for key in keys),
            batch_size=2000,
        )
    client.close()


def run(directory: Path) -> dict[str, Any]:
    from io import StringIO

    from django.core.management import call_command

    configure(directory)
    out = StringIO()
    before = resource.getrusage(resource.RUSAGE_SELF)
    started = time.perf_counter()
    call_command("objectstore_keepalive", stdout=out, stderr=sys.stderr)
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_SELF)
    cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
    return {
        "elapsed": elapsed,
        "cpu": cpu,
        "peak_mib": after.ru_maxrss / 1024,
        "summary": out.getvalue().strip(),
    }


def measure(rows: int, scopes: int) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with tempfile.TemporaryDirectory(prefix="keepalive-bench-") as tmp:
        started = time.perf_counter()
        command = [sys.executable, "-m", "benchmarks.keepalive_bench", "--dir", tmp]
        subprocess.run([*command, "--setup", str(rows), str(scopes)], check=True, env=env)
        setup_seconds = time.perf_counter() - started
        done = subprocess.run([*command, "--run"], check=True, env=env, capture_output=True)
        result: dict[str, Any] = json.loads(done.stdout)
        result["setup"] = setup_seconds
        result["rows"] = rows
        return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--scopes", type=int, default=100)
    parser.add_argument("--dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--setup", type=int, nargs=2, help=argparse.SUPPRESS)
    parser.add_argument("--run", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="1,000 rows: proves it runs")
    args, _ = parser.parse_known_args(argv)
    if args.quick:
        args.rows, args.scopes = [1000], 10
    if args.setup:
        setup(args.dir, *args.setup)
        return 0
    if args.run:
        print(json.dumps(run(args.dir)))
        return 0
    print("\n## Keepalive: objectstore_keepalive, embedded filesystem (goal: 100,000 rows < 10 s)")
    print("unit: seconds per run, rows per second, MiB")
    header = f"{'rows':>8} {'keepalive s':>12} {'cpu s':>6} {'rows/s':>9} {'peak RSS MiB':>13}"
    print(f"{header} {'setup s':>8}")
    for rows in args.rows:
        r = measure(rows, args.scopes)
        print(
            f"{r['rows']:>8} {r['elapsed']:>12.1f} {r['cpu']:>6.1f} "
            f"{r['rows'] / r['elapsed']:>9.0f} {r['peak_mib']:>13.1f} {r['setup']:>8.1f}   "
            f"{r['summary']}",
            flush=True,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
