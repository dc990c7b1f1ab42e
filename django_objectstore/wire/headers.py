"""Header names of the objectstore protocol (always lowercase on the wire)."""

from __future__ import annotations

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
