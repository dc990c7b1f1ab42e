"""Query strings and the completion body of multipart requests.

Rejections use the real server's framework shapes: query problems are ``400`` plain
text, a completion body without ``Content-Type: application/json`` is ``415``,
malformed JSON ``400`` and JSON that does not fit the schema ``422`` (all plain text).
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

from django_objectstore.server.backends.uploads import CompletedPart
from django_objectstore.server.errors import ProtocolError
from django_objectstore.server.messages import Request
from django_objectstore.wire.numbers import (
    U32_MAX,
    DecimalTooLarge,
    NotADecimal,
    json_int,
    parse_decimal,
)

MAX_JSON_BODY = 2 * 1024 * 1024
"""The framework's default body limit for JSON requests."""


def _query_error(message: str) -> ProtocolError:
    return ProtocolError(400, f"Failed to deserialize query string: {message}", body="text")


def parse_query(query: str) -> dict[str, str]:
    """``name -> value`` (percent-decoded); a repeated name is a 400."""
    values: dict[str, str] = {}
    try:
        pairs = parse_qsl(query, keep_blank_values=True, errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise _query_error("the query string is not valid UTF-8") from None
    for name, value in pairs:
        if name in values:
            raise _query_error(f"duplicate field `{name}`")
        values[name] = value
    return values


def validate_upload_id(upload_id: str) -> str:
    """A relative path of normal segments only (the real server's rule), else 400."""
    if not upload_id:
        raise _query_error("upload_id: invalid upload_id: must not be empty")
    segments = upload_id.split("/")
    if upload_id.startswith("/") or segments[0] == "." or ".." in segments:
        raise _query_error(f"upload_id: invalid upload_id: {upload_id}")
    return upload_id


def upload_id_param(query: dict[str, str]) -> str:
    if "upload_id" not in query:
        raise _query_error("missing field `upload_id`")
    return validate_upload_id(query["upload_id"])


def query_int(
    query: dict[str, str], name: str, *, minimum: int, required: bool = False
) -> int | None:
    """An unsigned 32-bit integer parameter of at least ``minimum``."""
    text = query.get(name)
    if text is None:
        if required:
            raise _query_error(f"missing field `{name}`")
        return None
    try:
        value = parse_decimal(text, U32_MAX)
    except NotADecimal:
        raise _query_error(f"{name}: invalid digit found in string") from None
    except DecimalTooLarge:
        raise _query_error(f"{name}: number too large to fit in target type") from None
    if value < minimum:
        raise _query_error(f"{name}: invalid value: integer `{value}`, expected a nonzero u32")
    return value


def _is_json_content_type(value: str | None) -> bool:
    if value is None:
        return False
    media = value.split(";", 1)[0].strip().lower()
    kind, _, subtype = media.partition("/")
    return kind == "application" and (subtype == "json" or subtype.endswith("+json"))


def _schema_error(message: str) -> ProtocolError:
    return ProtocolError(
        422, f"Failed to deserialize the JSON body into the target type: {message}", body="text"
    )


def _read_limited(request: Request) -> bytes:
    chunks = []
    total = 0
    while chunk := request.body.read(64 * 1024):
        total += len(chunk)
        if total > MAX_JSON_BODY:
            raise ProtocolError(
                413, "Failed to buffer the request body: length limit exceeded", body="text"
            )
        chunks.append(chunk)
    return b"".join(chunks)


def parse_complete_body(request: Request) -> list[CompletedPart]:
    """``{"parts": [{"part_number": N, "etag": "..."}, ...]}``, in the order sent."""
    if not _is_json_content_type(request.headers.get("content-type")):
        raise ProtocolError(
            415, "Expected request with `Content-Type: application/json`", body="text"
        )
    raw = _read_limited(request)
    try:
        document = json.loads(raw, parse_int=json_int)
    except ValueError as error:
        raise ProtocolError(
            400, f"Failed to parse the request body as JSON: {error}", body="text"
        ) from None
    if not isinstance(document, dict) or not isinstance(document.get("parts"), list):
        raise _schema_error("expected an object with a `parts` array")
    parts = []
    for index, item in enumerate(document["parts"]):
        if not isinstance(item, dict):
            raise _schema_error(f"parts[{index}]: expected an object")
        number = item.get("part_number")
        etag = item.get("etag")
        if isinstance(number, bool) or not isinstance(number, int):
            raise _schema_error(f"parts[{index}].part_number: expected a nonzero u32")
        if not 1 <= number <= U32_MAX:
            raise _schema_error(f"parts[{index}].part_number: expected a nonzero u32")
        if not isinstance(etag, str):
            raise _schema_error(f"parts[{index}].etag: expected a string")
        parts.append(CompletedPart(number, etag))
    return parts
