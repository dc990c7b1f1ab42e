"""An objectstore-compatible server: the HTTP v1 protocol over a storage engine.

Build one with :func:`create_app`; serve it over HTTP with
``python -m django_objectstore.server run`` (see :mod:`django_objectstore.server.hosting`)
or call ``App.handle`` in process. No Django imports here.
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
