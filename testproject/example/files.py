"""What the example's pages show about a stored file, read from objectstore in one HEAD.

A HEAD counts as a read, so showing a time-to-idle file renews its deadline like a
download does (at most once per debounce window: a day for a 30-day TTI).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.exceptions import PermissionDenied

from django_objectstore.fields import ObjectstoreFileField
from django_objectstore.fields.references import FieldSource, Reference
from django_objectstore.jobs.keepalive import Outcome, refresh_group, scope_groups
from django_objectstore.storage import ObjectstoreStorage
from django_objectstore.storage.names import split_name
from django_objectstore.wire.expiration import TimeToIdle, TimeToLive
from testproject.example.models import Attachment

SIZE_METADATA = "size"


@dataclass
class StoredFile:
    """One attachment as the project page lists it."""

    attachment: Attachment
    url: str
    size: int | None = None
    stored_size: int | None = None
    compression: str = "none"
    policy: str = "manual"
    expires: datetime | None = None
    error: str = ""

    @property
    def ratio(self) -> str:
        if not self.size or self.stored_size is None:
            return ""
        return f"{self.stored_size / self.size:.0%}"


def describe_policy(policy: TimeToIdle | TimeToLive | None) -> str:
    if policy is None:
        return "kept until deleted"
    days = policy.delta / timedelta(days=1)
    span = f"{days:g} days" if days >= 1 else str(policy.delta)
    if isinstance(policy, TimeToIdle):
        return f"time to idle, {span} after the last read"
    return f"time to live, {span} after upload"


def describe(attachment: Attachment) -> StoredFile:
    """The attachment's link, sizes, compression and expiration (one HEAD)."""
    name = str(attachment.file.name)
    storage = attachment.file.storage
    assert isinstance(storage, ObjectstoreStorage)
    stored = StoredFile(attachment, url=attachment.file.url)
    try:
        meta = storage.metadata(name)
    except (FileNotFoundError, PermissionDenied) as error:
        stored.error = "missing" if isinstance(error, FileNotFoundError) else "refused"
        return stored
    recorded = meta.custom.get(SIZE_METADATA, "")
    stored.size = int(recorded) if recorded.isdigit() else meta.size
    stored.stored_size = meta.size
    stored.compression = meta.compression or "none"
    stored.policy = describe_policy(meta.expiration_policy)
    stored.expires = meta.time_expires
    return stored


def keepalive(attachments: Iterable[Attachment]) -> list[Outcome]:
    """What ``manage.py objectstore_keepalive`` does, for these rows only."""
    field = Attachment._meta.get_field("file")
    assert isinstance(field, ObjectstoreFileField)
    source = FieldSource(Attachment, field)
    references = []
    for attachment in sorted(attachments, key=lambda a: str(a.file.name)):
        name = str(attachment.file.name)
        scopes, key = split_name(name)
        references.append(Reference(source, attachment.pk, name, scopes, key))
    return [outcome for group in scope_groups(references, 500) for outcome in refresh_group(group)]
