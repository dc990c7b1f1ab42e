"""The objectstore file storage: :class:`ObjectstoreStorage` and what it is made of.

- ``storage``: the class itself (configuration, sessions, saving, reading, URLs) and
  which ``STORAGES`` aliases are objectstore storages;
- ``options``: every option, defined once, and their offline validation;
- ``connections``: the client and sessions of one storage, and the default base URL;
- ``clients``: clients shared by name between storages (``OBJECTSTORE["clients"]``);
- ``content``: ``ObjectstoreContent``, content with options for one save;
- ``names``: ``<scope>/<key>`` file names;
- ``files``: ``ObjectstoreFile``, the lazy read-only stream ``open()`` returns;
- ``uploads``: what is sent for a file being saved;
- ``errors``: client exceptions become Django's;
- ``expiration``: expiration policies and durations written as settings.
"""

from __future__ import annotations

from django_objectstore.storage.content import ObjectstoreContent
from django_objectstore.storage.storage import ObjectstoreStorage

__all__ = ["ObjectstoreContent", "ObjectstoreStorage"]
