"""``manage.py objectstore_server``: serve the project's embedded store over HTTP."""

from __future__ import annotations

import os
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from django_objectstore.embedded import embedded_roots
from django_objectstore.server.app import create_app
from django_objectstore.server.runner import serve
from django_objectstore.server.settings_loader import load_config


class Command(BaseCommand):
    help = (
        "Serve the directory of this project's embedded: storages with the objectstore "
        "server, so other processes and services can share it. Configured like "
        "`python -m django_objectstore.server run` (OS__* variables), with options on top."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--addr", help="Address to listen on, host:port (default: OS__HTTP_ADDR or 127.0.0.1:8888)."
        )
        parser.add_argument(
            "--path", help="Storage directory (default: the one the embedded: storages use)."
        )
        parser.add_argument("-c", "--config", help="A server YAML config file.")
        parser.add_argument(
            "--auth-enforce",
            choices=["true", "false"],
            help="Enforce authentication (default: true when --auth-keys or OS__AUTH__KEYS is set).",
        )
        parser.add_argument(
            "--auth-keys",
            metavar="MAP",
            help='Key directory in the OS__AUTH__KEYS syntax, e.g. {kid={key_files=["pub.pem"],'
            'max_permissions=["object.read"]}}',
        )

    def handle(self, *args: Any, **options: Any) -> None:
        environ = dict(os.environ)
        environ["OS__STORAGE__TYPE"] = "filesystem"
        environ["OS__STORAGE__PATH"] = str(self._storage_path(options["path"]))
        environ["OS__HTTP_ADDR"] = options["addr"] or environ.get("OS__HTTP_ADDR", "127.0.0.1:8888")
        if options["auth_keys"]:
            environ["OS__AUTH__KEYS"] = options["auth_keys"]
        if options["auth_enforce"]:
            environ["OS__AUTH__ENFORCE"] = options["auth_enforce"]
        elif "OS__AUTH__ENFORCE" not in environ:
            environ["OS__AUTH__ENFORCE"] = "true" if "OS__AUTH__KEYS" in environ else "false"
        try:
            config = load_config(environ, options["config"])
        except ValueError as error:
            raise CommandError(str(error)) from error
        host, _, port = config.http_addr.rpartition(":")
        if not host or not port.isdigit():
            raise CommandError(f"--addr must be host:port, got {config.http_addr!r}")

        def ready(url: str) -> None:
            self.stdout.write(
                f"objectstore listening on {url} (storage {config.storage.path}); "
                "stop with Ctrl-C"
            )
            self.stdout.flush()

        serve(create_app(config), host.strip("[]"), int(port), ready_callback=ready)

    def _storage_path(self, explicit: str | None) -> Path:
        if explicit:
            return Path(explicit).resolve()
        roots = embedded_roots()
        if not roots:
            raise CommandError(
                "no storage in settings.STORAGES uses an embedded: base_url; pass --path DIR"
            )
        if len(roots) > 1:
            listed = ", ".join(str(root) for root in roots)
            raise CommandError(f"storages use several embedded directories ({listed}); pick one with --path")
        return roots[0]
