"""Transitional alias of :mod:`django_objectstore.server.hosting` for the config loader.

The loader lives in ``server/hosting/settings_loader.py``; import :func:`load_config`,
:class:`ConfigError` and :func:`parse_http_addr` from
:mod:`django_objectstore.server.hosting`. This module goes once no caller uses the old
path.
"""

from __future__ import annotations

from django_objectstore.server.hosting import ConfigError, load_config, parse_http_addr

__all__ = ["ConfigError", "load_config", "parse_http_addr"]
