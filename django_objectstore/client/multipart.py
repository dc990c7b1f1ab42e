"""Multipart uploads: assemble one object from parts uploaded separately (S3-style).

Parts are sent as they are: when the upload was initiated with compression (the
usecase's by default) the caller compresses each part first, for example as its own
zstd frame (concatenated frames decode as one stream). :func:`put_large
<django_objectstore.client.large_upload.put_large>` does all of this for a file.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, BinaryIO, Protocol
from urllib.parse import urlencode

from django_objectstore.client.channel import HasChannel
from django_objectstore.client.errors import RequestError
from django_objectstore.client.transports import TransportResponse
from django_objectstore.wire import headers as h
from django_objectstore.wire.expiration import ExpirationPolicy

__all__ = [
    "MultipartCompleteError",
    "MultipartUpload",
    "Part",
    "PartETag",
    "PartLike",
    "initiate_multipart_upload",
    "resume_multipart_upload",
]

_INITIATE = "objects:multipart"
_PARTS = "objects:multipart:parts"
_COMPLETE = "objects:multipart:complete"


@dataclass(frozen=True)
class Part:
    """An uploaded part as :meth:`MultipartUpload.list_parts` reports it."""

    part_number: int
    etag: str
    last_modified: datetime | None = None
    size: int | None = None


class PartLike(Protocol):
    """Anything with a part number and an ETag: :class:`Part`, :class:`PartETag`, ..."""

    @property
    def part_number(self) -> int: ...

    @property
    def etag(self) -> str: ...


class PartETag(str):
    """The ETag :meth:`MultipartUpload.put_part` returns, remembering its part number.

    It is the ETag string itself (store it, compare it, put it in a ``{number: etag}``
    mapping) and also has ``part_number`` and ``etag`` like the official client's
    ``CompletePart``, so a list of them can be passed straight to
    :meth:`MultipartUpload.complete`.
    """

    part_number: int

    def __new__(cls, etag: str, part_number: int) -> PartETag:
        value = super().__new__(cls, etag)
        value.part_number = part_number
        return value

    @property
    def etag(self) -> str:
        return str.__str__(self)

    def __reduce__(self) -> tuple[Any, ...]:
        return (PartETag, (self.etag, self.part_number))


class MultipartCompleteError(RequestError):
    """Completion failed; the server reported it inside its 200 response (``code``, message)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"multipart upload completion failed ({code}): {message}", 200, message)
        self.code = code
        self.error_message = message


def _read_json(response: TransportResponse, what: str) -> Any:
    try:
        text = response.read().decode("utf-8")
    finally:
        response.close()
    try:
        return json.loads(text)
    except ValueError:
        raise RequestError(f"{what}: the server sent invalid JSON", response.status, text) from None


