"""Pre-signed URLs over real HTTP: protocol.md section 7.4 and checklist item 18."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

import pytest
import urllib3
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key
from objectstore_client import Client, SecretKey, Session, Usecase

from django_objectstore.pytest_plugin import ObjectstoreAuthServer
from django_objectstore.server.config import AuthConfig
from django_objectstore.wire.presign import canonical_string
from tests.server.auth.keys import KeyPair, auth_server, key_config

USECASE = "presign-tests"
KEY = "dir/café ü%20x"


@pytest.fixture(scope="module")
def secret(objectstore_auth_server: ObjectstoreAuthServer) -> SecretKey:
    return SecretKey(objectstore_auth_server.kid, objectstore_auth_server.private_key_pem)


@pytest.fixture(scope="module")
def session(objectstore_auth_server: ObjectstoreAuthServer, secret: SecretKey) -> Session:
    session = Client(objectstore_auth_server, token=secret).session(
        Usecase(USECASE, compression="none"), org=42
    )
    session.put(b"signed payload", key=KEY)
    return session


def request(method: str, url: str) -> urllib3.BaseHTTPResponse:
    body = b"x" if method == "PUT" else None
    return urllib3.request(method, url, body=body, retries=False)


def presign(
    server: str,
    pem: str,
    *,
    kid: str,
    path: str = f"/v1/objects/{USECASE}/org=42/k",
    method: str = "GET",
    timestamp: datetime | None = None,
    duration: int = 3600,
    extra: str = "",
) -> str:
    """A URL signed by hand, to vary what the official client will not."""
    stamp = (timestamp or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%M:%SZ")
    query = f"os_kid={quote(kid)}&os_timestamp={stamp}&os_duration={duration}{extra}"
    key = load_pem_private_key(pem.encode(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    signature = key.sign(canonical_string(method, path, query))
    sig = base64.urlsafe_b64encode(signature).rstrip(b"=").decode()
    return f"{server}{path}?{query}&os_sig={sig}"


def test_presigned_get_reads_the_object(session: Session) -> None:
    url = session.presigned_object_url("GET", KEY)
    response = request("GET", url)
    assert response.status == 200
    assert response.data == b"signed payload"


def test_get_signature_also_serves_head(session: Session) -> None:
    assert request("HEAD", session.presigned_object_url("GET", KEY)).status == 200
    assert request("GET", session.presigned_object_url("HEAD", KEY)).status == 200


def test_tampered_signature_is_401(session: Session) -> None:
    url = session.presigned_object_url("GET", KEY)
    head, _, sig = url.rpartition("os_sig=")
    tampered = ("A" if sig[0] != "A" else "B") + sig[1:]
    assert request("GET", head + "os_sig=" + tampered).status == 401
    assert request("GET", head + "os_sig=not-base64!").status == 401


def test_signature_binds_the_path_and_extra_parameters(session: Session) -> None:
    url = session.presigned_object_url("GET", KEY)
    assert request("GET", url.replace("org=42", "org=43")).status == 401
    assert request("GET", url + "&extra=1").status == 401


def test_write_methods_with_a_signature_are_403(session: Session) -> None:
    url = session.presigned_object_url("GET", KEY)
    assert request("PUT", url).status == 403
    assert request("DELETE", url).status == 403


def test_expired_url_is_401(objectstore_auth_server: ObjectstoreAuthServer) -> None:
    server = objectstore_auth_server
    past = datetime.now(UTC) - timedelta(hours=2)
    url = presign(server, server.private_key_pem, kid=server.kid, timestamp=past, duration=3600)
    assert request("GET", url).status == 401


def test_url_signed_in_the_future_beyond_the_skew_is_401(
    objectstore_auth_server: ObjectstoreAuthServer,
) -> None:
    server = objectstore_auth_server
    future = datetime.now(UTC) + timedelta(minutes=5)
    url = presign(server, server.private_key_pem, kid=server.kid, timestamp=future)
    assert request("GET", url).status == 401
    near = datetime.now(UTC) + timedelta(seconds=30)
    url = presign(server, server.private_key_pem, kid=server.kid, timestamp=near)
    assert request("GET", url).status == 404  # authorized; the object does not exist


def test_eight_day_duration_is_400(objectstore_auth_server: ObjectstoreAuthServer) -> None:
    server = objectstore_auth_server
    url = presign(server, server.private_key_pem, kid=server.kid, duration=8 * 86400)
    assert request("GET", url).status == 400


def test_seven_day_duration_is_accepted(
    objectstore_auth_server: ObjectstoreAuthServer, session: Session
) -> None:
    url = session.presigned_object_url("GET", KEY, duration=timedelta(days=7))
    assert request("GET", url).status == 200


def test_unknown_kid_is_401(objectstore_auth_server: ObjectstoreAuthServer) -> None:
    server = objectstore_auth_server
    assert request("GET", presign(server, server.private_key_pem, kid="nobody")).status == 401


@pytest.mark.parametrize(
    "query",
    [
        "os_kid=test_kid&os_duration=60&os_sig=abc",
        "os_kid=test_kid&os_timestamp=yesterday&os_duration=60&os_sig=abc",
        "os_kid=test_kid&os_timestamp=2026-01-01T00:00:00Z&os_duration=-5&os_sig=abc",
        "os_kid=test_kid&os_timestamp=2026-01-01T00:00:00Z&os_duration=1h&os_sig=abc",
    ],
)
def test_missing_or_unparsable_parameters_are_400(
    objectstore_auth_server: ObjectstoreAuthServer, query: str
) -> None:
    url = f"{objectstore_auth_server}/v1/objects/{USECASE}/org=42/k?{query}"
    assert request("GET", url).status == 400


def test_method_check_comes_before_parameter_checks(
    objectstore_auth_server: ObjectstoreAuthServer,
) -> None:
    url = f"{objectstore_auth_server}/v1/objects/{USECASE}/org=42/k?os_sig=x"
    assert request("PUT", url).status == 403
    assert request("GET", url).status == 400


def test_presigned_url_needs_no_usecase_or_scope_in_a_token(
    objectstore_auth_server: ObjectstoreAuthServer,
) -> None:
    server = objectstore_auth_server
    url = presign(server, server.private_key_pem, kid=server.kid, path="/v1/objects/other/_/k")
    assert request("GET", url).status == 404


@pytest.fixture(scope="module")
def write_only_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, KeyPair]]:
    root = tmp_path_factory.mktemp("presign-write-only")
    pair = KeyPair()
    auth = AuthConfig(keys={"w": key_config(pair.write_public(root / "w.pem"), ["object.write"])})
    with auth_server(root / "data", auth) as url:
        yield url, pair


def test_key_without_read_permission_is_403(write_only_server: tuple[str, KeyPair]) -> None:
    url, pair = write_only_server
    assert request("GET", presign(url, pair.private_pem, kid="w")).status == 403


_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _flip_leftover_bit(sig: str) -> str:
    """The same 64 bytes with the last character's unused low bit set (non-canonical)."""
    assert len(sig) == 86  # 64 bytes: the last character carries 2 bits and 4 spare ones
    return sig[:-1] + _ALPHABET[_ALPHABET.index(sig[-1]) ^ 1]


