"""An objectstore-compatible server: the HTTP v1 protocol over a storage engine.

Build one with :func:`create_app`; serve it over HTTP with
``python -m django_objectstore.server run`` (see :mod:`django_objectstore.server.hosting`)
or call ``App.handle`` in process. No Django imports here.

The layers, each importing only those below it: ``hosting/`` (ASGI adapter, runner,
CLI, configuration loading; needs the ``server`` extra) over ``app.py`` (:class:`App`,
:func:`create_app`) over ``protocol/`` (routing, the endpoints, header and body codecs;
with ``auth/`` for tokens and pre-signed URLs) over ``engine.py`` (expiration rules)
over ``backends/`` (memory, tiered, each with its multipart staging). ``config``,
``clock``, ``messages`` and ``errors`` sit at the bottom, used by all.
"""

from __future__ import annotations

from django_objectstore.server.app import App, create_app
from django_objectstore.server.clock import Clock, OffsetClock, SystemClock
from django_objectstore.server.config import AuthConfig, KeyConfig, ServerConfig, StorageConfig
from django_objectstore.server.messages import BytesBody, Headers, Request, Response

__all__ = [
    "App",
    "AuthConfig",
    "BytesBody",
    "Clock",
    "Headers",
    "KeyConfig",
    "OffsetClock",
    "Request",
    "Response",
    "ServerConfig",
    "StorageConfig",
    "SystemClock",
    "create_app",
]
