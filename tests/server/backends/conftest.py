"""Fixtures of the backend tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def tmpfs() -> Iterator[Path]:
    """A freshly mounted 5 MiB tmpfs; skips when it cannot be mounted."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip("mounting a 5 MiB tmpfs needs root; the injected-ENOSPC tests cover this")
    if shutil.which("mount") is None:
        pytest.skip("no mount command to create a 5 MiB tmpfs")
    directory = Path(tempfile.mkdtemp(prefix="objectstore-tmpfs-"))
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=5m", "tmpfs", str(directory)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        directory.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.strip()}")
    try:
        yield directory
    finally:
        subprocess.run(["umount", str(directory)], check=False)
        directory.rmdir()
