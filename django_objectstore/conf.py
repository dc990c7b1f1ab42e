"""The project-wide ``OBJECTSTORE`` settings dict, read on every access.

Storage options live in ``STORAGES[alias]["OPTIONS"]``; this dict holds what is shared
by every storage and by the request layer::

    OBJECTSTORE = {
        "base_url": "http://objectstore.internal:8888",   # default for every storage
        "scope_resolver": "myproject.scopes.resolve",     # request -> mapping or None
        "download_permission": "myproject.perms.can_download",  # optional hook
        "clients": {                                      # clients storages share by name
            "default": {"base_url": "http://objectstore.internal:8888", "retries": 3},
        },
    }

Reading happens on attribute access, so ``override_settings(OBJECTSTORE=...)`` works.
An unknown key raises :class:`~django.core.exceptions.ImproperlyConfigured` listing the
valid ones, so a typo never goes unnoticed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

__all__ = ["DEFAULTS", "DEFAULT_ALIAS", "ObjectstoreSettings", "objectstore_settings"]

DEFAULT_ALIAS = "attachments"
"""The ``STORAGES`` alias an ``ObjectstoreFileField`` and the download view use when none
is named, and the usecase of a storage whose OPTIONS name none (a storage's alias and
its usecase usually share their name)."""

DEFAULTS: dict[str, Any] = {
    "base_url": None,
    "scope_resolver": "django_objectstore.scope.default_scope_resolver",
    "download_permission": None,
    "clients": {},
}
"""Every valid ``OBJECTSTORE`` key and its default."""


class ObjectstoreSettings:
    """Typed access to ``settings.OBJECTSTORE``."""

    def raw(self) -> Mapping[str, Any]:
        """The dict as configured, validated: a mapping with known keys only."""
        value = getattr(settings, "OBJECTSTORE", None)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise ImproperlyConfigured(
                f"settings.OBJECTSTORE must be a dict, got {type(value).__name__}"
            )
        unknown = sorted(set(value) - set(DEFAULTS))
        if unknown:
            raise ImproperlyConfigured(
                f"unknown key(s) {', '.join(map(repr, unknown))} in settings.OBJECTSTORE; "
                f"valid keys are {', '.join(sorted(DEFAULTS))}"
            )
        return value

    def _get(self, key: str) -> Any:
        return self.raw().get(key, DEFAULTS[key])

    @property
    def base_url(self) -> str | None:
        """Default ``base_url`` for storages whose OPTIONS do not set one."""
        value = self._get("base_url")
        if value is not None and not isinstance(value, str):
            raise ImproperlyConfigured(f"OBJECTSTORE['base_url'] must be a string, got {value!r}")
        return value

    @property
    def scope_resolver(self) -> str:
        """Dotted path of ``resolver(request) -> Mapping | None`` used by the middleware."""
        value = self._get("scope_resolver")
        if not isinstance(value, str) or not value:
            raise ImproperlyConfigured(
                f"OBJECTSTORE['scope_resolver'] must be a dotted path string, got {value!r}"
            )
        return value

    @property
    def download_permission(self) -> str | None:
        """Dotted path of ``check(request, name) -> bool`` for the download view, or None."""
        value = self._get("download_permission")
        if value is not None and (not isinstance(value, str) or not value):
            raise ImproperlyConfigured(
                f"OBJECTSTORE['download_permission'] must be a dotted path string or "
                f"None, got {value!r}"
            )
        return value

    @property
    def clients(self) -> Mapping[str, Mapping[str, Any]]:
        """Named client configurations (``client`` option of a storage); see
        :mod:`django_objectstore.storage.clients` for their keys."""
        value = self._get("clients")
        if not isinstance(value, Mapping) or not all(
            isinstance(name, str) and isinstance(config, Mapping) for name, config in value.items()
        ):
            raise ImproperlyConfigured(
                "OBJECTSTORE['clients'] must be a dict of client name -> dict of client "
                "settings, e.g. {'default': {'base_url': 'http://objectstore:8888'}}"
            )
        return value


objectstore_settings = ObjectstoreSettings()
