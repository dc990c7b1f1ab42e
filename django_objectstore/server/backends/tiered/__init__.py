"""The durable backend, built like the real service's ``tiered`` backend on one machine.

``database`` is the high-volume tier (one SQLite database in WAL mode), ``revisions``
the long-term tier (immutable files), ``files`` the layer their bytes go through,
``uploads`` the multipart staging in the same database, and ``backend`` the
:class:`TieredBackend` over them.
"""

from __future__ import annotations

from django_objectstore.server.backends.tiered.backend import (
    INLINE_LIMIT,
    ListedObject,
    OldFormatError,
    TieredBackend,
)
from django_objectstore.server.backends.tiered.files import FileLayer

__all__ = ["INLINE_LIMIT", "FileLayer", "ListedObject", "OldFormatError", "TieredBackend"]
