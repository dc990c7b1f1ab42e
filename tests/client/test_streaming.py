"""Large objects stream up and down with flat memory (this process's RSS is sampled)."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from django_objectstore.client import Client, Usecase
from django_objectstore.pytest_plugin import ObjectstoreServer

GIB = 1024 * 1024 * 1024
BLOCK = os.urandom(1024 * 1024)
RSS_LIMIT = 64 * 1024 * 1024


def rss() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


class Sampler:
    def __init__(self) -> None:
        self.baseline = rss()
        self.peak = self.baseline

    def sample(self) -> None:
        self.peak = max(self.peak, rss())

    @property
    def growth(self) -> int:
        return self.peak - self.baseline


def generate(size: int, sampler: Sampler) -> Iterator[bytes]:
    for offset in range(0, size, len(BLOCK)):
        if offset % (16 * len(BLOCK)) == 0:
            sampler.sample()
        # A different first byte per block, so no two blocks are equal.
        yield (offset // len(BLOCK) % 256).to_bytes(1, "big") + BLOCK[1:]


@pytest.mark.slow
@pytest.mark.parametrize(("size", "compression"), [(GIB, "zstd"), (GIB // 4, "none")])
def test_large_object_streams_with_flat_memory(
    objectstore_server: ObjectstoreServer,
    objectstore_usecase: str,
    size: int,
    compression: str,
) -> None:
    session = Client(str(objectstore_server)).session(Usecase(objectstore_usecase), org=1)
    sampler = Sampler()
    key = session.put(generate(size, sampler), key="big", compression=compression)  # type: ignore[arg-type]
    result = session.get(key)
    assert result is not None
    total = 0
    blocks = 0
    with result:
        while chunk := result.payload.read(len(BLOCK)):
            total += len(chunk)
            blocks += 1
            if blocks % 16 == 0:
                sampler.sample()
    sampler.sample()
    assert total == size
    print(f"RSS growth {sampler.growth / 2**20:.1f} MiB")
    assert sampler.growth < RSS_LIMIT, f"RSS grew by {sampler.growth / 2**20:.1f} MiB"
    session.delete(key)
