"""``python -m django_objectstore.server``: see :mod:`django_objectstore.server.hosting.cli`."""

from __future__ import annotations

import sys

if __name__ == "__main__":
    try:
        from django_objectstore.server.hosting.cli import main
    except ImportError as error:
        if "django-objectstore[server]" not in str(error):
            raise
        # The server extra is missing: say how to install it, without a traceback.
        print(f"objectstore: error: {error}", file=sys.stderr, flush=True)
        sys.exit(1)
    sys.exit(main())
