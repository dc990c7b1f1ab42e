"""Health and readiness endpoints (protocol.md §8)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from django_objectstore.server.config import AuthConfig, KeyConfig, ServerConfig
from tests.server.harness import Harness


@pytest.fixture
def private_tempdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point ``tempfile.gettempdir()`` at a private directory for the drain marker."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    return tmp_path


@pytest.mark.parametrize("path", ["/health", "/ready"])
def test_health_endpoints_return_ok_text(private_tempdir: Path, path: str) -> None:
    result = Harness().request("GET", path)
    assert (result.status, result.body) == (200, b"OK")
    assert result.header(
        "content-type",
    ).startswith("text/plain")  # type: ignore[union-attr]


@pytest.mark.parametrize("path", ["/health", "/ready"])
def test_head_on_health_endpoints_has_no_body(private_tempdir: Path, path: str) -> None:
    result = Harness().request("HEAD", path)
    assert (result.status, result.body) == (200, b"")


def test_ready_returns_503_while_the_down_marker_exists(private_tempdir: Path) -> None:
    store = Harness()
    marker = private_tempdir / "objectstore.down"
    marker.touch()
    result = store.request("GET", "/ready")
    assert (result.status, result.body) == (503, b"Shutting down")
    assert store.request("GET", "/health").status == 200
    marker.unlink()
    assert store.request("GET", "/ready").status == 200


def test_health_needs_no_auth_even_when_enforced(private_tempdir: Path, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    public = tmp_path / "k.pem"
    public.write_bytes(
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    config = ServerConfig(
        auth=AuthConfig(enforce=True, keys={"kid": KeyConfig([str(public)], ["object.read"])})
    )
    assert Harness(config).request("GET", "/health").status == 200


def test_other_methods_on_health_return_405(private_tempdir: Path) -> None:
    assert Harness().request("POST", "/health").status == 405
