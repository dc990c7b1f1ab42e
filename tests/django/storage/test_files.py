"""ObjectstoreFile: lazy, streaming, seekable, read-only."""

from __future__ import annotations

import hashlib
import io
import os
import tracemalloc
from pathlib import Path

import pytest
from django.core.files.base import ContentFile, File

from django_objectstore.storage import ObjectstoreStorage
from django_objectstore.storage.files import ObjectstoreFile, ObjectStream

DATA = bytes(range(256)) * 400  # 102400 bytes


@pytest.fixture
def saved(storage: ObjectstoreStorage, prefix: str) -> str:
    return storage.save(f"{prefix}/data.bin", ContentFile(DATA))


def test_open_returns_a_read_only_binary_django_file(
    storage: ObjectstoreStorage, saved: str
) -> None:
    f = storage.open(saved)
    assert isinstance(f, ObjectstoreFile)
    assert f.mode == "rb" and f.name == saved
    assert f.readable() and f.seekable() and not f.writable()
    assert f.size == len(DATA) == len(f)
    assert f.metadata.filename == "data.bin"
    f.close()
    assert f.closed


@pytest.mark.parametrize("mode", ["wb", "w", "r", "ab", "rb+"])
def test_other_modes_raise_value_error(storage: ObjectstoreStorage, saved: str, mode: str) -> None:
    with pytest.raises(ValueError, match="read-only"):
        storage.open(saved, mode)


def test_write_raises_value_error(storage: ObjectstoreStorage, saved: str) -> None:
    with storage.open(saved) as f, pytest.raises(ValueError, match="read-only"):
        f.write(b"x")


def test_read_n_returns_exactly_n_until_the_end(storage: ObjectstoreStorage, saved: str) -> None:
    with storage.open(saved) as f:
        assert f.read(10) == DATA[:10]
        assert f.read(100_000) == DATA[10:100_010]
        assert f.read(100_000) == DATA[100_010:]
        assert f.read(1) == b""


def test_chunks_and_iteration_stream_the_whole_object(
    storage: ObjectstoreStorage, saved: str
) -> None:
    with storage.open(saved) as f:
        chunks = list(f.chunks(chunk_size=10_000))
        assert [len(c) for c in chunks[:-1]] == [10_000] * 10
        assert b"".join(chunks) == DATA
        assert b"".join(f) == DATA  # iteration rewinds like File does


def test_forward_seek_skips_without_a_new_request(storage: ObjectstoreStorage, saved: str) -> None:
    with storage.open(saved) as f:
        assert f.seek(50_000) == 50_000
        assert f.tell() == 50_000
        assert f.read(5) == DATA[50_000:50_005]
        f.seek(10, os.SEEK_CUR)
        assert f.read(5) == DATA[50_015:50_020]
        assert isinstance(f.file, ObjectStream) and f.file.reopen_count == 0


def test_backward_seek_reopens_the_stream(storage: ObjectstoreStorage, saved: str) -> None:
    with storage.open(saved) as f:
        f.read(60_000)
        f.seek(100)
        assert f.tell() == 100
        assert f.read(10) == DATA[100:110]
        assert isinstance(f.file, ObjectStream) and f.file.reopen_count == 1


def test_seek_from_end_uses_the_size(storage: ObjectstoreStorage, saved: str) -> None:
    with storage.open(saved) as f:
        assert f.seek(-4, os.SEEK_END) == len(DATA) - 4
        assert f.read() == DATA[-4:]


def test_seek_past_the_end_reads_nothing(storage: ObjectstoreStorage, saved: str) -> None:
    with storage.open(saved) as f:
        assert f.seek(len(DATA) + 50) == len(DATA) + 50
        assert f.read(10) == b""


def test_negative_seek_is_a_value_error(storage: ObjectstoreStorage, saved: str) -> None:
    with storage.open(saved) as f, pytest.raises(ValueError):
        f.seek(-1)


def test_closed_file_can_be_reopened(storage: ObjectstoreStorage, saved: str) -> None:
    f = storage.open(saved)
    f.read(5)
    f.close()
    with pytest.raises(ValueError):
        f.read(1)
    f.open()
    assert f.read(5) == DATA[:5]
    f.open("rb")
    assert f.tell() == 0
    with pytest.raises(ValueError):
        f.open("wb")
    f.close()


def test_object_deleted_before_a_backward_seek_is_file_not_found(
    storage: ObjectstoreStorage, saved: str
) -> None:
    with storage.open(saved) as f:
        f.read(10)
        storage.delete(saved)
        with pytest.raises(FileNotFoundError):
            f.seek(0)


def test_objectstore_file_can_be_saved_into_another_storage(
    storage: ObjectstoreStorage, saved: str, prefix: str
) -> None:
    with storage.open(saved) as f:
        copy = storage.save(f"{prefix}/copy.bin", f)
    assert storage.open(copy).read() == DATA
    assert storage.metadata(copy).filename == "data.bin"


@pytest.mark.slow
def test_large_object_streams_with_bounded_memory(
    storage: ObjectstoreStorage, prefix: str, tmp_path: Path
) -> None:
    block = os.urandom(1024 * 1024)
    size = 24 * len(block)
    source = tmp_path / "large.bin"
    expected = hashlib.sha256()
    with source.open("wb") as out:
        for _ in range(24):
            out.write(block)
            expected.update(block)
    with source.open("rb") as raw:
        name = storage.save(f"{prefix}/large.bin", File(raw, name="large.bin"))
    assert storage.size(name) == size

    digest = hashlib.sha256()
    tracemalloc.start()
    try:
        with storage.open(name) as f:
            for chunk in f.chunks(chunk_size=64 * 1024):
                digest.update(chunk)
            _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert digest.hexdigest() == expected.hexdigest()
    assert peak < 8 * 1024 * 1024, f"peak {peak} bytes while streaming {size} bytes"


def test_save_streams_from_a_seekable_file_without_reading_it_whole(
    storage: ObjectstoreStorage, prefix: str
) -> None:
    class Recording(io.BytesIO):
        largest = 0

        def read(self, n: int | None = -1, /) -> bytes:
            assert n is not None and n >= 0, "the whole file was requested"
            data = super().read(n)
            Recording.largest = max(Recording.largest, len(data))
            return data

    data = b"q" * 3_000_000
    name = storage.save(f"{prefix}/r.bin", File(Recording(data), name="r.bin"))
    assert storage.size(name) == len(data)
    assert 0 < Recording.largest <= 1024 * 1024
