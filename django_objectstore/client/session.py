"""A session: one usecase and scope on one client, and every object operation.

404 policy, one per call: ``get``/``head`` return ``None``; ``delete`` of a missing
object succeeds; ``extend_expiry`` raises :class:`ObjectNotFound`; ``keepalive`` returns
``False``. Every other failure raises a typed :class:`RequestError`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, BinaryIO, Literal, cast

from django_objectstore.client import operations as ops
from django_objectstore.client.compression import (
    CountingChunks,
    Payload,
    Source,
    compress_stream,
    decompress_reader,
    iter_source,
)
from django_objectstore.client.errors import (
    ObjectstoreConnectionError,
    error_for_status,
    status_text,
)
from django_objectstore.client.large_upload import put_large, uses_multipart
from django_objectstore.client.metadata import GetResponse, Metadata, build_metadata_headers
from django_objectstore.client.metrics import OperationMetrics
from django_objectstore.client.transport import RequestBody, Transport, TransportResponse
from django_objectstore.client.usecase import Usecase, validate_compression
from django_objectstore.wire import headers as h
from django_objectstore.wire.expiration import ExpirationPolicy
from django_objectstore.wire.paths import quote_path
from django_objectstore.wire.scopes import Scopes, format_scopes

if TYPE_CHECKING:
    from django_objectstore.client.auth import Permission
    from django_objectstore.client.batch import Operation, OperationResult
    from django_objectstore.client.client import Client
    from django_objectstore.client.multipart import MultipartUpload

_ERROR_BODY_LIMIT = 4096


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
        all_headers = self.client._request_headers(self.usecase.name, self.scopes)
        if headers:
            all_headers.update(headers)
        try:
            response = self.transport.request(
                method, self._path(key, endpoint), query=query, headers=all_headers, body=body
            )
        except ObjectstoreConnectionError as error:
            raise ObjectstoreConnectionError(
                f"{self._describe(method, key, endpoint)} failed: {error}"
            ) from error
        status = response.status
        if status >= 400 and not (status == 404 and expected_missing):
            try:
                text = response.read(_ERROR_BODY_LIMIT).decode("utf-8", "replace")
            finally:
                response.close()
            message = f"{self._describe(method, key, endpoint)} failed: {status_text(status)}"
            raise error_for_status(status, f"{message}: {text}" if text else message, text)
        return response

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
    ) -> str:
        """Store ``contents`` (bytes, a binary file or an iterable of chunks); returns the key.

        ``key=None`` (or ``""``) lets the server generate one. ``compression`` (alias
        ``compress``) defaults to the usecase's; ``"zstd"`` compresses on the fly.
        ``precompressed="zstd"`` uploads already-compressed bytes as they are.
        ``expiration_policy`` defaults to the usecase's. Seekable files of at least
        ``Usecase.multipart_threshold`` bytes are uploaded in parts.
        """
        encoding, compress_here = _choose_encoding(
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
        if precompressed is None and uses_multipart(self, contents):
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
        body: RequestBody
        counter: CountingChunks | None = None
        if compress_here:
            body = counter = compress_stream(contents)
        elif isinstance(contents, bytes | bytearray | memoryview):
            body = bytes(contents)
        else:
            body = counter = CountingChunks(iter_source(contents))
        try:
            response = self._request(
                "PUT" if key else "POST", key or None, headers=headers, body=body
            )
            try:
                result = json.loads(response.read())
            finally:
                response.close()
            return str(result["key"])
        finally:
            if metrics is not None:
                _record_put(metrics, contents, body, counter, encoding, compress_here)
                metrics.finish()

    def get(
        self,
        key: str,
        *,
        decompress: bool = True,
        accept_encoding: Sequence[str] | None = None,
    ) -> GetResponse | None:
        """The object as a stream, or ``None`` if it does not exist (or expired).

        zstd payloads are decompressed while reading unless ``decompress=False`` or the
        encoding is in ``accept_encoding`` (``"*"`` accepts any); ``metadata.compression``
        is ``None`` once decompressed. Close ``payload`` (or use ``with``) when done.
        """
        metrics = self._metrics("get")
        try:
            response = self._request("GET", key, expected_missing=True)
        finally:
            if metrics is not None:
                metrics.finish()
        if response.status == 404:
            response.close()
            return None
        try:
            metadata = Metadata.from_headers(response.headers)
        except ValueError:
            response.close()
            raise
        encoding = metadata.compression
        accepted = accept_encoding is not None and (
            "*" in accept_encoding or encoding in accept_encoding
        )
        if encoding and decompress and not accepted:
            if encoding != h.ZSTD:
                response.close()
                raise NotImplementedError(f"cannot decompress {encoding!r} payloads (only zstd)")
            metadata.compression = None
            return GetResponse(metadata, decompress_reader(response))
        return GetResponse(metadata, Payload(response))

    def head(self, key: str) -> Metadata | None:
        """The object's metadata, or ``None`` if it does not exist. Counts as a read (TTI)."""
        metrics = self._metrics("head")
        try:
            response = self._request("HEAD", key, expected_missing=True)
            response.close()
        finally:
            if metrics is not None:
                metrics.finish()
        return None if response.status == 404 else Metadata.from_headers(response.headers)

    def delete(self, key: str) -> None:
        """Delete the object; deleting a missing object is not an error."""
        metrics = self._metrics("delete")
        try:
            self._request("DELETE", key, expected_missing=True).close()
        finally:
            if metrics is not None:
                metrics.finish()

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
        body = ops.extension_body(at, from_creation, from_now)
        metrics = self._metrics("extend_expiry")
        try:
            self._request(
                "PATCH", key, headers={h.CONTENT_TYPE: "application/json"}, body=body
            ).close()
        finally:
            if metrics is not None:
                metrics.finish()

    def keepalive(self, key: str) -> bool:
        """Keep a TTI object alive without downloading it; ``False`` if it is gone.

        See :func:`django_objectstore.client.operations.keepalive` for how.
        """
        return ops.keepalive(self, key)

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
        return ops.object_url(self, key, token_validity)

    def presigned_object_url(
        self, method: Literal["GET", "HEAD"], key: str, duration: timedelta = timedelta(hours=1)
    ) -> str:
        """A URL that authorizes ``method`` (GET or HEAD) on the object for ``duration``."""
        return ops.presigned_object_url(self, method, key, duration)

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


