"""Opening a missing object: ``FileNotFoundError`` and nothing left behind to clean up.

Python 3.13 reports exceptions raised while an ``io`` object is finalized (3.11 drops
them), so a half-made stream whose ``close()`` fails shows up there as an unraisable
exception. Run these with ``-W error::pytest.PytestUnraisableExceptionWarning`` to see it
as a failure on any version that reports it.
"""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from django_objectstore.client import GetResponse, Metadata
from django_objectstore.storage import ObjectstoreStorage
from django_objectstore.storage.files import ObjectStream


@pytest.fixture
def unraisable(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """What ``sys.unraisablehook`` receives during the test (collected before returning)."""
    seen: list[Any] = []
    monkeypatch.setattr(sys, "unraisablehook", seen.append)
    yield seen
    gc.collect()


def _missing() -> GetResponse:
    raise FileNotFoundError("no object")


def _size_of(metadata: Metadata) -> int:
    return 0


def test_close_of_a_stream_whose_fetch_failed_raises_nothing() -> None:
    stream = ObjectStream.__new__(ObjectStream)
    with pytest.raises(FileNotFoundError):
        stream.__init__(_missing, _size_of, "_/missing")  # type: ignore[misc]
    stream.close()
    assert stream.closed


def test_opening_a_missing_object_leaves_no_unraisable_exception(
    storage: ObjectstoreStorage, prefix: str, unraisable: list[Any]
) -> None:
    with pytest.raises(FileNotFoundError):
        storage.open(f"{prefix}/missing")
    gc.collect()
    assert [hook.exc_value for hook in unraisable] == []


def test_a_stream_whose_fetch_failed_is_finalized_quietly(unraisable: list[Any]) -> None:
    with pytest.raises(FileNotFoundError):
        ObjectStream(_missing, _size_of, "_/missing")
    gc.collect()
    assert [hook.exc_value for hook in unraisable] == []
