"""Command-line options that several ``objectstore_*`` commands share."""

from __future__ import annotations

from argparse import ArgumentParser


def add_storage_option(parser: ArgumentParser) -> None:
    """``--storage ALIAS`` (repeatable): the commands' choice of ``STORAGES`` aliases.

    ``options["storage"]`` is the list given, empty for every objectstore storage.
    """
    parser.add_argument(
        "--storage",
        action="append",
        default=[],
        metavar="ALIAS",
        help="Only this STORAGES alias (repeatable; default: every objectstore storage).",
    )
