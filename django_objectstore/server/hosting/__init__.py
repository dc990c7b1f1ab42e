"""Serving the protocol core over HTTP: the ASGI adapter, the runner, the CLI and config.

``asgi`` adapts :class:`~django_objectstore.server.App` to ASGI; ``runner`` serves it with
uvicorn (:class:`ServerThread`, :func:`serve`); ``settings_loader`` and ``envmap`` read
the configuration from ``OS__*`` variables and YAML; ``cli`` is
``python -m django_objectstore.server``. Needs the ``server`` extra (uvicorn, PyYAML),
which importing :mod:`django_objectstore.server` alone does not.
"""

from __future__ import annotations

from django_objectstore.server.hosting.runner import ServerThread, serve
from django_objectstore.server.hosting.settings_loader import (
    ConfigError,
    load_config,
    parse_http_addr,
)

__all__ = ["ConfigError", "ServerThread", "load_config", "parse_http_addr", "serve"]
