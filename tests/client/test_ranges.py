"""``Session.get(key, byte_range=...)``: parts of the stored bytes, on every transport."""

from __future__ import annotations

import os

import pytest

from django_objectstore.client import RequestError, Session

DATA = os.urandom(100_000)


def read_range(session: Session, key: str, first: int, last: int | None) -> bytes:
    result = session.get(key, byte_range=(first, last))
    assert result is not None
    with result.payload as payload:
        return payload.read()


def test_a_range_returns_exactly_those_bytes(session: Session) -> None:
    key = session.put(DATA, compression="none")
    assert read_range(session, key, 10, 19) == DATA[10:20]
    assert read_range(session, key, 99_990, None) == DATA[99_990:]


def test_metadata_of_a_range_reports_the_whole_object_size(session: Session) -> None:
    key = session.put(DATA, compression="none")
    result = session.get(key, byte_range=(0, 0))
    assert result is not None
    result.payload.close()
    assert result.metadata.size == len(DATA)


def test_a_range_of_a_compressed_object_addresses_the_stored_bytes(session: Session) -> None:
    key = session.put(DATA, compression="zstd")
    whole = session.get(key, decompress=False)
    assert whole is not None
    stored = whole.payload.read()
    whole.payload.close()
    assert read_range(session, key, 5, 500) == stored[5:501]


def test_a_range_past_the_end_raises_416(session: Session) -> None:
    key = session.put(b"short", compression="none")
    with pytest.raises(RequestError) as raised:
        session.get(key, byte_range=(10, None))
    assert raised.value.status == 416


def test_a_range_of_a_missing_object_is_none(session: Session) -> None:
    assert session.get("missing", byte_range=(0, 10)) is None


@pytest.mark.parametrize("byte_range", [(-1, 5), (10, 5)])
def test_an_invalid_range_is_refused_before_any_request(
    session: Session, byte_range: tuple[int, int]
) -> None:
    with pytest.raises(ValueError, match="byte_range"):
        session.get("anything", byte_range=byte_range)
