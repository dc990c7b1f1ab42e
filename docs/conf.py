"""Sphinx configuration; the version comes from the package so the two cannot drift."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from django_objectstore import __version__

project = "django-objectstore"
author = "django-objectstore developers"
copyright = "2026, django-objectstore developers"
version = release = __version__
extensions = ["myst_parser"]
source_suffix = {".md": "markdown"}
myst_heading_anchors = 3
exclude_patterns = ["_build"]
html_theme = "alabaster"
nitpicky = False
