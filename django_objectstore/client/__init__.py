"""The objectstore client: ``Client``, ``Usecase``, ``Session`` and friends.

No Django imports: usable in any Python program. Imports run downwards:
``client`` -> ``session`` -> ``batch``, ``large_upload`` -> ``multipart`` -> ``channel``
(paths, auth, sending, errors, metrics) -> ``transports`` (HTTP, in process).
"""

from __future__ import annotations

from django_objectstore.client.auth import Permission, SecretKey, TokenGenerator, TokenProvider
from django_objectstore.client.batch import Delete, Get, Head, Keepalive, OperationResult, Put
from django_objectstore.client.batch import run_batch as run_batch
from django_objectstore.client.client import Client
from django_objectstore.client.errors import (
    Conflict,
    ExpiryExtensionRejected,
    Forbidden,
    ObjectNotFound,
    ObjectstoreConnectionError,
    ObjectstoreTimeoutError,
    RateLimited,
    RequestError,
    ServerUnavailable,
    Unauthorized,
)
from django_objectstore.client.metadata import GetResponse, Metadata
from django_objectstore.client.metrics import MetricsBackend, NoOpMetricsBackend
from django_objectstore.client.multipart import MultipartUpload, Part, PartETag
from django_objectstore.client.session import Session
from django_objectstore.client.transports import InProcessTransport as InProcessTransport
from django_objectstore.client.transports import embedded_path as embedded_path
from django_objectstore.client.usecase import (
    DEFAULT_MULTIPART_THRESHOLD as DEFAULT_MULTIPART_THRESHOLD,
)
from django_objectstore.client.usecase import Compression, Usecase
from django_objectstore.wire.accept_encoding import parse_accept_encoding
from django_objectstore.wire.expiration import ExpirationPolicy, TimeToIdle, TimeToLive

__all__ = [
    "Client",
    "Compression",
    "Conflict",
    "Delete",
    "ExpirationPolicy",
    "ExpiryExtensionRejected",
    "Forbidden",
    "Get",
    "GetResponse",
    "Head",
    "Keepalive",
    "Metadata",
    "MetricsBackend",
    "MultipartUpload",
    "NoOpMetricsBackend",
    "ObjectNotFound",
    "ObjectstoreConnectionError",
    "ObjectstoreTimeoutError",
    "OperationResult",
    "Part",
    "PartETag",
    "Permission",
    "Put",
    "RateLimited",
    "RequestError",
    "SecretKey",
    "ServerUnavailable",
    "Session",
    "TimeToIdle",
    "TimeToLive",
    "TokenGenerator",
    "TokenProvider",
    "Unauthorized",
    "Usecase",
    "parse_accept_encoding",
]