class MultipartUpload:
    """An upload in progress; create it with :func:`initiate_multipart_upload`."""

    def __init__(self, session: HasChannel, key: str, upload_id: str) -> None:
        self.session = session
        self.channel = session.channel
        self.key = key
        self.upload_id = upload_id

    def __repr__(self) -> str:
        return f"MultipartUpload(key={self.key!r}, upload_id={self.upload_id!r})"

    def _query(self, **extra: str) -> str:
        return urlencode({"upload_id": self.upload_id, **extra})

    def put_part(
        self,
        contents: bytes | BinaryIO,
        part_number: int,
        content_length: int | None = None,
        content_md5: bytes | None = None,
    ) -> PartETag:
        """Upload part ``part_number`` (1-based) and return its ETag (a :class:`PartETag`).

        ``contents`` is sent as is (already compressed if the upload declared
        compression). For a file object ``content_length`` is required; for bytes it
        defaults to (and must equal) their length. ``content_md5`` is the raw 16-byte
        MD5 digest of the part, checked by S3/GCS backends. Re-uploading a part number
        replaces the earlier part.
        """
        if not isinstance(part_number, int) or part_number < 1:
            raise ValueError(f"part_number must be an integer >= 1, got {part_number!r}")
        if isinstance(contents, bytes | bytearray | memoryview):
            contents = bytes(contents)
            if content_length is None:
                content_length = len(contents)
            elif content_length != len(contents):
                raise ValueError(
                    f"content_length {content_length} does not match the {len(contents)} "
                    "bytes given; omit it for bytes"
                )
        elif content_length is None or content_length < 0:
            raise ValueError("content_length is required (a byte count) when contents is a file")
        headers = {h.CONTENT_LENGTH: str(content_length)}
        if content_md5 is not None:
            if len(content_md5) != 16:
                raise ValueError("content_md5 must be the raw 16-byte MD5 digest of the part")
            headers["content-md5"] = base64.b64encode(content_md5).decode("ascii")
        response = self.channel.send(
            "PUT",
            self.key,
            endpoint=_PARTS,
            query=self._query(part_number=str(part_number)),
            headers=headers,
            body=contents,
        )
        data = _read_json(response, "multipart.put_part")
        return PartETag(str(data["etag"]), part_number)

    def list_parts(self) -> list[Part]:
        """Every uploaded part, ascending by part number (follows the server's paging)."""
        parts: list[Part] = []
        marker: int | None = None
        while True:
            extra = {} if marker is None else {"part_number_marker": str(marker)}
            response = self.channel.send(
                "GET",
                self.key,
                endpoint=_PARTS,
                query=self._query(**extra),
            )
            data = _read_json(response, "multipart.list_parts")
            parts.extend(_part_from_json(item) for item in data["parts"])
            if not data.get("is_truncated"):
                return parts
            next_marker = data.get("next_part_number_marker")
            if next_marker is None:
                raise RequestError(
                    "multipart.list_parts: the server said is_truncated=true "
                    "without a next_part_number_marker",
                    200,
                    json.dumps(data),
                )
            marker = int(next_marker)

    def complete(self, parts: Iterable[PartLike | tuple[int, str]] | Mapping[int, str]) -> str:
        """Assemble the object from ``parts`` and return its key.

        ``parts``: what :meth:`put_part` returned, :class:`Part` objects (e.g. from
        :meth:`list_parts`) or anything else with ``part_number`` and ``etag`` (the
        official client's parts), ``(part_number, etag)`` pairs or a
        ``{part_number: etag}`` mapping; sent in ascending order. Raises
        :class:`MultipartCompleteError` when the server reports a failure in its
        (always 200) response.
        """
        items = parts.items() if isinstance(parts, Mapping) else parts
        pairs = sorted(_part_pair(p) for p in items)
        body = json.dumps(
            {"parts": [{"part_number": number, "etag": etag} for number, etag in pairs]}
        ).encode("utf-8")
        response = self.channel.send(
            "POST",
            self.key,
            endpoint=_COMPLETE,
            query=self._query(),
            headers={h.CONTENT_TYPE: "application/json"},
            body=body,
        )
        try:
            # The server writes a space per second while it assembles the object.
            text = response.read().decode("utf-8").lstrip()
        finally:
            response.close()
        if not text:
            raise ValueError("multipart.complete: the server sent an empty response")
        try:
            data = json.loads(text)
        except ValueError:
            raise RequestError("multipart.complete: invalid JSON", response.status, text) from None
        error = data.get("error")
        if error is not None:
            raise MultipartCompleteError(str(error.get("code")), str(error.get("message")))
        return str(data["key"])

    def abort(self) -> None:
        """Discard the upload and its parts (idempotent on the server)."""
        response = self.channel.send("DELETE", self.key, endpoint=_INITIATE, query=self._query())
        response.close()


def _part_pair(part: object) -> tuple[int, str]:
    number, etag = getattr(part, "part_number", None), getattr(part, "etag", None)
    if number is not None and etag is not None:
        return int(number), str(etag)
    if isinstance(part, tuple) and len(part) == 2:
        return int(part[0]), str(part[1])
    raise ValueError(
        f"invalid part {part!r}: pass what put_part returned, Part objects, "
        "(part_number, etag) pairs or a {part_number: etag} mapping"
    )


def _part_from_json(item: Mapping[str, Any]) -> Part:
    modified = item.get("last_modified")
    return Part(
        part_number=int(item["part_number"]),
        etag=str(item["etag"]),
        last_modified=datetime.fromisoformat(modified) if modified else None,
        size=int(item["size"]) if item.get("size") is not None else None,
    )


def initiate_multipart_upload(
    session: HasChannel,
    key: str | None = None,
    *,
    compression: str | None = None,
    content_type: str | None = None,
    metadata: Mapping[str, str] | None = None,
    expiration_policy: ExpirationPolicy | None = None,
    origin: str | None = None,
    filename: str | None = None,
) -> MultipartUpload:
    """Start an upload (the server makes up the key when ``key`` is None or empty).

    ``compression`` defaults to the usecase's and is recorded as the object's encoding:
    parts must then be compressed by the caller. The metadata arguments are those of
    ``Session.put``.
    """
    channel = session.channel
    headers = channel.write_headers(
        compression=compression,
        content_type=content_type,
        metadata=metadata,
        expiration_policy=expiration_policy,
        origin=origin,
        filename=filename,
    )
    response = channel.send(
        "PUT" if key else "POST",
        key or None,
        endpoint=_INITIATE,
        headers=headers,
    )
    data = _read_json(response, "multipart.initiate")
    return MultipartUpload(session, str(data["key"]), str(data["upload_id"]))


def resume_multipart_upload(session: HasChannel, key: str, upload_id: str) -> MultipartUpload:
    """A handle for an upload started earlier (no request is made)."""
    if not key or not upload_id:
        raise ValueError("resume_multipart_upload needs the upload's key and upload_id")
    return MultipartUpload(session, key, upload_id)
