"""``python -m django_objectstore.server`` as a child process, for tests that need one."""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
START_DEADLINE = 60.0  # spawned workers import the server first; the machine may be busy
STOP_DEADLINE = 20.0


def server_environ(data: Path, **extra: str) -> dict[str, str]:
    """The test process's environment, with a fresh store and this checkout importable."""
    environ = {k: v for k, v in os.environ.items() if not k.upper().startswith("OS__")}
    pythonpath = [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    return {
        **environ,
        "PYTHONPATH": os.pathsep.join(pythonpath),
        "OS__HTTP_ADDR": "127.0.0.1:0",
        "OS__AUTH__ENFORCE": "false",
        "OS__STORAGE__PATH": str(data),
        **extra,
    }


@contextmanager
def running_server(
    args: Sequence[str], environ: Mapping[str, str], stderr: Path
) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Start the server with ``args``; yields the process and its URL once it listens.

    Its stderr goes to the file ``stderr`` (read it after the process ends). The process
    is killed on exit if a test left it running.
    """
    with stderr.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-W", "error", "-m", "django_objectstore.server", *args],
            env=dict(environ),
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + START_DEADLINE
        ready, _, _ = select.select([proc.stdout], [], [], START_DEADLINE)
        assert ready and time.monotonic() < deadline, "the server printed nothing in time"
        line = proc.stdout.readline()
        match = re.fullmatch(r"objectstore listening on (http://127\.0\.0\.1:\d+)\n", line)
        assert match, f"{line!r}; stderr: {stderr.read_text()}"
        yield proc, match[1]
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait(STOP_DEADLINE)
        proc.stdout.close() if proc.stdout else None
