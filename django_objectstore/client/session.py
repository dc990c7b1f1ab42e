"""A session: one usecase and scope on one client, and every object operation.

404 policy, one per call: ``get``/``head`` return ``None``; ``delete`` of a missing
object succeeds; ``extend_expiry`` raises :class:`ObjectNotFound`; ``keepalive`` returns
``False``. Every other failure raises a typed :class:`RequestError`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, BinaryIO, Literal, cast

from django_objectstore.client import operations as ops
from django_objectstore.client.compression import check_source
from django_objectstore.client.large_upload import put_large, uses_multipart
from django_objectstore.client.metadata import GetResponse, Metadata, build_metadata_headers
from django_objectstore.client.metrics import OperationMetrics
from django_objectstore.client.object_io import (
    choose_encoding,
    get_response,
    known_length,
    range_header,
    record_put,
    stored_key,
    upload_body,
)
from django_objectstore.client.request import send_request
from django_objectstore.client.transport import RequestBody, Transport, TransportResponse
from django_objectstore.client.usecase import Usecase, parse_threshold, validate_compression
from django_objectstore.wire import headers as h
from django_objectstore.wire.expiration import ExpirationPolicy
from django_objectstore.wire.paths import quote_path
from django_objectstore.wire.scopes import Scopes, format_scopes

if TYPE_CHECKING:
    from django_objectstore.client.auth import Permission
    from django_objectstore.client.batch import Operation, OperationResult
    from django_objectstore.client.client import Client
    from django_objectstore.client.multipart import MultipartUpload


class Session:
    """Operations on one usecase and scope. Create with :meth:`Client.session`."""

    def __init__(self, client: Client, usecase: Usecase, scopes: Scopes) -> None:
        self.client = client
        self.usecase = usecase
        self.scopes = scopes
        self.transport: Transport = client.transport
        self._label = f"{usecase.name}/{format_scopes(scopes)}/"
        self._prefixes: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"<Session {self._label} on {self.transport.base_url}>"

    # -- plumbing shared with batch and multipart ---------------------------------------

    def _path(self, key: str | None, endpoint: str = "objects") -> str:
        prefix = self._prefixes.get(endpoint)
        if prefix is None:
            prefix = self._prefixes[endpoint] = quote_path(f"/v1/{endpoint}/{self._label}")
        return prefix + quote_path(key) if key else prefix

    def _describe(self, method: str, key: str | None, endpoint: str = "objects") -> str:
        where = self._label + (key or "")
        if endpoint != "objects":
            where = f"{endpoint} {where}"
        return f"{method} {where} on {self.transport.base_url}"

    @staticmethod
    def _key(key: object) -> str:
        """``key`` if it names an object; ``ValueError`` before any request otherwise."""
        if not isinstance(key, str) or not key:
            raise ValueError(f"key must be a non-empty string, got {key!r}")
        return key

    def _auth_headers(self) -> dict[str, str]:
        return self.client._request_headers(self.usecase.name, self.scopes)

    def _request(
        self,
        method: str,
        key: str | None,
        *,
        endpoint: str = "objects",
        query: str = "",
        headers: Mapping[str, str] | None = None,
        body: RequestBody = None,
        expected_missing: bool = False,
        operation: str = "",
    ) -> TransportResponse:
        """Send one request; typed :class:`RequestError` for statuses >= 400."""
        return send_request(
            self,
            method,
            key,
            endpoint=endpoint,
            query=query,
            headers=headers,
            body=body,
            expected_missing=expected_missing,
        )

    def _metadata_headers(
        self,
        *,
        compression: str | None,
        content_type: str | None,
        metadata: Mapping[str, str] | None,
        expiration_policy: ExpirationPolicy | None,
        origin: str | None,
        filename: str | None,
    ) -> dict[str, str]:
        """The object's write headers; the usecase supplies compression and policy defaults."""
        return build_metadata_headers(
            compression=validate_compression(compression or self.usecase.compression),
            content_type=content_type,
            metadata=metadata,
            expiration_policy=expiration_policy or self.usecase.expiration_policy,
            origin=origin,
            filename=filename,
        )

    def _metrics(self, op: str) -> OperationMetrics | None:
        backend = self.client.metrics_backend
        return None if backend is None else OperationMetrics(backend, op, self.usecase.name)

    @contextmanager
    def _measure(self, op: str) -> Iterator[None]:
        """Emit ``op``'s metrics when the block ends, also after an error."""
        metrics = self._metrics(op)
        try:
            yield
        finally:
            if metrics is not None:
                metrics.finish()

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
        encoding, compress_here = choose_encoding(
            self.usecase, compression, compress, precompressed
        )
        headers = self._metadata_headers(
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
        metrics = self._metrics("put")
        body, counter = upload_body(contents, compress_here)
        length = known_length(contents) if counter is not None and not compress_here else None
        if length is not None:
            # A declared length instead of chunked encoding: servers take it in one read.
            headers["content-length"] = str(length)
        try:
            return stored_key(
                self._request("PUT" if key else "POST", key or None, headers=headers, body=body)
            )
        finally:
            if metrics is not None:
                record_put(metrics, contents, body, counter, encoding, compress_here)
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
        with self._measure("get"):
            response = self._request("GET", self._key(key), headers=headers, expected_missing=True)
        if response.status == 404:
            response.close()
            return None
        if byte_range is not None:
            return get_response(response, False, None)
        return get_response(response, decompress, accept_encoding)

    def head(self, key: str) -> Metadata | None:
        """The object's metadata, or ``None`` if it does not exist. Counts as a read (TTI)."""
        with self._measure("head"):
            response = self._request("HEAD", self._key(key), expected_missing=True)
            response.close()
        return None if response.status == 404 else Metadata.from_headers(response.headers)

    def delete(self, key: str) -> None:
        """Delete the object; deleting a missing object is not an error."""
        with self._measure("delete"):
            self._request("DELETE", self._key(key), expected_missing=True).close()

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
        body = ops.extension_body(at, from_creation, from_now)
        with self._measure("extend_expiry"):
            self._request(
                "PATCH", key, headers={h.CONTENT_TYPE: "application/json"}, body=body
            ).close()

    def keepalive(self, key: str) -> bool:
        """Keep a TTI object alive without downloading it; ``False`` if it is gone.

        See :func:`django_objectstore.client.operations.keepalive` for how.
        """
        return ops.keepalive(self, self._key(key))

    # -- URLs and tokens -----------------------------------------------------------------

    def mint_token(
        self,
        permissions: Iterable[Permission | str] | None = None,
        expiry_seconds: int | None = None,
    ) -> str:
        """A JWT for this usecase and scope (needs a ``SecretKey``)."""
        return self.client._secret_key().token_for_scope(
            self.usecase.name, self.scopes, permissions, expiry_seconds
        )

    def object_url(self, key: str, token_validity: timedelta | None = None) -> str:
        """The object's URL; with ``token_validity``, a read-only ``os_auth`` token is embedded."""
        return ops.object_url(self, self._key(key), token_validity)

    def presigned_object_url(
        self, method: Literal["GET", "HEAD"], key: str, duration: timedelta = timedelta(hours=1)
    ) -> str:
        """A URL that authorizes ``method`` (GET or HEAD) on the object for ``duration``."""
        return ops.presigned_object_url(self, method, self._key(key), duration)

    # -- batch and multipart -----------------------------------------------------------

    def batch(
        self, operations: Iterable[Operation], *, concurrency: int = 3
    ) -> Iterator[OperationResult]:
        """Run many operations in few requests; results arrive in completion order."""
        from django_objectstore.client.batch import run_batch

        return run_batch(self, operations, concurrency=concurrency)

    def initiate_multipart_upload(self, key: str | None = None, **kwargs: Any) -> MultipartUpload:
        """Start an upload assembled from parts (see :mod:`.multipart`)."""
        from django_objectstore.client.multipart import initiate_multipart_upload

        return initiate_multipart_upload(self, key, **kwargs)

    def resume_multipart_upload(self, key: str, upload_id: str) -> MultipartUpload:
        """A handle for an upload started earlier (no request is made)."""
        from django_objectstore.client.multipart import resume_multipart_upload

        return resume_multipart_upload(self, key, upload_id)
