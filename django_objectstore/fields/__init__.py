"""``ObjectstoreFileField`` and what keeps its objects and rows consistent.

- ``field``: the field and its ``FieldFile``; files follow their row into a new scope;
- ``transactions``: uploads whose row never commits are deleted, and objects no row
  references any more are deleted after commit (``delete_orphans=True``);
- ``references``: which rows reference stored objects (one policy: the base manager),
  used by the transactions, the management jobs and the system checks.
"""

from __future__ import annotations

from django_objectstore.fields.field import (
    ObjectstoreFieldFile,
    ObjectstoreFileField,
    ScopeMoveError,
)
from django_objectstore.fields.transactions import discard_rolled_back_uploads

__all__ = [
    "ObjectstoreFieldFile",
    "ObjectstoreFileField",
    "ScopeMoveError",
    "discard_rolled_back_uploads",
]
