"""The download view: streams an object to the browser after an access check.

``GET|HEAD <prefix>/<name>`` (``django_objectstore:download``). In order:

1. **Access.** A request whose URL carries a valid signature (``storage.url(name)``
   signs proxy URLs, see :mod:`django_objectstore.storage.signed_urls`) for this
   storage and this exact name is allowed, whatever the request's scope. Otherwise the
   name's scope must be the request's active scope: another scope, or a malformed name,
   answers **404** like a missing object, so a forged name learns nothing. A request
   without signature and without a scope is refused (**403**) unless
   ``OBJECTSTORE["download_permission"]`` is set: that hook then decides alone.
2. **Permission hook.** ``OBJECTSTORE["download_permission"]``, a dotted path to
   ``check(request, name) -> bool``, is asked for every request allowed so far (for a
   signed one with the file's scope active); ``False`` answers **403**.
3. **HTTP.** Content-Type, Content-Disposition (RFC 6266, ``filename*`` for non-ASCII),
   ETag/Last-Modified with conditional GET (304/412), single byte ranges (206/416, see
   :mod:`django_objectstore.http`), zstd objects passed through as
   ``Content-Encoding: zstd`` when ``Accept-Encoding`` allows it and decompressed on the
   fly otherwise.

Refusals explain what to fix in a ``text/plain`` body when ``DEBUG`` is on, and say
nothing otherwise (Django's 403/404 handlers answer). An objectstore that cannot be
reached, does not answer in time or is overloaded answers **503** with ``Retry-After``.

The body is streamed from the one objectstore response the view opened: reads of up to
:data:`CHUNK_SIZE` (1 MiB) handed to the server as they come, never the whole file in
memory. ``FileResponse``'s ``sendfile`` (``wsgi.file_wrapper``) needs a local file
descriptor, which remote bytes do not have; instead the view relays with large reads and
no per-chunk work beyond a length check, passes zstd objects through still compressed
to browsers that accept zstd (fewer bytes to relay), decodes the same response on the
fly for the others, and forwards ranges of stored bytes to the objectstore. To keep
large downloads off the Python workers entirely, link to the objectstore instead
(``url_mode`` ``redirect``, ``presigned`` or ``direct``). ``?storage=<alias>`` picks a ``STORAGES``
entry other than the default one.

A storage with ``url_mode="redirect"`` is checked the same way (1 and 2), then answered
with **302** to a pre-signed objectstore URL valid for :data:`REDIRECT_VALIDITY`: the
bytes go from objectstore to the browser, not through Django. A storage on an in-process
store (``embedded:``, ``memory://``), which a browser cannot reach, is streamed instead.
"""

from __future__ import annotations

import inspect
import logging
import math
import mimetypes
import posixpath
from collections.abc import AsyncIterator, Callable, Generator, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import IO, Any, Protocol, cast

import zstandard
from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.exceptions import PermissionDenied, SuspiciousFileOperation
from django.core.files.storage import InvalidStorageError, storages
from django.core.handlers.asgi import ASGIRequest
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBase,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.utils.http import content_disposition_header, http_date
from django.utils.module_loading import import_string
from django.views.decorators.http import require_http_methods

from django_objectstore import http
from django_objectstore.client import Metadata, Session
from django_objectstore.conf import objectstore_settings
from django_objectstore.exceptions import ObjectstoreUnavailableError
from django_objectstore.scope import get_current_scope, reset_current_scope, set_current_scope
from django_objectstore.storage import ObjectstoreStorage, signed_urls
from django_objectstore.storage.files import SIZE_METADATA, uncompressed_size
from django_objectstore.storage.storage import default_alias
from django_objectstore.wire.accept_encoding import accepts_encoding
from django_objectstore.wire.headers import ZSTD
from django_objectstore.wire.scopes import Scopes, format_scopes

__all__ = ["INLINE_CONTENT_TYPES", "REDIRECT_VALIDITY", "RETRY_AFTER_SECONDS", "download"]


