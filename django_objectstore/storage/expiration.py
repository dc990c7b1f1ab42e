"""Expiration policies as settings: ``"tti:30 days"``, ``"ttl:1h"``, ``"manual"``.

``STORAGES[...]["OPTIONS"]["expiration_policy"]`` takes either a policy object
(:class:`~django_objectstore.wire.expiration.TimeToIdle`,
:class:`~django_objectstore.wire.expiration.TimeToLive`, the same classes the client
exports) or a string ``<kind>:<duration>`` where ``kind`` is ``tti`` (time to idle:
expires that long after the last read or write) or ``ttl`` (time to live: expires that
long after the write), and the duration is written as the server accepts it:
``30 days``, ``30d``, ``1h 30m``, ``2 weeks``. ``"manual"`` (or ``None``) keeps
objects until they are deleted.

A policy may also be decided when a file is saved: a callable taking no arguments, or the
dotted path of one (``"myproject.retention.attachments_policy"``), that returns any of
the above (:func:`is_policy_source`, :func:`evaluate_policy_source`). It is called for
every save, so a retention setting changed at runtime applies to the next upload.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from django_objectstore.wire.durations import parse_duration
from django_objectstore.wire.expiration import ExpirationPolicy, TimeToIdle, TimeToLive

__all__ = [
    "PolicySource",
    "check_expiration_option",
    "evaluate_policy_source",
    "is_policy_source",
    "parse_duration_option",
    "parse_expiration_policy",
]

PolicySource = Callable[[], object] | str
"""A callable returning a policy (or a policy string), or the dotted path of one."""

_DOTTED_PATH = re.compile(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)+")


def parse_expiration_policy(
    value: object, *, option: str = "expiration_policy"
) -> ExpirationPolicy | None:
    """A policy object, ``None`` (manual) or a string as above; ``ValueError`` otherwise."""
    if value is None or isinstance(value, TimeToIdle | TimeToLive):
        return value
    if not isinstance(value, str):
        raise ValueError(
            f"{option} must be a TimeToIdle/TimeToLive policy, None or a string such as "
            f"'tti:30 days', 'ttl:1h' or 'manual', got {value!r}"
        )
    text = value.strip()
    if text.lower() == "manual":
        return None
    kind, sep, duration = text.partition(":")
    kind = kind.strip().lower()
    if not sep or kind not in ("tti", "ttl"):
        raise ValueError(
            f"invalid {option} {value!r}: expected 'manual', 'tti:<duration>' or "
            f"'ttl:<duration>', e.g. 'tti:30 days'"
        )
    try:
        delta = parse_duration(duration.strip())
    except ValueError as exc:
        raise ValueError(f"invalid {option} {value!r}: {exc}") from None
    if delta <= timedelta(0):
        raise ValueError(f"invalid {option} {value!r}: the duration must be positive")
    return TimeToIdle(delta) if kind == "tti" else TimeToLive(delta)


def parse_duration_option(value: object, *, option: str) -> timedelta:
    """A positive duration from a ``timedelta``, a number of seconds or a string (``1h``)."""
    if isinstance(value, timedelta):
        delta = value
    elif isinstance(value, int | float) and not isinstance(value, bool):
        delta = timedelta(seconds=value)
    elif isinstance(value, str):
        try:
            delta = parse_duration(value)
        except ValueError as exc:
            raise ValueError(f"invalid {option} {value!r}: {exc}") from None
    else:
        raise ValueError(
            f"{option} must be a timedelta, a number of seconds or a duration string "
            f"such as '1h', got {value!r}"
        )
    if delta <= timedelta(0):
        raise ValueError(f"invalid {option} {value!r}: the duration must be positive")
    return delta


def is_policy_source(value: object) -> bool:
    """Whether ``value`` decides the policy per save: a callable or a dotted path to one.

    Policy strings contain a colon (``tti:30 days``) or are ``manual``, so they never
    look like a dotted path.
    """
    if isinstance(value, str):
        return _DOTTED_PATH.fullmatch(value.strip()) is not None
    return callable(value)


def _load_source(source: PolicySource, option: str) -> Callable[[], object]:
    if not isinstance(source, str):
        return source
    try:
        loaded = import_string(source.strip())
    except ImportError as exc:
        raise ValueError(f"{option} {source!r} cannot be imported: {exc}") from None
    if not callable(loaded):
        raise ValueError(f"{option} {source!r} is not callable")
    return loaded  # type: ignore[no-any-return]


def evaluate_policy_source(
    source: PolicySource, *, option: str = "expiration_policy"
) -> ExpirationPolicy | None:
    """Call ``source`` (importing a dotted path first) and parse what it returns.

    ``ImproperlyConfigured`` when it cannot be imported or returns something that is not
    a policy, naming the source.
    """
    try:
        return parse_expiration_policy(_load_source(source, option)(), option=option)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{option} {_describe(source)}: {exc}") from exc


def check_expiration_option(value: object) -> None:
    """The ``expiration_policy`` option's check: a policy, a policy string, a callable or
    an importable dotted path to one (the callable itself is not called here)."""
    if is_policy_source(value):
        _load_source(value, "expiration_policy")  # type: ignore[arg-type]
    else:
        parse_expiration_policy(value)


def _describe(source: PolicySource) -> str:
    if isinstance(source, str):
        return repr(source)
    module = getattr(source, "__module__", None)
    name = getattr(source, "__qualname__", None)
    return f"{module}.{name}" if module and name else repr(source)
