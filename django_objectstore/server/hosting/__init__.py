"""Serving the protocol core over HTTP: the ASGI adapter, the runner, the CLI and config.

``asgi`` adapts :class:`~django_objectstore.server.App` to ASGI; ``runner`` serves it with
uvicorn (:class:`ServerThread`, :func:`serve`); ``workers`` runs several server processes
on one port; ``settings_loader`` and ``envmap`` read the configuration from ``OS__*``
variables and YAML; ``cli`` is ``python -m django_objectstore.server``.

Needs the ``server`` extra (uvicorn with httptools; PyYAML for a config file), which the
storage, the client and the in-process ``embedded:`` and ``memory://`` stores do not:
importing this package without it raises an ``ImportError`` that names the fix.
"""

from __future__ import annotations

SERVER_EXTRA = 'pip install "django-objectstore[server]"'


def _require_server_extra() -> None:
    try:
        import httptools  # noqa: F401
        import uvicorn  # noqa: F401
    except ImportError as error:
        raise ImportError(
            f"the objectstore HTTP server needs uvicorn and httptools ({error}): {SERVER_EXTRA}",
            name=error.name,
        ) from error


_require_server_extra()

from django_objectstore.server.hosting.runner import ServerThread, serve  # noqa: E402
from django_objectstore.server.hosting.settings_loader import (  # noqa: E402
    ConfigError,
    load_config,
    parse_http_addr,
)

__all__ = ["SERVER_EXTRA", "ConfigError", "ServerThread", "load_config", "parse_http_addr", "serve"]
