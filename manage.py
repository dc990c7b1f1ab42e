#!/usr/bin/env python
"""Django's command-line utility for the example site in ``testproject/``."""

from __future__ import annotations

from testproject.__main__ import main

if __name__ == "__main__":
    main()
