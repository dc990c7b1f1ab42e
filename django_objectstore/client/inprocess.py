"""The in-process transport's former location, kept for imports written against it.

New code imports :class:`InProcessTransport` and :func:`embedded_path` from
:mod:`django_objectstore.client` (they live in :mod:`.transports.inprocess`).
"""

from __future__ import annotations

from django_objectstore.client.transports.inprocess import InProcessTransport, embedded_path

__all__ = ["InProcessTransport", "embedded_path"]
