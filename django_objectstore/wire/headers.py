"""Header names of the objectstore protocol (always lowercase on the wire), and a
header list that keeps names as sent while looking them up case-insensitively."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

CONTENT_TYPE = "content-type"
CONTENT_ENCODING = "content-encoding"
CONTENT_LENGTH = "content-length"
CONTENT_DISPOSITION = "content-disposition"
CONTENT_RANGE = "content-range"
ACCEPT_RANGES = "accept-ranges"
RANGE = "range"

EXPIRATION = "x-sn-expiration"
TIME_CREATED = "x-sn-time-created"
TIME_EXPIRES = "x-sn-time-expires"
ORIGIN = "x-sn-origin"
FILENAME = "x-sn-filename"
SIZE = "x-sn-size"
META_PREFIX = "x-snme-"

AUTH = "x-os-auth"
AUTHORIZATION = "authorization"

BATCH_KIND = "x-sn-batch-operation-kind"
BATCH_KEY = "x-sn-batch-operation-key"
BATCH_INDEX = "x-sn-batch-operation-index"
BATCH_STATUS = "x-sn-batch-operation-status"

UPLOAD_LENGTH = "upload-length"
UPLOAD_OFFSET = "upload-offset"

DEFAULT_CONTENT_TYPE = "application/octet-stream"
ZSTD = "zstd"


class Headers:
    """Request headers as sent: order and name case kept, lookups case-insensitive."""

    def __init__(self, items: Iterable[tuple[str, str]] = ()) -> None:
        self.items: list[tuple[str, str]] = list(items)

    def get(self, name: str, default: str | None = None) -> str | None:
        """The last value of ``name`` (the protocol's rule for repeated headers)."""
        name = name.lower()
        value = default
        for key, item in self.items:
            if key.lower() == name:
                value = item
        return value

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.items)
