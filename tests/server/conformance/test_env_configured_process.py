"""The server started the way the official client's e2e harness starts the real one.

A separate process on a fixed port, configured only through ``OS__*`` variables
(including the key directory in the env-map syntax), polled on ``/health`` until it
answers, then driven over HTTP by the official client and by raw requests.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta

import objectstore_client
import pytest
import urllib3

from tests.server.processes import free_port, server_env, start_quiet_server, stop, wait_healthy
from tests.signing_keys import SigningKey

START_DEADLINE = 20.0
KID = "test_kid"


@pytest.fixture(scope="module")
def e2e_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    """(base URL, private key PEM) of a server with auth enforced, started like the e2e harness."""
    root = tmp_path_factory.mktemp("e2e")
    key = SigningKey()
    private_pem = key.private_pem
    public_path = root / "ed25519.public.pem"
    key.write_public(public_path)
    port = free_port()
    env = server_env(
        OS__HTTP_ADDR=f"127.0.0.1:{port}",
        OS__STORAGE__TYPE="filesystem",
        OS__STORAGE__PATH=str(root / "data"),
        OS__AUTH__ENFORCE="true",
        OS__AUTH__KEYS=(
            f'{{{KID}={{key_files=["{public_path}"],'
            'max_permissions=["object.read","object.write","object.delete"]}}'
        ),
        OS__LOG__LEVEL="trace",
    )
    proc = start_quiet_server(env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, START_DEADLINE)
        yield url, private_pem
    finally:
        stop(proc)


@pytest.fixture
def official(e2e_server: tuple[str, str]) -> objectstore_client.Session:
    url, pem = e2e_server
    client = objectstore_client.Client(url, token=objectstore_client.SecretKey(KID, pem))
    return client.session(
        objectstore_client.Usecase("test-usecase"), org=42, project=uuid.uuid4().hex[:12]
    )


def test_env_configured_server_serves_the_official_client(
    official: objectstore_client.Session,
) -> None:
    key = official.put(b"hello world", key="café/ü%20x", compress="none", filename="réport.pdf")
    result = official.get(key)
    assert result is not None
    assert result.payload.read() == b"hello world"
    assert result.metadata.filename == "réport.pdf"
    http = urllib3.PoolManager(retries=False)
    url = official.presigned_object_url("GET", key, duration=timedelta(minutes=5))
    assert http.request("GET", url).data == b"hello world"
    assert http.request("HEAD", url).status == 200
    assert http.request("DELETE", url).status == 403


def test_env_configured_server_enforces_auth(e2e_server: tuple[str, str]) -> None:
    url, _ = e2e_server
    http = urllib3.PoolManager(retries=False)
    no_token = http.request("GET", url + "/v1/objects/test-usecase/org=42/k")
    assert no_token.status == 400
    garbage = http.request(
        "GET", url + "/v1/objects/test-usecase/org=42/k", headers={"x-os-auth": "Bearer x.y.z"}
    )
    assert garbage.status == 401
    health = http.request("GET", url + "/health")
    assert (health.status, health.data) == (200, b"OK")


def test_every_response_carries_an_objectstore_server_header(e2e_server: tuple[str, str]) -> None:
    url, _ = e2e_server
    http = urllib3.PoolManager(retries=False)
    for path in ("/health", "/v1/objects/test-usecase/_/k", "/nowhere"):
        assert http.request("GET", url + path).headers["server"].startswith("objectstore/")


def test_official_client_reads_keys_written_under_auth_with_object_url_tokens(
    official: objectstore_client.Session,
) -> None:
    official.put(b"token", key="with space", compress="none")
    url = official.object_url("with space", token_validity=timedelta(minutes=1))
    response = urllib3.PoolManager(retries=False).request("GET", url)
    assert (response.status, response.data) == (200, b"token")
