"""Transitional alias of :mod:`django_objectstore.server.hosting` for the HTTP runner.

The runner lives in ``server/hosting/runner.py``; import :class:`ServerThread` and
:func:`serve` from :mod:`django_objectstore.server.hosting`. This module goes once no
caller uses the old path.
"""

from __future__ import annotations

from django_objectstore.server.hosting import ServerThread, serve

__all__ = ["ServerThread", "serve"]
