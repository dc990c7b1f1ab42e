"""``python -m django_objectstore.server``: see :mod:`django_objectstore.server.hosting.cli`."""

from __future__ import annotations

import sys

from django_objectstore.server.hosting.cli import main

if __name__ == "__main__":
    sys.exit(main())
