"""``python -m django_objectstore.server``: see :mod:`django_objectstore.server.cli`."""

from __future__ import annotations

import sys

from django_objectstore.server.cli import main

if __name__ == "__main__":
    sys.exit(main())
