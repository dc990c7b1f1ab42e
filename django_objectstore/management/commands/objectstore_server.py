"""``manage.py objectstore_server``: serve the project's embedded store over HTTP."""

from __future__ import annotations

import logging
import os
from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from django_objectstore.jobs.embedded import embedded_roots

DEFAULT_ADDR = "127.0.0.1:8888"
WORKERS_LOG_FORMAT = "%(asctime)s %(levelname)s [%(process)d] %(name)s %(message)s"


class Command(BaseCommand):
    help = (
        "Serve the directory of this project's embedded: storages with the objectstore "
        "server, so other processes and services can share it. Configured like "
        "`python -m django_objectstore.server run` (OS__* variables), with options on top."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--addr",
            help=f"host:port to listen on; port 0 picks a free one (default: OS__HTTP_ADDR "
            f"or {DEFAULT_ADDR}).",
        )
        parser.add_argument(
            "--path", help="Storage directory (default: the one the embedded: storages use)."
        )
        parser.add_argument("-c", "--config", help="A server YAML config file.")
        parser.add_argument(
            "--auth-enforce",
            choices=["true", "false"],
            help="Enforce authentication (default: true when keys are configured).",
        )
        parser.add_argument(
            "--auth-keys",
            metavar="MAP",
            help='Key directory in the OS__AUTH__KEYS syntax, e.g. {kid={key_files=["pub.pem"],'
            'max_permissions=["object.read"]}}',
        )
        parser.add_argument(
            "--workers",
            type=int,
            metavar="N",
            help="Server processes on one port (default: OS__WORKERS or 1; about one per core).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            # Imported here: the HTTP server comes with the `server` extra, and the
            # rest of the package (and `manage.py help`) works without it.
            from django_objectstore.server import create_app
            from django_objectstore.server.hosting import ConfigError, load_config, serve
            from django_objectstore.server.hosting.settings_loader import (
                check_workers,
                parse_http_addr,
            )
            from django_objectstore.server.hosting.workers import serve_workers
        except ImportError as error:
            raise CommandError(str(error)) from error
        try:
            if options["addr"]:
                parse_http_addr(options["addr"], "--addr")
            environ = self._environ(options)
            config = load_config(environ, options["config"])
            if options["workers"] is not None:
                config.workers = options["workers"]
                check_workers(config, "--workers")
            host, port = parse_http_addr(config.http_addr, "--addr")
            app = create_app(config) if config.workers == 1 else None
        except (ConfigError, ValueError, OSError) as error:
            raise CommandError(str(error)) from error

        def ready(url: str) -> None:
            # The first line names the real URL (also with port 0): scripts parse it.
            self.stdout.write(f"objectstore listening on {url}")
            self.stdout.write(f"storage directory {config.storage.path}; stop with Ctrl-C")
            self.stdout.flush()

        try:
            if app is not None:
                serve(app, host, port, ready_callback=ready)
            else:
                # Each worker is a fresh interpreter without this project's logging
                # settings: its records go to stderr, tagged with its pid.
                serve_workers(
                    config,
                    host,
                    port,
                    ready_callback=ready,
                    log_format=WORKERS_LOG_FORMAT,
                    log_level=logging.INFO,
                )
        except (OSError, RuntimeError) as error:
            raise CommandError(f"the objectstore server failed: {error}") from error
        self.stdout.write("objectstore stopped")

    def _environ(self, options: dict[str, Any]) -> dict[str, str]:
        """``OS__*`` variables of the process, with the command's options on top."""
        environ = dict(os.environ)
        if options["path"] or "OS__STORAGE__PATH" not in environ:
            environ["OS__STORAGE__TYPE"] = "filesystem"
            environ["OS__STORAGE__PATH"] = str(self._storage_path(options["path"]))
        environ["OS__HTTP_ADDR"] = options["addr"] or environ.get("OS__HTTP_ADDR", DEFAULT_ADDR)
        if options["auth_keys"]:
            environ["OS__AUTH__KEYS"] = options["auth_keys"]
        if options["auth_enforce"]:
            environ["OS__AUTH__ENFORCE"] = options["auth_enforce"]
        elif "OS__AUTH__ENFORCE" not in environ and not options["config"]:
            environ["OS__AUTH__ENFORCE"] = "true" if "OS__AUTH__KEYS" in environ else "false"
        return environ

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
            raise CommandError(
                f"the storages use several embedded directories ({listed}); pick one with --path"
            )
        return roots[0]
