"""Operation metrics: latency, sizes, compression ratio and throughput per operation.

Names follow the official client so dashboards keep working: ``storage.<op>.latency``
(seconds), ``storage.<op>.size`` (bytes; tag ``compression=none`` for the source size,
``compression=zstd`` for the encoded size), ``storage.<op>.compression_ratio``
(encoded / source) and ``storage.<op>.throughput`` (bytes per second). Every metric is
tagged with ``usecase``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Protocol, runtime_checkable

Tags = Mapping[str, str]


@runtime_checkable
class MetricsBackend(Protocol):
    def increment(self, name: str, value: int | float = 1, tags: Tags | None = None) -> None: ...

    def gauge(self, name: str, value: int | float, tags: Tags | None = None) -> None: ...

    def distribution(
        self, name: str, value: int | float, tags: Tags | None = None, unit: str | None = None
    ) -> None: ...


class NoOpMetricsBackend:
    """Records nothing (the default)."""

    def increment(self, name: str, value: int | float = 1, tags: Tags | None = None) -> None:
        return None

    def gauge(self, name: str, value: int | float, tags: Tags | None = None) -> None:
        return None

    def distribution(
        self, name: str, value: int | float, tags: Tags | None = None, unit: str | None = None
    ) -> None:
        return None


class OperationMetrics:
    """Collects one operation's numbers; :meth:`finish` emits them (also after errors)."""

    __slots__ = ("backend", "compressed", "compression", "op", "source", "start", "usecase")

    def __init__(self, backend: MetricsBackend, op: str, usecase: str) -> None:
        self.backend = backend
        self.op = op
        self.usecase = usecase
        self.source: int | None = None
        self.compressed: int | None = None
        self.compression = "none"
        self.start = time.monotonic()

    def finish(self) -> None:
        elapsed = time.monotonic() - self.start
        base = {"usecase": self.usecase}
        prefix = f"storage.{self.op}"
        emit = self.backend.distribution
        emit(f"{prefix}.latency", elapsed, base, "second")
        sizes: list[tuple[int, str]] = []
        if self.source is not None:
            sizes.append((self.source, "none"))
        if self.compressed is not None and self.compression != "none":
            sizes.append((self.compressed, self.compression))
        for size, compression in sizes:
            tags = {**base, "compression": compression}
            emit(f"{prefix}.size", size, tags, "byte")
            if elapsed > 0 and size:
                emit(f"{prefix}.throughput", size / elapsed, tags, None)
        if self.source and self.compressed is not None and self.compression != "none":
            emit(
                f"{prefix}.compression_ratio",
                self.compressed / self.source,
                {**base, "compression": self.compression},
                None,
            )
