"""Transports: how a request reaches a server.

:mod:`.base` is the interface the rest of the client speaks; :mod:`.http` sends over a
urllib3 connection pool (``http://``, ``https://``); :mod:`.inprocess` calls the
server's protocol core in this process (``embedded:``, ``memory://``).
"""

from __future__ import annotations

from django_objectstore.client.transports.base import RequestBody, Transport, TransportResponse
from django_objectstore.client.transports.http import HttpTransport
from django_objectstore.client.transports.inprocess import InProcessTransport, embedded_path

__all__ = [
    "HttpTransport",
    "InProcessTransport",
    "RequestBody",
    "Transport",
    "TransportResponse",
    "embedded_path",
]