def test_signature_with_padding_is_401(session: Session) -> None:
    url = session.presigned_object_url("GET", KEY)
    assert request("GET", url).status == 200
    assert request("GET", url + "==").status == 401
    assert request("GET", url + "%3D%3D").status == 401


def test_signature_differing_only_in_leftover_bits_is_401(session: Session) -> None:
    url = session.presigned_object_url("GET", KEY)
    head, _, sig = url.rpartition("os_sig=")
    changed = _flip_leftover_bit(sig)
    # Both decode to the same bytes leniently; only the canonical text may verify.
    assert base64.urlsafe_b64decode(changed + "==") == base64.urlsafe_b64decode(sig + "==")
    assert request("GET", head + "os_sig=" + changed).status == 401
    assert request("GET", head + "os_sig=" + sig).status == 200


def test_signature_in_standard_base64_alphabet_is_401(
    objectstore_auth_server: ObjectstoreAuthServer,
) -> None:
    server = objectstore_auth_server
    for attempt in range(200):  # about 1 in 15 signatures has neither "-" nor "_"
        url = presign(server, server.private_key_pem, kid=server.kid, extra=f"&n={attempt}")
        head, _, sig = url.rpartition("os_sig=")
        standard = sig.replace("-", "+").replace("_", "/")
        if standard != sig:
            break
    assert request("GET", url).status == 404  # authorized; the object does not exist
    assert request("GET", head + "os_sig=" + quote(standard, safe="")).status == 401


@pytest.mark.parametrize(
    ("timestamp", "status"),
    [
        ("0001-01-01T00:00:00%2B01:00", 400),  # before year 1 in UTC: not a UTC time
        ("9999-12-31T23:59:59-01:00", 400),  # after year 9999 in UTC
        ("0001-01-01T00:00:00Z", 401),  # - 60 s of skew would overflow; valid, not now
        ("1969-12-31T23:59:59Z", 401),
        ("9999-12-31T23:59:59Z", 401),  # + os_duration passes year 9999; not now
    ],
)
def test_timestamps_at_the_ends_of_the_calendar_are_4xx_without_auth(
    objectstore_auth_server: ObjectstoreAuthServer, timestamp: str, status: int
) -> None:
    query = f"os_kid=test_kid&os_timestamp={timestamp}&os_duration=604800&os_sig=AAAA"
    url = f"{objectstore_auth_server}/v1/objects/{USECASE}/org=42/k?{query}"
    assert request("GET", url).status == status


@pytest.mark.parametrize("duration", ["9" * 5000, "1" + "0" * 30, "18446744073709551616"])
def test_oversized_duration_is_400(
    objectstore_auth_server: ObjectstoreAuthServer, duration: str
) -> None:
    query = f"os_kid=test_kid&os_timestamp=2026-01-01T00:00:00Z&os_duration={duration}&os_sig=A"
    url = f"{objectstore_auth_server}/v1/objects/{USECASE}/org=42/k?{query}"
    assert request("GET", url).status == 400


def test_signed_duration_with_leading_zeros_still_counts_as_seconds(
    objectstore_auth_server: ObjectstoreAuthServer,
) -> None:
    server = objectstore_auth_server
    url = presign(server, server.private_key_pem, kid=server.kid, duration=3600)
    padded_query = url.replace("os_duration=3600", "os_duration=" + "0" * 5000 + "3600")
    assert request("GET", padded_query).status == 401  # parsed; the signature covers the text
