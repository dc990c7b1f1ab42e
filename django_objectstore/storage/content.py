"""``ObjectstoreContent``: one file to save, with what objectstore should store with it.

Django's ``storage.save(name, content)`` and ``model.file.save(name, content)`` carry
only a name and bytes. Wrapping the content says more for that one save::

    from django_objectstore.storage import ObjectstoreContent

    name = storages["attachments"].save(
        "report.pdf",
        ObjectstoreContent(
            upload,
            expiration_policy="ttl:7 days",  # this file only; "manual" keeps it for ever
            metadata={"event": event_id},    # custom metadata (x-snme-...)
            origin="203.0.113.9",            # who uploaded it
            content_type="application/pdf",  # instead of the upload's or a guess
        ),
    )
    attachment.file.save("report.pdf", ObjectstoreContent(upload, metadata={...}))

Every argument is optional; one not given keeps the storage's behaviour. Other storages
see an ordinary :class:`~django.core.files.base.File`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from django.core.files.base import ContentFile, File

from django_objectstore.storage.expiration import parse_expiration_policy
from django_objectstore.storage.files import SIZE_METADATA
from django_objectstore.wire.expiration import ExpirationPolicy

__all__ = ["NO_SAVE_OPTIONS", "ObjectstoreContent", "SaveOptions", "unwrap_content"]

if TYPE_CHECKING:
    _AnyFile = File[Any]
else:
    _AnyFile = File  # not subscriptable at runtime


@dataclass(frozen=True)
class SaveOptions:
    """What one save asks for besides the bytes (see :class:`ObjectstoreContent`)."""

    expiration_given: bool = False
    """Whether ``expiration_policy`` was given (``None`` then means manual)."""
    expiration_policy: ExpirationPolicy | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    origin: str | None = None
    content_type: str | None = None


NO_SAVE_OPTIONS = SaveOptions()


class ObjectstoreContent(_AnyFile):
    """``content`` (a Django ``File``, a binary file object, ``bytes``, or ``str`` stored
    as UTF-8) with
    options for the one save it is passed to.

    ``expiration_policy``: a policy or a string as the storage option takes it
    (``"ttl:7 days"``, ``"tti:90 days"``, ``"manual"``), instead of the storage's.
    ``metadata``: custom metadata (``str`` to ``str``; ``size`` is the storage's own).
    ``origin``: where the file came from (objectstore's ``origin`` metadata).
    ``content_type``: stored instead of the upload's content type or a guess.
    Invalid values raise ``ValueError`` here, before any upload.
    """

    def __init__(
        self,
        content: File[Any] | IO[bytes] | bytes | str,
        name: str | None = None,
        *,
        expiration_policy: ExpirationPolicy | str | None = None,
        metadata: Mapping[str, str] | None = None,
        origin: str | None = None,
        content_type: str | None = None,
    ) -> None:
        if isinstance(content, str):
            content = content.encode()
        if isinstance(content, bytes):
            content = ContentFile(content, name=name)
        super().__init__(content, name or getattr(content, "name", None))
        self.content = content
        """The wrapped content, as given (``bytes`` and ``str`` as a ``ContentFile``)."""
        self.options = SaveOptions(
            expiration_given=expiration_policy is not None,
            expiration_policy=parse_expiration_policy(expiration_policy),
            metadata=_checked_metadata(metadata),
            origin=_checked_text("origin", origin),
            content_type=_checked_text("content_type", content_type),
        )


def _checked_metadata(metadata: Mapping[str, str] | None) -> dict[str, str]:
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping):
        raise ValueError(f"metadata must be a dict of str to str, got {metadata!r}")
    for key, value in metadata.items():
        if not isinstance(key, str) or not key or not isinstance(value, str):
            raise ValueError(f"metadata must map non-empty str keys to str values: {key!r}")
        if key.lower() == SIZE_METADATA:
            raise ValueError(
                f"metadata key {key!r} is reserved: the storage records the file's size there"
            )
    return dict(metadata)


def _checked_text(option: str, value: object) -> str | None:
    if value is not None and (not isinstance(value, str) or not value):
        raise ValueError(f"{option} must be a non-empty string, got {value!r}")
    return value


def unwrap_content(content: File[Any]) -> tuple[File[Any], SaveOptions]:
    """The content to upload and the options of this save (none for plain content)."""
    if not isinstance(content, ObjectstoreContent):
        return content, NO_SAVE_OPTIONS
    inner = content.content
    if not isinstance(inner, File) or (inner.name is None and content.name is not None):
        inner = File(inner, content.name)
    return inner, content.options
