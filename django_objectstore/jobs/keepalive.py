"""Refreshing the time-to-idle deadline of every referenced object.

References are streamed per field, cut into per-scope groups of at most ``batch_size``
keys, and each group goes to the server as one batch request of keepalive operations
(a batch HEAD, which renews a TTI deadline like any read). At most ``concurrency`` groups
are in flight, so memory stays flat however many rows there are.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from django_objectstore.client import Keepalive, run_batch
from django_objectstore.fields.references import FieldSource, Reference, iter_references


@dataclass
class Outcome:
    """What happened to one reference."""

    reference: Reference
    status: str  # "refreshed", "missing" or "failed"
    error: str = ""


@dataclass
class Summary:
    checked: int = 0
    refreshed: int = 0
    missing: int = 0
    failed: int = 0
    started: float = field(default_factory=time.monotonic)

    def add(self, outcome: Outcome) -> None:
        self.checked += 1
        if outcome.status == "refreshed":
            self.refreshed += 1
        elif outcome.status == "missing":
            self.missing += 1
        else:
            self.failed += 1

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def line(self) -> str:
        return (
            f"checked {self.checked}, refreshed {self.refreshed}, missing {self.missing}, "
            f"failed {self.failed}, elapsed {self.elapsed:.1f}s"
        )


IN_PROCESS_SCHEMES = ("embedded:", "memory:")


def default_concurrency(sources: Iterable[FieldSource[Any]]) -> int:
    """4 batch requests in flight over HTTP; 1 when every store runs in this process.

    An in-process store does its work in the caller's thread, so more threads only
    compete for the interpreter (measured: 10,000 keepalives took 2.5 s with one
    thread and 4.4 s with four).
    """
    urls = [source.storage.resolved_base_url() for source in sources]
    in_process = all(url.startswith(IN_PROCESS_SCHEMES) for url in urls)
    return 1 if in_process else 4


def scope_groups(references: Iterable[Reference], size: int) -> Iterator[list[Reference]]:
    """Consecutive references of one scope, at most ``size`` per group."""
    for _, same_scope in itertools.groupby(references, key=lambda ref: ref.scopes):
        while group := list(itertools.islice(same_scope, size)):
            yield group


def refresh_group(group: list[Reference]) -> list[Outcome]:
    """Send one group as a batch of keepalive operations; every reference gets an outcome."""
    valid = [ref for ref in group if ref.key]
    outcomes = [Outcome(ref, "failed", "malformed name") for ref in group if not ref.key]
    if not valid:
        return outcomes
    session = valid[0].source.storage.session_for(valid[0].scopes)
    try:
        results = list(run_batch(session, [Keepalive(ref.key) for ref in valid], concurrency=1))
    except Exception as error:  # the whole batch failed: every reference in it failed
        return outcomes + [Outcome(ref, "failed", str(error)) for ref in valid]
    for result in results:
        ref = valid[result.index]
        if result.error is not None:
            outcomes.append(Outcome(ref, "failed", str(result.error)))
        elif result.found:
            outcomes.append(Outcome(ref, "refreshed"))
        else:
            outcomes.append(Outcome(ref, "missing"))
    return outcomes


def refresh(
    sources: Iterable[FieldSource[Any]],
    *,
    batch_size: int = 500,
    concurrency: int = 4,
    refresh_group: Callable[[list[Reference]], list[Outcome]] = refresh_group,
) -> Iterator[Outcome]:
    """Refresh every reference of ``sources``, yielding outcomes as groups finish."""
    groups = (
        group for source in sources for group in scope_groups(iter_references(source), batch_size)
    )
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        pending: set[Future[list[Outcome]]] = set()
        for group in groups:
            pending.add(pool.submit(refresh_group, group))
            if len(pending) >= concurrency:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield from future.result()
        for future in pending:
            yield from future.result()


def count_references(source: FieldSource[Any]) -> int:
    """How many references of ``source`` a refresh would check (for a dry run)."""
    return sum(1 for _ in iter_references(source))


DEFAULT_MAX_MISSING_FRACTION = 0.5
"""``--clear-missing`` clears nothing in a store where more than this share of the
references is missing: lost objects are rare, a wrong path or server is not."""


@dataclass
class StoreTally:
    """The references one store (server and usecase) was asked about, for the guard."""

    where: str
    found: int = 0
    missing: int = 0
    missing_references: list[Reference] = field(default_factory=list)

    @property
    def checked(self) -> int:
        return self.found + self.missing

    def implausible(self, max_fraction: float) -> bool:
        """All references missing, or more than ``max_fraction`` of them."""
        if not self.missing:
            return False
        return self.found == 0 or self.missing / self.checked > max_fraction

    def explain(self, max_fraction: float) -> str:
        if self.found == 0:
            return f"all {self.checked} reference(s) checked there are missing"
        share = self.missing / self.checked
        return (
            f"{self.missing} of {self.checked} references ({share:.0%}) are missing, more "
            f"than --max-missing-fraction {max_fraction:g}"
        )


class MissingGuard:
    """Counts found and missing references per store, so ``--clear-missing`` can refuse
    to empty rows when the answer is implausible (the wrong store, not lost files)."""

    def __init__(self, max_fraction: float = DEFAULT_MAX_MISSING_FRACTION) -> None:
        self.max_fraction = max_fraction
        self._stores: dict[tuple[str, str], StoreTally] = {}

    def add(self, outcome: Outcome, *, keep_missing: bool) -> None:
        if outcome.status not in ("refreshed", "missing"):
            return
        storage = outcome.reference.source.storage
        url, usecase = storage.resolved_base_url(), storage.usecase.name
        tally = self._stores.get((url, usecase))
        if tally is None:
            where = f"storage {storage.display_alias!r} ({url}, usecase {usecase})"
            tally = self._stores[(url, usecase)] = StoreTally(where)
        if outcome.status == "refreshed":
            tally.found += 1
        else:
            tally.missing += 1
            if keep_missing:
                tally.missing_references.append(outcome.reference)

    def stores(self) -> list[StoreTally]:
        return list(self._stores.values())


def clear_reference(reference: Reference) -> None:
    """Empty the field of a row whose object is gone (unless the row changed meanwhile)."""
    attname = reference.source.field.attname
    reference.source.model._base_manager.filter(
        pk=reference.pk, **{attname: reference.name}
    ).update(**{attname: ""})
