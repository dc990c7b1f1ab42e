"""A URLconf without the download view (for the W003 check test)."""

from __future__ import annotations

from typing import Any

urlpatterns: list[Any] = []