class _Readable(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...

    def close(self) -> None: ...


logger = logging.getLogger(__name__)

CHUNK_SIZE = 1024 * 1024
"""Bytes asked of the objectstore response per read, and so the largest chunk handed to
the WSGI/ASGI server. Per-chunk costs (a generator step, Django's ``make_bytes``, under
ASGI a hop to a worker thread, the server's write) are paid 64 times for 64 MiB instead
of 1,024 times with 64 KiB; the price is up to 1 MiB held per download in flight."""

RETRY_AFTER_SECONDS = 5
"""``Retry-After`` of a 503: objectstore unreachable, too slow or overloaded."""

INLINE_CONTENT_TYPES = frozenset(
    {
        "application/pdf",
        "image/avif",
        "image/gif",
        "image/jpeg",
        "image/png",
        "image/webp",
        "text/plain",
    }
)
"""Types a browser may show in place. Everything else (HTML, SVG, scripts...) is always
sent as an attachment: user uploads must never run as pages of your site."""

REDIRECT_VALIDITY = timedelta(minutes=5)
"""How long the pre-signed URL of a redirect stays valid. The browser follows a 302 at
once, so the URL needs only to outlive the redirect and some clock skew between this
host and objectstore; anyone it leaks to (a proxy log, a shared screenshot) can read the
file for no longer than this."""

_Hook = Callable[[HttpRequest, str], bool]


class _Refused(Exception):
    """A refused download: ``status`` (403 or 404) and, for ``DEBUG``, what to fix."""

    def __init__(self, status: int, *reasons: str) -> None:
        super().__init__(status, reasons)
        self.status = status
        self.reasons = reasons


@dataclass(frozen=True)
class _Access:
    """An allowed download: where the object is, and the signature's expiry if signed."""

    scopes: Scopes
    key: str
    expires: int | None
    notes: tuple[str, ...] = ()
    """Why a signature present in the URL did not count (for a later refusal)."""


@require_http_methods(["GET", "HEAD"])
def download(request: HttpRequest, name: str, **_: Any) -> HttpResponseBase:
    """Stream the file ``name``; ``?download=1`` asks for ``attachment`` disposition.

    Extra URL keyword arguments are ignored, so the view can be mounted under a URL
    that carries the scope (``orgs/<org_id>/files/<path:name>``).
    """
    alias, storage = _storage(request)
    hook = _permission_hook()
    try:
        access = _authorize(request, storage, alias, name, hook)
        # A signed request is served as if its file's scope were the request's: the hook
        # and everything below see that scope.
        token = set_current_scope(access.scopes) if access.expires is not None else None
        try:
            if hook is not None and not hook[1](request, name):
                raise _Refused(
                    403,
                    *access.notes,
                    f"OBJECTSTORE['download_permission'] ({hook[0]}) refused this request",
                )
            if storage.url_mode == "redirect" and _reachable_by_browsers(storage):
                return _redirect(request, storage, name, access)
            return _serve(request, storage, name, access)
        finally:
            if token is not None:
                reset_current_scope(token)
    except _Refused as refusal:
        return _refusal(refusal)
    except ObjectstoreUnavailableError as error:
        logger.warning("download of %r answered 503: %s", name, error)
        return _unavailable(error)


def _serve(
    request: HttpRequest, storage: ObjectstoreStorage, name: str, access: _Access
) -> HttpResponseBase:
    session = storage.session_for(access.scopes)
    max_age = None
    if access.expires is not None:
        max_age = max(math.floor(access.expires - signed_urls.now()), 0)
    # Client errors become the storage's (PermissionDenied, ObjectstoreStorageError).
    with storage.translate_errors("download", name):
        result = session.get(access.key, decompress=False)
        if result is None:
            raise Http404("no such file")
        payload = result.payload
        try:
            response = _respond(
                request, name, result.metadata, payload, session, access.key, max_age
            )
        except BaseException:
            payload.close()
            raise
    if not isinstance(response, StreamingHttpResponse):
        payload.close()
    return response


def _reachable_by_browsers(storage: ObjectstoreStorage) -> bool:
    return storage.resolved_base_url().lower().startswith(("http://", "https://"))


def _redirect(
    request: HttpRequest, storage: ObjectstoreStorage, name: str, access: _Access
) -> HttpResponseBase:
    """302 to a pre-signed URL for this request's method; no request to objectstore."""
    session = storage.session_for(access.scopes)
    with storage.translate_errors("download", name):
        url = session.presigned_object_url(
            "HEAD" if request.method == "HEAD" else "GET", access.key, REDIRECT_VALIDITY
        )
    response = HttpResponseRedirect(url)
    # The target expires soon: neither the browser nor a shared cache may keep it.
    response["Cache-Control"] = "no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


def _authorize(
    request: HttpRequest,
    storage: ObjectstoreStorage,
    alias: str,
    name: str,
    hook: tuple[str, _Hook] | None,
) -> _Access:
    try:
        scopes, key = storage.parse_name(name)
    except SuspiciousFileOperation as error:
        raise _Refused(404, f"{name!r} is not a file name of storage {alias!r}: {error}") from None
    signature = signed_urls.verify(request.GET, alias, name)
    if signature.valid:
        return _Access(scopes, key, signature.expires)
    notes = () if signature.verdict is signed_urls.Verdict.ABSENT else (signature.explain(),)
    active = get_current_scope()
    if active is None:
        if hook is not None:
            return _Access(scopes, key, None, notes)  # the hook decides alone
        raise _Refused(403, *notes, _no_scope_reason(request))
    if tuple(active) != tuple(scopes):
        raise _Refused(
            404,
            *notes,
            f"the file belongs to scope {format_scopes(scopes)!r}, but this request's scope "
            f"is {format_scopes(active)!r} (from OBJECTSTORE['scope_resolver']): link to it "
            "with file.url (a signed URL), or under a URL of its own scope",
        )
    return _Access(scopes, key, None, notes)


def _no_scope_reason(request: HttpRequest) -> str:
    if not hasattr(request, "objectstore_scope"):
        return (
            "no objectstore scope is active because ObjectstoreScopeMiddleware is not "
            "installed: add 'django_objectstore.middleware.ObjectstoreScopeMiddleware' to "
            "MIDDLEWARE (after the authentication middleware), or link with file.url, "
            "whose signed URLs need no scope"
        )
    return (
        f"the scope resolver ({objectstore_settings.scope_resolver}) returned no scope for "
        f"{request.path!r}: link with file.url (signed URLs need no scope), make the "
        "resolver return a scope for this URL, or set OBJECTSTORE['download_permission'] "
        "to decide requests without a scope"
    )


def _refusal(refusal: _Refused) -> HttpResponse:
    """What to fix under ``DEBUG``; otherwise Django's handler for the status, no detail."""
    if not settings.DEBUG:
        if refusal.status == 404:
            raise Http404("no such file")
        raise PermissionDenied
    lines = [f"Download refused ({refusal.status}):", *(f"- {r}" for r in refusal.reasons)]
    lines.append("(This explanation is shown because DEBUG is True.)")
    response = HttpResponse(
        "\n".join(lines) + "\n", status=refusal.status, content_type="text/plain; charset=utf-8"
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "no-store"
    return response


def _unavailable(error: ObjectstoreUnavailableError) -> HttpResponse:
    body = f"objectstore is unavailable: {error}\n" if settings.DEBUG else "Service unavailable\n"
    response = HttpResponse(body, status=503, content_type="text/plain; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response["Cache-Control"] = "no-store"
    return response


def _storage(request: HttpRequest) -> tuple[str, ObjectstoreStorage]:
    alias = request.GET.get("storage") or default_alias()
    try:
        storage = storages[alias]
    except InvalidStorageError as error:
        raise Http404("no such storage") from error
    if not isinstance(storage, ObjectstoreStorage):
        raise Http404("no such storage")
    return alias, storage


def _permission_hook() -> tuple[str, _Hook] | None:
    path = objectstore_settings.download_permission
    return (path, import_string(path)) if path else None


def _respond(
    request: HttpRequest,
    name: str,
    metadata: Metadata,
    payload: _Readable,
    session: Session,
    key: str,
    max_age: int | None,
) -> HttpResponseBase:
    compressed = metadata.compression == ZSTD
    passthrough = compressed and accepts_encoding(request.headers.get("Accept-Encoding"), ZSTD)
    decompress = compressed and not passthrough
    etag = http.make_etag(name, metadata.time_created, metadata.size, passthrough)
    headers = _validator_headers(etag, metadata.time_created, vary=compressed, max_age=max_age)
    precondition = _preconditions(request, etag, metadata.time_created)
    if precondition is not http.Precondition.PROCEED:
        return _bare(precondition.value, headers)

    range_header = request.headers.get("Range")
    if not http.if_range_allows(
        request.headers.get("If-Range"), etag=etag, last_modified=metadata.time_created
    ):
        range_header = None
    # The decompressed size is recorded by the storage on save; for objects written by
    # other clients it costs a counting pass, so it is only asked for a range.
    total = metadata.size if not decompress else None
    if decompress and (range_header or SIZE_METADATA in metadata.custom):
        total = uncompressed_size(session, key, metadata)
    try:
        byte_range = http.parse_range(range_header, total) if total is not None else None
    except http.RangeNotSatisfiable:
        return _bare(416, {**headers, "Content-Range": f"bytes */{total}"})

    headers.update(_entity_headers(request, name, metadata, passthrough, total is not None))
    status, start, length = 200, 0, total
    if byte_range is not None and total is not None:
        status, start, length = 206, byte_range.start, byte_range.length
        headers["Content-Range"] = byte_range.content_range(total)
    if length is not None:
        headers["Content-Length"] = str(length)
    if request.method == "HEAD":
        payload.close()
        return _bare(status, headers)
    if decompress:
        source = _decompressing(payload)
    elif byte_range is not None and length:
        # Stored bytes: the server sends just the range instead of everything before it.
        source, start = _ranged(session, key, payload, start, length), 0
    else:
        source = payload
    chunks = _Chunks(source, start, length)
    # Under ASGI a plain iterator would be read to the end into memory by Django before
    # sending; an async iterator streams.
    streamed = _astream(chunks) if isinstance(request, ASGIRequest) else chunks
    response = StreamingHttpResponse(streamed, status=status)
    for header, value in headers.items():
        response[header] = value
    return response


def _validator_headers(
    etag: str, last_modified: datetime | None, *, vary: bool, max_age: int | None
) -> dict[str, str]:
    # A signed URL's response may be reused until the signature expires.
    cache = "private" if max_age is None else f"private, max-age={max_age}"
    headers = {"ETag": etag, "Cache-Control": cache, "X-Content-Type-Options": "nosniff"}
    if last_modified is not None:
        headers["Last-Modified"] = http_date(last_modified.timestamp())
    if vary:
        headers["Vary"] = "Accept-Encoding"
    return headers


def _preconditions(
    request: HttpRequest, etag: str, last_modified: datetime | None
) -> http.Precondition:
    return http.evaluate_preconditions(
        method=request.method or "GET",
        etag=etag,
        last_modified=last_modified,
        if_match=request.headers.get("If-Match"),
        if_unmodified_since=request.headers.get("If-Unmodified-Since"),
        if_none_match=request.headers.get("If-None-Match"),
        if_modified_since=request.headers.get("If-Modified-Since"),
    )


def _decompressing(payload: _Readable) -> _Readable:
    """The zstd ``payload`` decoded as it is read: the response already open, no second GET."""
    reader: _Readable = zstandard.ZstdDecompressor().stream_reader(
        cast(IO[bytes], payload), read_size=CHUNK_SIZE, read_across_frames=True, closefd=True
    )
    return reader


def _ranged(session: Session, key: str, payload: _Readable, start: int, length: int) -> _Readable:
    """A second GET for only ``length`` stored bytes from ``start``."""
    payload.close()
    fresh = session.get(key, byte_range=(start, start + length - 1))
    if fresh is None:
        raise Http404("no such file")
    return fresh.payload


def _entity_headers(
    request: HttpRequest, name: str, metadata: Metadata, passthrough: bool, ranges: bool
) -> dict[str, str]:
    filename = metadata.filename or posixpath.basename(name)
    content_type = metadata.content_type or (
        mimetypes.guess_type(filename)[0] or "application/octet-stream"
    )
    as_attachment = request.GET.get("download") not in (None, "", "0") or (
        content_type.split(";")[0].strip().lower() not in INLINE_CONTENT_TYPES
    )
    headers = {
        "Content-Type": content_type,
        "Content-Disposition": content_disposition_header(as_attachment, filename) or "",
        "Accept-Ranges": "bytes" if ranges else "none",
    }
    if passthrough:
        headers["Content-Encoding"] = ZSTD
    return headers


def _bare(status: int, headers: dict[str, str]) -> HttpResponse:
    response = HttpResponse(status=status)
    for header, value in headers.items():
        response[header] = value
    if status in (304, 416, 412):
        del response["Content-Type"]
    return response


def _stream(source: _Readable, start: int, length: int | None) -> Generator[bytes, None, None]:
    """The bytes ``[start, start + length)`` of ``source``, then close it.

    Each chunk is what one ``read`` returned, passed on as it is: no re-chunking, no
    copy, and per chunk only a length check.
    """
    read = source.read
    try:
        while start > 0:
            skipped = read(min(start, CHUNK_SIZE))
            if not skipped:
                return
            start -= len(skipped)
        if length is None:
            while chunk := read(CHUNK_SIZE):
                yield chunk
            return
        remaining = length
        while remaining > 0:
            chunk = read(min(remaining, CHUNK_SIZE))
            if not chunk:
                return
            remaining -= len(chunk)
            yield chunk
    finally:
        source.close()


class _Chunks(Iterator[bytes]):
    """:func:`_stream` as the response body, with a ``close()`` that always closes ``source``.

    The server closes the response without reading it when the client goes away before
    the first chunk; closing a generator that never started does not run its ``finally``,
    which would leave the GET behind the body open until garbage collection.
    """

    def __init__(self, source: _Readable, start: int, length: int | None) -> None:
        self._source = source
        self._chunks = _stream(source, start, length)

    def __next__(self) -> bytes:
        return next(self._chunks)

    def close(self) -> None:
        if inspect.getgeneratorstate(self._chunks) == inspect.GEN_CREATED:
            self._source.close()
        self._chunks.close()  # a started one closes ``source`` in its ``finally``


async def _astream(chunks: _Chunks) -> AsyncIterator[bytes]:
    """``chunks`` for ASGI: each blocking read runs in a worker thread."""
    read = sync_to_async(_next_chunk, thread_sensitive=False)
    try:
        while (chunk := await read(chunks)) is not None:
            yield chunk
    finally:
        await sync_to_async(chunks.close, thread_sensitive=False)()


def _next_chunk(chunks: _Chunks) -> bytes | None:
    return next(chunks, None)
