"""A session: one usecase and scope on one client, and every object operation.

404 policy, one per call: ``get``/``head`` return ``None``; ``delete`` of a missing
object succeeds; ``extend_expiry`` raises :class:`ObjectNotFound`; ``keepalive`` returns
``False``. Every other failure raises a typed :class:`RequestError`. Requests go through
the session's :class:`~django_objectstore.client.channel.Channel`, which batch and
multipart code share.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, BinaryIO, Literal, Protocol, cast

from django_objectstore.client.auth import Credentials, Permission
from django_objectstore.client.batch import Operation, OperationResult, run_batch
from django_objectstore.client.channel import Channel
from django_objectstore.client.compression import check_source
from django_objectstore.client.errors import RequestError
from django_objectstore.client.large_upload import put_large, uses_multipart
from django_objectstore.client.metadata import GetResponse, Metadata
from django_objectstore.client.metrics import MetricsBackend
from django_objectstore.client.multipart import (
    MultipartUpload,
    initiate_multipart_upload,
    resume_multipart_upload,
)
from django_objectstore.client.object_io import (
    choose_encoding,
    get_response,
    plan_upload,
    range_header,
    record_put,
    stored_key,
)
from django_objectstore.client.presign import presign_query
from django_objectstore.client.transports import Transport
from django_objectstore.client.usecase import Usecase, parse_threshold
from django_objectstore.wire import headers as h
from django_objectstore.wire.durations import format_duration
from django_objectstore.wire.expiration import ExpirationPolicy, TimeToIdle
from django_objectstore.wire.scopes import Scopes
from django_objectstore.wire.timestamps import ceil_second, format_timestamp, require_aware

_JSON = {h.CONTENT_TYPE: "application/json"}
# PATCH answers after which keepalive asks with HEAD instead: no write permission (403),
# a server without PATCH (405, 501), or a conflict whose cause HEAD can tell apart (409).
_HEAD_FALLBACK = frozenset({403, 405, 409, 501})


class SessionClient(Protocol):
    """What a session uses of its :class:`~django_objectstore.client.Client`."""

    transport: Transport
    credentials: Credentials
    metrics_backend: MetricsBackend | None
    patch_supported: bool


class Session:
    """Operations on one usecase and scope. Create with :meth:`Client.session`."""

    def __init__(self, client: SessionClient, usecase: Usecase, scopes: Scopes) -> None:
        self.client = client
        self.usecase = usecase
        self.scopes = scopes
        self.transport: Transport = client.transport
        self.channel = Channel(
            client.transport,
            usecase,
            scopes,
            credentials=client.credentials,
            metrics_backend=client.metrics_backend,
        )

    def __repr__(self) -> str:
        return f"<Session {self.channel.label} on {self.transport.base_url}>"

    @staticmethod
    def _key(key: object) -> str:
        """``key`` if it names an object; ``ValueError`` before any request otherwise."""
        if not isinstance(key, str) or not key:
            raise ValueError(f"key must be a non-empty string, got {key!r}")
        return key

    # -- single-object operations ------------------------------------------------------

    def put(
        self,
        contents: bytes | BinaryIO | Iterable[bytes],
        key: str | None = None,
        *,
        compression: Literal["zstd", "none"] | None = None,
        compress: Literal["zstd", "none"] | None = None,
        precompressed: Literal["zstd"] | None = None,
        content_type: str | None = None,
        metadata: Mapping[str, str] | None = None,
        expiration_policy: ExpirationPolicy | None = None,
        origin: str | None = None,
        filename: str | None = None,
        resumable_threshold_bytes: int | Literal["none"] | None = None,
    ) -> str:
        """Store ``contents`` (bytes, a binary file or an iterable of chunks); returns the key.

        ``key=None`` (or ``""``) lets the server generate one. ``compression`` (alias
        ``compress``) defaults to the usecase's; ``"zstd"`` compresses on the fly.
        ``precompressed="zstd"`` uploads already-compressed bytes as they are.
        ``expiration_policy`` defaults to the usecase's. Seekable files of at least
        ``Usecase.multipart_threshold`` bytes are uploaded in parts;
        ``resumable_threshold_bytes`` (the official client's name) overrides that
        threshold for this call, ``"none"`` disables it.
        """
        check_source(contents)
        encoding, compress_here, may_skip = choose_encoding(
            self.usecase, compression, compress, precompressed
        )
        headers = self.channel.write_headers(
            compression=encoding,
            content_type=content_type,
            metadata=metadata,
            expiration_policy=expiration_policy,
            origin=origin,
            filename=filename,
        )
        threshold = (
            self.usecase.multipart_threshold
            if resumable_threshold_bytes is None
            else parse_threshold(resumable_threshold_bytes, "resumable_threshold_bytes")
        )
        if precompressed is None and uses_multipart(contents, threshold):
            return put_large(
                self,
                cast(BinaryIO, contents),
                key=key or None,
                compression=encoding,
                content_type=content_type,
                metadata=metadata,
                expiration_policy=expiration_policy,
                origin=origin,
                filename=filename,
            )
        metrics = self.channel.metrics("put")
        plan = plan_upload(contents, encoding, compress_here, may_skip, content_type)
        if plan.encoding != encoding:
            del headers[h.CONTENT_ENCODING]  # zstd would not help: stored as it is
        if plan.length is not None:
            # A declared length instead of chunked encoding: servers take it in one read.
            headers["content-length"] = str(plan.length)
        try:
            return stored_key(
                self.channel.send(
                    "PUT" if key else "POST", key or None, headers=headers, body=plan.body
                )
            )
        finally:
            if metrics is not None:
                record_put(metrics, plan, precompressed is not None)
                metrics.finish()

    def get(
        self,
        key: str,
        decompress: bool = True,
        accept_encoding: Sequence[str] | None = None,
        *,
        byte_range: tuple[int, int | None] | None = None,
    ) -> GetResponse | None:
        """The object as a stream, or ``None`` if it does not exist (or expired).

        zstd payloads are decompressed while reading unless ``decompress=False`` or the
        encoding is in ``accept_encoding`` (``"*"`` accepts any); ``metadata.compression``
        is ``None`` once decompressed. Close ``payload`` (or use ``with``) when done.

        ``byte_range=(first, last)`` (``last`` inclusive, ``None`` for the end) asks the
        server for those bytes only. Ranges address the stored bytes, so a range of a
        zstd object comes back still compressed (``decompress`` does not apply); a range
        past the end raises :class:`RequestError` with status 416.
        """
        headers = None if byte_range is None else {h.RANGE: range_header(byte_range)}
        with self.channel.measure("get"):
            response = self.channel.send(
                "GET", self._key(key), headers=headers, expected_missing=True
            )
        if response.status == 404:
            response.close()
            return None
        if byte_range is not None:
            return get_response(response, False, None)
        return get_response(response, decompress, accept_encoding)

    def head(self, key: str) -> Metadata | None:
        """The object's metadata, or ``None`` if it does not exist. Counts as a read (TTI)."""
        with self.channel.measure("head"):
            response = self.channel.send("HEAD", self._key(key), expected_missing=True)
            response.close()
        return None if response.status == 404 else Metadata.from_headers(response.headers)

    def delete(self, key: str) -> None:
        """Delete the object; deleting a missing object is not an error."""
        with self.channel.measure("delete"):
            self.channel.send("DELETE", self._key(key), expected_missing=True).close()

    def extend_expiry(
        self,
        key: str,
        at: datetime | None = None,
        from_creation: timedelta | None = None,
        from_now: timedelta | None = None,
    ) -> None:
        """Move the expiry deadline later (never earlier); exactly one target.

        ``at``: an aware datetime; ``from_creation``: total lifetime since the object
        was written; ``from_now``: lifetime from now. Raises :class:`ObjectNotFound`
        (404) or :class:`ExpiryExtensionRejected` (409: e.g. the object never expires).
        """
        self._key(key)
        body = _extension_body(at, from_creation, from_now)
        with self.channel.measure("extend_expiry"):
            self.channel.send("PATCH", key, headers=_JSON, body=body).close()

    def keepalive(self, key: str) -> bool:
        """Renew a TTI object's deadline without downloading it; ``False`` if it is gone.

        When the usecase has a ``TimeToIdle`` policy the client sends PATCH
        ``{"extend_expiry": {"after": <usecase TTI>, "from": "now"}}``: the deadline moves
        to now + TTI at once and deterministically (never shortened). Otherwise, and when
        PATCH is not possible (403 without write permission, 405/501 from servers without
        PATCH, 409), it sends HEAD: a read renews TTI on the server too, but debounced
        (only once a quarter of the TTI, at most a day, has passed) and, on the real
        server, asynchronously. HEAD is always correct and cheap; PATCH is exact.
        """
        key = self._key(key)
        policy = self.usecase.expiration_policy
        with self.channel.measure("keepalive"):
            if isinstance(policy, TimeToIdle) and self.client.patch_supported:
                body = json.dumps(
                    {"extend_expiry": {"after": format_duration(policy.delta), "from": "now"}}
                ).encode()
                try:
                    response = self.channel.send(
                        "PATCH", key, headers=_JSON, body=body, expected_missing=True
                    )
                except RequestError as error:
                    if error.status not in _HEAD_FALLBACK:
                        raise
                    if error.status in (405, 501):
                        self.client.patch_supported = False
                else:
                    response.close()
                    return response.status != 404
            response = self.channel.send("HEAD", key, expected_missing=True)
            response.close()
            return response.status != 404

    # -- URLs and tokens -----------------------------------------------------------------

    def mint_token(
        self,
        permissions: Iterable[Permission | str] | None = None,
        expiry_seconds: int | None = None,
    ) -> str:
        """A JWT for this usecase and scope (needs a ``SecretKey``)."""
        return self.client.credentials.secret_key().token_for_scope(
            self.usecase.name, self.scopes, permissions, expiry_seconds
        )

    def object_url(self, key: str, token_validity: timedelta | None = None) -> str:
        """The object's URL; with ``token_validity``, a read-only ``os_auth`` token is embedded."""
        url = self.transport.base_url + self.channel.path(self._key(key))
        if token_validity is None:
            return url
        if not isinstance(token_validity, timedelta) or token_validity <= timedelta(0):
            raise ValueError(f"token_validity must be a positive timedelta, got {token_validity!r}")
        token = self.mint_token([Permission.OBJECT_READ], math.ceil(token_validity.total_seconds()))
        # A JWT is base64url segments joined by ".": safe in a query string as it is.
        return f"{url}?os_auth={token}"

    def presigned_object_url(
        self, method: Literal["GET", "HEAD"], key: str, duration: timedelta = timedelta(hours=1)
    ) -> str:
        """A URL that authorizes ``method`` (GET or HEAD) on the object for ``duration``."""
        key = self._key(key)
        secret = self.client.credentials.secret_key()
        # The signature covers the path as the server sees it, behind any URL prefix.
        prefix: str = getattr(self.transport, "path_prefix", "")
        path = self.channel.path(key)
        query = presign_query(secret, method, prefix + path, duration)
        return f"{self.transport.base_url}{path}?{query}"

    # -- batch and multipart -----------------------------------------------------------

    def batch(
        self, operations: Iterable[Operation], *, concurrency: int = 3
    ) -> Iterator[OperationResult]:
        """Run many operations in few requests; results arrive in completion order."""
        return run_batch(self, operations, concurrency=concurrency)

    def initiate_multipart_upload(self, key: str | None = None, **kwargs: Any) -> MultipartUpload:
        """Start an upload assembled from parts (see :mod:`.multipart`)."""
        return initiate_multipart_upload(self, key, **kwargs)

    def resume_multipart_upload(self, key: str, upload_id: str) -> MultipartUpload:
        """A handle for an upload started earlier (no request is made)."""
        return resume_multipart_upload(self, key, upload_id)


def _extension_body(
    at: datetime | None, from_creation: timedelta | None, from_now: timedelta | None
) -> bytes:
    """The PATCH body for ``extend_expiry``; ``ValueError`` for bad arguments."""
    given = [
        name
        for name, value in (("at", at), ("from_creation", from_creation), ("from_now", from_now))
        if value is not None
    ]
    if len(given) != 1:
        raise ValueError(
            "extend_expiry needs exactly one of at, from_creation or from_now"
            + (f"; got {', '.join(given)}" if given else "")
        )
    extension: dict[str, str]
    if at is not None:
        if not isinstance(at, datetime):
            raise ValueError(f"at must be a datetime, got {at!r}")
        # Whole seconds with "Z": the form the server's RFC 3339 parser accepts.
        extension = {"at": format_timestamp(ceil_second(require_aware(at, "at")))}
    else:
        delta = from_creation if from_creation is not None else from_now
        if not isinstance(delta, timedelta) or delta < timedelta(0):
            raise ValueError(f"expiry extension must be a non-negative timedelta, got {delta!r}")
        extension = {
            "after": format_duration(delta),
            "from": "creation" if from_creation is not None else "now",
        }
    return json.dumps({"extend_expiry": extension}).encode()
