"""The client: a transport chosen by URL scheme, credentials and metrics, shared by sessions."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from os import PathLike
from types import TracebackType
from typing import Any

from django_objectstore import __version__
from django_objectstore.client.auth import Credentials, SecretKey, TokenProvider
from django_objectstore.client.metrics import MetricsBackend
from django_objectstore.client.session import Session
from django_objectstore.client.transports import HttpTransport, InProcessTransport, Transport
from django_objectstore.client.usecase import Usecase
from django_objectstore.wire.scopes import make_scopes

USER_AGENT = f"django-objectstore/{__version__}"
SCHEMES = ("http://", "https://", "embedded:", "memory://")


def make_transport(
    base_url: str,
    *,
    retries: int,
    timeout_ms: float | None,
    connection_kwargs: Mapping[str, Any] | None,
) -> Transport:
    """The transport for ``base_url``'s scheme; ``ValueError`` for unknown schemes."""
    lowered = base_url.lower()
    if lowered.startswith(("http://", "https://")):
        return HttpTransport(
            base_url,
            retries=retries,
            timeout_ms=timeout_ms,
            connection_kwargs=connection_kwargs,
            headers={"user-agent": USER_AGENT},
        )
    if lowered.startswith(("embedded:", "memory:")):
        return InProcessTransport.for_url(base_url)
    raise ValueError(
        f"unsupported objectstore URL {base_url!r}: use one of "
        "http://host:port, https://host:port, embedded:///absolute/dir, "
        "embedded:relative/dir or memory://name"
    )


class Client:
    """Talks to one objectstore server; thread-safe, share one per process.

    ``base_url``: ``http(s)://host:port`` (a urllib3 connection pool),
    ``embedded:///dir`` (the server core in process, objects in a directory) or
    ``memory://name`` (in process, in memory). ``retries``: connection attempts retried
    before any byte is sent (started requests are never retried: a streamed body cannot
    be rewound). ``timeout_ms``: read timeout (the longest wait for the next byte of a
    response); ``None`` means the default, 60 s, and ``float("inf")`` waits for ever. A
    timeout raises :class:`ObjectstoreTimeoutError`. The connect/write timeout is 10 s.
    ``connection_kwargs``: passed to the urllib3 pool (``maxsize`` (default 10),
    ``headers``, TLS options, ``timeout``...).
    ``metrics_backend``: receives latency/size metrics. ``token``: a :class:`SecretKey`
    (tokens are minted per usecase and scope and cached) or a fixed JWT string
    (``token_generator`` is accepted as the same thing). ``propagate_traces``: add
    Sentry trace headers (needs ``sentry-sdk``). ``spool_dir`` is accepted (and kept as
    an attribute) for compatibility with the official client, which spools compressed
    uploads to a temporary file there; this client never spools (large files are sent
    in parts read straight from the file), so it has no effect.

    Positional arguments follow the official client's order (``base_url,
    metrics_backend, propagate_traces, retries, timeout_ms, connection_kwargs, token,
    spool_dir``), so code written for it runs unchanged.
    """

    def __init__(
        self,
        base_url: str,
        metrics_backend: MetricsBackend | None = None,
        propagate_traces: bool = False,
        retries: int | None = 3,
        timeout_ms: float | None = None,
        connection_kwargs: Mapping[str, Any] | None = None,
        token: TokenProvider | None = None,
        spool_dir: str | PathLike[str] | None = None,
        *,
        token_generator: TokenProvider | None = None,
        transport: Transport | None = None,
    ) -> None:
        if token is not None and token_generator is not None:
            raise ValueError("pass token or token_generator (the same thing), not both")
        token = token if token is not None else token_generator
        if retries is None:
            retries = 3
        if retries < 0:
            raise ValueError(f"retries must be >= 0, got {retries!r}")
        if timeout_ms is not None and timeout_ms <= 0:
            raise ValueError(f"timeout_ms must be positive or None, got {timeout_ms!r}")
        if token is not None and not isinstance(token, SecretKey | str):
            raise ValueError("token must be a SecretKey or a JWT string")
        self.base_url = base_url
        self.transport: Transport = transport or make_transport(
            base_url, retries=retries, timeout_ms=timeout_ms, connection_kwargs=connection_kwargs
        )
        self.metrics_backend = metrics_backend
        self.spool_dir = spool_dir
        self.token = token
        self.credentials = Credentials(token, _trace_header_source() if propagate_traces else None)
        self.patch_supported = True
        """``False`` once the server answered a PATCH with 405 or 501: keepalives then ask
        with HEAD only."""

    def session(self, usecase: Usecase | str, **scopes: str | int | bool) -> Session:
        """A session for ``usecase`` and the scopes given in order (``org=42, project=1``)."""
        if isinstance(usecase, str):
            usecase = Usecase(usecase)
        return Session(self, usecase, make_scopes(scopes))

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Client({self.base_url!r})"


def _trace_header_source() -> Callable[[], Mapping[str, str]]:
    # Imported here, only when asked for: sentry-sdk is an optional dependency.
    try:
        import sentry_sdk
    except ImportError:
        raise ImportError(
            "propagate_traces=True needs sentry-sdk: pip install sentry-sdk"
        ) from None

    def headers() -> dict[str, str]:
        return dict(sentry_sdk.get_current_scope().iter_trace_propagation_headers())

    return headers
