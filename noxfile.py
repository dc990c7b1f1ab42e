"""The supported-versions matrix, run by ``.ci/run`` after the default suite.

``bash scripts/test`` (the README's command) covers Python 3.11 with the newest
dependencies that support it and SQLite. These sessions add:

- ``floors``: Python 3.11, Django 5.2 and every dependency at its declared minimum
  (``ci/floors.txt``), so the floors in ``pyproject.toml`` are ones the tests pass with;
- ``tests-3.12`` with Django 6.0 and ``tests-3.13`` with Django 6.1, the newest of
  everything else;
- ``postgres``: the Django layer and the commands against PostgreSQL
  (``DATABASE_URL``), which ``.ci/run`` starts.

Every session runs with ``-W error``: a deprecation in a supported version fails CI.
"""

from __future__ import annotations

import os

import nox

nox.options.default_venv_backend = "venv"
nox.options.reuse_existing_virtualenvs = False

MATRIX = [("3.12", "Django>=6.0,<6.1"), ("3.13", "Django>=6.1,<6.2")]
PYTEST = ("python", "-m", "pytest", "-n", "2", "-W", "error", "-p", "no:cacheprovider")


def _install(session: nox.Session, *extra: str) -> None:
    session.install("--upgrade", "pip>=25.1")
    session.install("-e", ".[server,sentry]", "--group", "test", *extra)


@nox.session(python="3.11")
def floors(session: nox.Session) -> None:
    """Python 3.11 with Django 5.2 and every dependency at its floor."""
    _install(session, "--constraint", "ci/floors.txt")
    session.run(*PYTEST, *session.posargs)


@nox.session(name="tests")
@nox.parametrize(("python", "django"), MATRIX, ids=[python for python, _ in MATRIX])
def tests(session: nox.Session, django: str) -> None:
    """The whole suite on a newer Python and Django with the newest dependencies."""
    _install(session, django)
    session.run(*PYTEST, *session.posargs)


@nox.session(python="3.11")
def postgres(session: nox.Session) -> None:
    """The Django layer and the commands against PostgreSQL."""
    if not os.environ.get("DATABASE_URL"):
        session.error("DATABASE_URL is not set: .ci/run starts PostgreSQL and sets it")
    _install(session, "psycopg[binary]>=3.1")
    session.run(*PYTEST, "tests/django", "tests/test_pytest_plugin.py", *session.posargs)
