"""Fixtures shared by the server tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.server.harness import BACKENDS, Harness, make_backend


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Harness:
    """An in-process server over each backend (see :class:`~tests.server.harness.Harness`)."""
    return Harness(backend=make_backend(request.param, tmp_path))