def _choose_encoding(
    usecase: Usecase, compression: str | None, compress: str | None, precompressed: str | None
) -> tuple[str, bool]:
    """(recorded encoding, whether to compress here); ``ValueError`` for bad combinations."""
    if compression is not None and compress is not None:
        raise ValueError("pass compression or its alias compress, not both")
    chosen = compression if compression is not None else compress
    if precompressed is not None:
        if chosen is not None:
            raise ValueError("pass compression or precompressed, not both")
        if precompressed != "zstd":
            raise ValueError(f"invalid precompressed {precompressed!r}: use 'zstd'")
        return "zstd", False
    encoding = validate_compression(chosen if chosen is not None else usecase.compression)
    return encoding, encoding == "zstd"


def _record_put(
    metrics: OperationMetrics,
    contents: Source,
    body: RequestBody,
    counter: CountingChunks | None,
    encoding: str,
    compressed_here: bool,
) -> None:
    metrics.compression = encoding
    if isinstance(body, bytes):
        size = len(body)
        metrics.source, metrics.compressed = (None, size) if encoding == "zstd" else (size, None)
    elif counter is not None:
        if compressed_here:
            metrics.source = getattr(counter, "source_size", None)
            metrics.compressed = counter.size
        elif encoding == "zstd":
            metrics.compressed = counter.size
        else:
            metrics.source = counter.size
