"""URLs of stored files: :meth:`ObjectstoreStorage.url` for each ``url_mode``.

No URL costs a network request: ``proxy`` reverses this app's download view, while
``presigned`` and ``direct`` URLs are built (and signed) by the client session.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from django.urls import reverse

from django_objectstore.expiration import parse_duration_option
from django_objectstore.storage_support import proxy_default_alias

if TYPE_CHECKING:
    from django_objectstore.storage import ObjectstoreStorage

__all__ = ["file_url"]


def file_url(storage: ObjectstoreStorage, name: str, expire: timedelta | int | None) -> str:
    """The URL of ``name`` in ``storage`` (see :meth:`ObjectstoreStorage.url`)."""
    scopes, key = storage.parse_name(name)
    storage.check_scope(scopes, name)
    if storage.url_mode == "proxy":
        return _proxy_url(storage, name)
    validity = (
        storage.url_expiry if expire is None else parse_duration_option(expire, option="expire")
    )
    session = storage.session_for(scopes)
    if storage.url_mode == "presigned":
        return session.presigned_object_url("GET", key, validity)
    if storage.signing_key is not None:
        return session.object_url(key, token_validity=validity)
    return session.object_url(key)


def _proxy_url(storage: ObjectstoreStorage, name: str) -> str:
    """The download view; ``?storage=<alias>`` unless it is the view's default alias."""
    url = reverse("django_objectstore:download", kwargs={"name": name})
    alias = storage.configured_alias
    if alias is not None and alias != proxy_default_alias():
        url += "?" + urlencode({"storage": alias})
    return url
