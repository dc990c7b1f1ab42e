"""``python -m django_objectstore.server [-c FILE] {run,healthcheck,version}``.

Mirrors the real objectstore binary's CLI and configuration (``OS__*`` variables over
an optional YAML file), so scripts written for one run the other.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Mapping, Sequence

import urllib3

from django_objectstore import __version__
from django_objectstore.server.app import create_app
from django_objectstore.server.config import LogLevel
from django_objectstore.server.hosting.runner import serve
from django_objectstore.server.hosting.settings_loader import (
    ConfigError,
    check_workers,
    describe_config,
    load_config,
    parse_http_addr,
)
from django_objectstore.server.hosting.workers import serve_workers

PROG = "python -m django_objectstore.server"
HEALTH_TIMEOUT = 5.0
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s %(message)s"
# With several workers each line says which process wrote it.
WORKERS_LOG_FORMAT = "%(asctime)s %(levelname)s [%(process)d] %(name)s %(message)s"
_LEVELS: dict[LogLevel, int] = {
    "trace": logging.DEBUG,  # Python has no TRACE level; DEBUG is the most verbose
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "error": logging.ERROR,
    "off": logging.CRITICAL + 10,
}
logger = logging.getLogger("django_objectstore.server")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="An objectstore-compatible server (HTTP v1 protocol).",
        epilog="Configuration: OS__* environment variables override the YAML file.",
    )
    parser.add_argument("-c", "--config", metavar="FILE", help="YAML configuration file")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run_parser = commands.add_parser("run", help="serve until SIGINT or SIGTERM")
    run_parser.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="server processes on one port (default: OS__WORKERS or 1; about one per core)",
    )
    commands.add_parser("healthcheck", help="exit 0 if the server at OS__HTTP_ADDR is healthy")
    commands.add_parser("version", help="print the version")
    return parser


def _error(message: str) -> int:
    print(f"objectstore: error: {message}", file=sys.stderr, flush=True)
    return 1


def run(config_file: str | None, environ: Mapping[str, str], workers: int | None = None) -> int:
    # Logs go to stderr, like the real server's; stdout only says where it listens.
    # Configured before loading, so warnings about ignored settings show; the level
    # from the configuration applies from then on.
    log_format = WORKERS_LOG_FORMAT if (workers or 1) > 1 else LOG_FORMAT
    logging.basicConfig(level=logging.INFO, format=log_format, stream=sys.stderr)
    try:
        config = load_config(environ, config_file)
        if workers is not None:
            config.workers = workers
            check_workers(config, "--workers")
        host, port = parse_http_addr(config.http_addr)
        app = create_app(config) if config.workers == 1 else None
    except (ConfigError, ValueError, OSError) as error:
        return _error(str(error))

    def ready(url: str) -> None:
        print(f"objectstore listening on {url}", flush=True)

    level = _LEVELS[config.logging.level]
    logging.getLogger().setLevel(level)
    if config.workers > 1:
        log_format = WORKERS_LOG_FORMAT
        for handler in logging.getLogger().handlers:
            handler.setFormatter(logging.Formatter(log_format))
    logger.debug("effective configuration: %s", describe_config(config))
    # uvicorn's own records stay at WARNING and above: below that it logs every ASGI
    # message (with query strings) at its TRACE level, and start-up chatter at INFO.
    uvicorn_level = max(level, logging.WARNING)
    try:
        if app is not None:
            serve(app, host, port, ready_callback=ready, log_level=uvicorn_level)
        else:
            serve_workers(
                config,
                host,
                port,
                ready_callback=ready,
                log_level=level,
                log_format=log_format,
                uvicorn_level=uvicorn_level,
            )
    except (OSError, RuntimeError) as error:
        return _error(str(error))
    print("objectstore stopped", flush=True)
    return 0


def healthcheck(config_file: str | None, environ: Mapping[str, str]) -> int:
    try:
        config = load_config(environ, config_file, require_keys=False, warn=False)
        host, port = parse_http_addr(config.http_addr)
    except ConfigError as error:
        return _error(str(error))
    host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)
    netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        response = urllib3.request(
            "GET", f"http://{netloc}/health", timeout=HEALTH_TIMEOUT, retries=False
        )
    except urllib3.exceptions.HTTPError as error:
        return _error(f"healthcheck of http://{netloc} failed: {error}")
    if response.status != 200:
        return _error(f"healthcheck of http://{netloc} answered {response.status}")
    print("OK", flush=True)
    return 0


def main(argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> int:
    args = _parser().parse_args(argv)
    env = os.environ if environ is None else environ
    if args.command == "version":
        print(f"objectstore (django-objectstore) {__version__}", flush=True)
        return 0
    if args.command == "healthcheck":
        return healthcheck(args.config, env)
    return run(args.config, env, args.workers)
