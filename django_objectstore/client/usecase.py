"""Usecases: a named workload with defaults for compression and expiration."""

from __future__ import annotations

from typing import Literal

from django_objectstore.wire.expiration import ExpirationPolicy
from django_objectstore.wire.paths import validate_usecase

Compression = Literal["zstd", "none"]
COMPRESSIONS: tuple[str, ...] = ("zstd", "none")
DEFAULT_MULTIPART_THRESHOLD = 256 * 1024 * 1024


def validate_compression(value: object, argument: str = "compression") -> Compression:
    """``"zstd"`` or ``"none"``; anything else is a ``ValueError`` naming ``argument``."""
    if value == "zstd":
        return "zstd"
    if value == "none":
        return "none"
    raise ValueError(f"invalid {argument} {value!r}: use 'zstd' or 'none'")


def parse_threshold(value: object, argument: str) -> int | None:
    """A size threshold in bytes: an int >= 0, or ``None``/``"none"`` for "never"."""
    if value is None or value == "none":
        return None
    if type(value) is not int or value < 0:
        raise ValueError(
            f"invalid {argument} {value!r}: use a byte count >= 0, or 'none' to disable"
        )
    return max(value, 1)


class Usecase:
    """A workload in objectstore and the defaults its uploads use.

    ``name``: 3-64 characters from ``A-Z a-z 0-9 _ -`` (validated here, so a typo fails
    before any request). ``compression``: ``"zstd"`` (default) compresses uploads on the
    fly, ``"none"`` sends them as they are. ``expiration_policy``: ``TimeToLive``,
    ``TimeToIdle`` or ``None`` (manual: kept until deleted). ``multipart_threshold``:
    seekable files at least this large are uploaded in parts; ``None`` disables that.
    ``resumable_threshold_bytes`` is the official client's name for the same knob (it
    uses resumable uploads where this client uses multipart, see ``large_upload``);
    ``"none"`` disables it. Pass one of the two, not both.
    """

    __slots__ = ("compression", "expiration_policy", "multipart_threshold", "name")

    def __init__(
        self,
        name: str,
        compression: Compression = "zstd",
        expiration_policy: ExpirationPolicy | None = None,
        resumable_threshold_bytes: int | Literal["none"] | None = None,
        *,
        multipart_threshold: int | None = DEFAULT_MULTIPART_THRESHOLD,
    ) -> None:
        self.name: str = validate_usecase(name)
        self.compression: Compression = validate_compression(compression)
        self.expiration_policy: ExpirationPolicy | None = expiration_policy
        if resumable_threshold_bytes is not None:
            if multipart_threshold != DEFAULT_MULTIPART_THRESHOLD:
                raise ValueError(
                    "pass multipart_threshold or resumable_threshold_bytes (the same "
                    "thing), not both"
                )
            multipart_threshold = parse_threshold(
                resumable_threshold_bytes, "resumable_threshold_bytes"
            )
        elif multipart_threshold is not None and multipart_threshold < 1:
            raise ValueError(
                f"multipart_threshold must be a positive byte count or None, "
                f"got {multipart_threshold!r}"
            )
        self.multipart_threshold: int | None = multipart_threshold

    def __repr__(self) -> str:
        return (
            f"Usecase({self.name!r}, compression={self.compression!r}, "
            f"expiration_policy={self.expiration_policy!r})"
        )
