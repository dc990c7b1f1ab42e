"""Serving the protocol core over HTTP: the ASGI adapter, the runner, the CLI and config."""

from __future__ import annotations

from django_objectstore.server.runner import ServerThread, serve
from django_objectstore.server.settings_loader import ConfigError, load_config, parse_http_addr

__all__ = ["ConfigError", "ServerThread", "load_config", "parse_http_addr", "serve"]
