"""A metrics backend named by dotted path in the shared client's settings."""

from __future__ import annotations

from collections.abc import Mapping


class Metrics:
    """Keeps the names of the metrics it receives."""

    def __init__(self) -> None:
        self.names: list[str] = []

    def increment(
        self, name: str, value: int | float = 1, tags: Mapping[str, str] | None = None
    ) -> None:
        self.names.append(name)

    def gauge(self, name: str, value: int | float, tags: Mapping[str, str] | None = None) -> None:
        self.names.append(name)

    def distribution(
        self,
        name: str,
        value: int | float,
        tags: Mapping[str, str] | None = None,
        unit: str | None = None,
    ) -> None:
        self.names.append(name)
