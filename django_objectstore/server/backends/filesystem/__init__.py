"""The durable backend: one file per object under a root directory, and its multipart staging.

``backend`` is the :class:`FilesystemBackend`; ``paths``, ``format``, ``fileops``,
``object_file`` and ``sweep`` are its parts; ``uploads`` and ``part_files`` stage
multipart uploads under ``<root>/.multipart``.
"""

from __future__ import annotations

from django_objectstore.server.backends.filesystem.backend import FilesystemBackend

__all__ = ["FilesystemBackend"]
