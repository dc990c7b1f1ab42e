"""Objects that no row references (orphans): finding them, and deleting them on request.

An object becomes an orphan when its row is deleted without the object (a field without
``delete_orphans``, a bulk delete, a crash between upload and ``save``). The objectstore
protocol has no list operation, so orphans can only be found where the store's files
are: an ``embedded:`` store of this project, or a server's storage directory on this
machine (``root``). The store is read through the tiered engine's own listing
(:meth:`TieredBackend.iter_objects`), never over HTTP.

Safety, since deleting is forever:

- references are read first, through every ``ObjectstoreFileField`` of every model and
  the base manager (rows a default manager hides still count), and compared by
  (usecase, scope, key) after parsing the stored names, so two spellings of one name
  can never make a referenced object look unreferenced;
- a row of *any* storage with the same usecase name counts, wherever that storage
  points: sharing a usecase name across stores can only hide orphans, never delete a
  referenced object;
- objects created less than ``older_than`` (default one hour) before the run started
  are left alone: an upload whose row is not saved yet looks exactly like an orphan;
- just before an object is deleted, the rows are asked again for its name, so a row
  saved during the run keeps its object.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.core.files.storage import InvalidStorageError

from django_objectstore.exceptions import ObjectstoreFieldError
from django_objectstore.fields import ObjectstoreFileField
from django_objectstore.fields.references import FieldSource, field_sources, iter_references
from django_objectstore.jobs.embedded import (
    MissingStore,
    embedded_root,
    objectstore_storage,
    require_existing_store,
)
from django_objectstore.server.backends.records import ObjectLocation
from django_objectstore.server.backends.tiered import ListedObject, OldFormatError, TieredBackend
from django_objectstore.storage.names import join_name
from django_objectstore.storage.storage import objectstore_aliases
from django_objectstore.wire.scopes import Scopes, format_scopes
from django_objectstore.wire.timestamps import ceil_second, format_timestamp

__all__ = [
    "CSV_HEADER",
    "DATABASE_FILE",
    "DEFAULT_OLDER_THAN",
    "NO_LIST_MESSAGE",
    "Orphan",
    "OrphanScan",
    "OrphanSummary",
    "OrphansError",
    "Store",
    "find_stores",
    "open_store",
    "referenced_keys",
]

DEFAULT_OLDER_THAN = timedelta(hours=1)
"""Objects younger than this are never orphans: their row may not be saved yet."""
DATABASE_FILE = "objects.sqlite3"
"""The file that marks a directory as a store of the tiered engine."""
NO_LIST_MESSAGE = "objectstore has no list operation; run this on the server's machine with --root"

_MEMORY_MESSAGE = "a memory:// store lives in one process's memory; there is nothing to list"

Key = tuple[Scopes, str]


class OrphansError(Exception):
    """The orphans of a store cannot be found (a remote store, a storage that cannot be
    resolved); nothing was listed or deleted."""


@dataclass(frozen=True)
class Store:
    """One usecase in one store directory, and the aliases that use it."""

    root: Path
    usecase: str
    aliases: tuple[str, ...]

    @property
    def where(self) -> str:
        names = ", ".join(repr(alias) for alias in self.aliases) or "--root"
        return f"usecase {self.usecase} in {self.root} (storage {names})"


@dataclass
class Orphan:
    """One unreferenced object and what was done with it."""

    usecase: str
    scopes: Scopes
    key: str
    size: int
    created: datetime | None
    action: str  # "would delete", "deleted", "kept: referenced meanwhile" or "failed"
    error: str = ""

    @property
    def scope(self) -> str:
        return format_scopes(self.scopes)

    @property
    def name(self) -> str:
        """The name a row would hold: ``<scope>/<key>``."""
        return f"{self.scope}/{self.key}"

    def csv_row(self) -> list[str]:
        created = format_timestamp(self.created) if self.created is not None else ""
        return [self.usecase, self.scope, self.key, str(self.size), created, self.action]


CSV_HEADER = ["usecase", "scope", "key", "size", "created", "action"]


@dataclass
class OrphanSummary:
    listed: int = 0
    referenced: int = 0
    too_new: int = 0
    orphans: int = 0
    orphan_bytes: int = 0
    deleted: int = 0
    failed: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def line(self, *, delete: bool) -> str:
        done = f"deleted {self.deleted}, failed {self.failed}" if delete else "dry run"
        return (
            f"listed {self.listed}, referenced {self.referenced}, too new {self.too_new}, "
            f"orphaned {self.orphans} ({self.orphan_bytes} bytes), {done}, "
            f"elapsed {self.elapsed:.1f}s"
        )


def find_stores(
    aliases: Sequence[str] = (), root: str | os.PathLike[str] | None = None
) -> list[Store]:
    """The stores (directory and usecase) of the ``aliases`` (default: every objectstore
    storage), each once.

    With ``root`` every storage is taken to keep its objects in that directory (a
    server's storage directory). Without it, a storage must be ``embedded:``; any
    other is an :class:`OrphansError`. A store that does not exist is a
    :class:`MissingStore` naming the path, and nothing is created.
    """
    known = objectstore_aliases()
    unknown = [alias for alias in aliases if alias not in known]
    if unknown:
        raise OrphansError(
            f"no objectstore storage {', '.join(map(repr, unknown))} in STORAGES; "
            f"known: {', '.join(known) or 'none'}"
        )
    grouped: dict[tuple[Path, str], list[str]] = {}
    for alias in dict.fromkeys(aliases or known):
        storage = objectstore_storage(alias)
        if root is not None:
            directory = Path(os.path.abspath(root))
        else:
            require_existing_store(storage, f"storage {alias!r}")
            found = embedded_root(storage)
            if found is None:
                url = storage.resolved_base_url()
                reason = _MEMORY_MESSAGE if url.startswith("memory:") else NO_LIST_MESSAGE
                raise OrphansError(f"storage {alias!r} ({url}): {reason}")
            directory = found
        grouped.setdefault((directory, storage.usecase.name), []).append(alias)
    stores = [Store(path, usecase, tuple(names)) for (path, usecase), names in grouped.items()]
    for store in stores:
        _require_database(store.root, given=root is not None)
    return stores


def _require_database(root: Path, *, given: bool) -> None:
    origin = "--root" if given else "the embedded store"
    if not root.is_dir():
        raise MissingStore(
            f"{origin} {root} does not exist; nothing was read and no empty store was created"
        )
    if not (root / DATABASE_FILE).is_file():
        raise MissingStore(
            f"{origin} {root} holds no objectstore ({DATABASE_FILE} is missing): point it at "
            f"the directory a server runs on (OS__STORAGE__PATH); nothing was read or created"
        )


def open_store(store: Store) -> TieredBackend:
    """The engine's backend over ``store.root`` (which must exist; see :func:`find_stores`)."""
    try:
        return TieredBackend(store.root)
    except OldFormatError as error:
        raise OrphansError(str(error)) from None
    except (OSError, sqlite3.Error) as error:  # not writable by this user, a broken file
        raise OrphansError(f"cannot open the objectstore in {store.root}: {error}") from None


def _sources_of(usecase: str) -> list[FieldSource[ObjectstoreFileField]]:
    """Every field whose storage has ``usecase`` (rows of any store with that name count)."""
    chosen = []
    for source in field_sources(ObjectstoreFileField):
        try:
            same = source.usecase == usecase
        except (InvalidStorageError, ObjectstoreFieldError) as error:
            raise OrphansError(
                f"cannot tell which objects {source.label} references: {error}; fix its "
                f"storage before looking for orphans"
            ) from None
        if same:
            chosen.append(source)
    return chosen


def referenced_keys(sources: Iterable[FieldSource[Any]]) -> set[Key]:
    """The (scope, key) of every row of ``sources``, hidden rows included.

    Names that are not ``<scope>/<key>`` reference no object and are left out.
    """
    keys: set[Key] = set()
    for source in sources:
        for reference in iter_references(source):
            if reference.key:
                keys.add((reference.scopes, reference.key))
    return keys


class OrphanScan:
    """Lists one store and yields its orphans; deletes them when ``delete`` is set.

    ``summary`` counts as the scan goes; ``tick`` is called after each listed object
    (for a progress line). ``now`` is when the run started: objects created after
    ``now - older_than`` (to the second) are left alone.
    """

    def __init__(
        self,
        store: Store,
        summary: OrphanSummary,
        *,
        delete: bool = False,
        older_than: timedelta = DEFAULT_OLDER_THAN,
        now: datetime,
        page_size: int = 1000,
        tick: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.summary = summary
        self.delete = delete
        # Creation times are stored rounded up to whole seconds: an object stamped at or
        # before the cutoff was created before it.
        self.cutoff = ceil_second(now) - older_than
        self.page_size = page_size
        self.tick = tick
        self.sources = _sources_of(store.usecase)

    def run(self) -> Iterator[Orphan]:
        referenced = referenced_keys(self.sources)  # before listing: see the module doc
        backend = open_store(self.store)
        try:
            for listed in backend.iter_objects(self.store.usecase, page_size=self.page_size):
                orphan = self._judge(listed, referenced)
                if self.tick is not None:
                    self.tick()
                if orphan is not None:
                    if self.delete:
                        self._delete(backend, orphan)
                    yield orphan
        finally:
            backend.close()

    def _judge(self, listed: ListedObject, referenced: set[Key]) -> Orphan | None:
        summary = self.summary
        summary.listed += 1
        if (listed.scopes, listed.key) in referenced:
            summary.referenced += 1
            return None
        if listed.created is None or listed.created > self.cutoff:
            summary.too_new += 1
            return None
        summary.orphans += 1
        summary.orphan_bytes += listed.size
        return Orphan(
            listed.usecase, listed.scopes, listed.key, listed.size, listed.created, "would delete"
        )

    def _delete(self, backend: TieredBackend, orphan: Orphan) -> None:
        if self._referenced_now(orphan):
            orphan.action = "kept: referenced meanwhile"
            self.summary.orphans -= 1
            self.summary.orphan_bytes -= orphan.size
            self.summary.referenced += 1
            return
        try:
            backend.delete(ObjectLocation(orphan.usecase, orphan.scopes, orphan.key))
        except Exception as error:
            orphan.action, orphan.error = "failed", str(error) or type(error).__name__
            self.summary.failed += 1
            return
        orphan.action = "deleted"
        self.summary.deleted += 1

    def _referenced_now(self, orphan: Orphan) -> bool:
        """Whether a row saved since the references were read holds the object's name."""
        try:
            name = join_name(orphan.scopes, orphan.key)
        except ValueError:
            return False  # no row can hold a name that cannot be written
        return any(
            source.rows().filter(**{source.field.attname: name}).exists() for source in self.sources
        )
