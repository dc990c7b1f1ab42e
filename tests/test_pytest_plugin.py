"""The pytest plugin's fixtures, used as a project's own test suite would use them."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import urllib3
from objectstore_client import Client, SecretKey, TimeToLive, Usecase

from django_objectstore.pytest_plugin import ObjectstoreAuthServer, ObjectstoreServer
from django_objectstore.server import OffsetClock
from django_objectstore.server.backends.tiered import TieredBackend


def test_server_value_is_its_base_url(objectstore_server: ObjectstoreServer) -> None:
    assert isinstance(objectstore_server, str)
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", objectstore_server)
    assert objectstore_server == objectstore_server.url
    assert objectstore_server.path.is_dir()
    assert objectstore_server.config.storage.path == str(objectstore_server.path)


def test_server_answers_health(objectstore_server: ObjectstoreServer) -> None:
    response = urllib3.request("GET", objectstore_server + "/health")
    assert response.status == 200
    assert response.data == b"OK"


def test_official_client_round_trip_stores_on_disk(
    objectstore_server: ObjectstoreServer,
    objectstore_usecase: str,
    objectstore_scope: dict[str, str],
) -> None:
    session = Client(objectstore_server).session(Usecase(objectstore_usecase), **objectstore_scope)
    key = session.put(b"hello", key="greeting")
    found = session.get(key)
    assert found is not None
    assert found.payload.read() == b"hello"
    stored = TieredBackend(objectstore_server.path, fsync=False)
    assert [listed.key for listed in stored.iter_objects(objectstore_usecase)] == ["greeting"]
    stored.close()


def test_moving_the_clock_expires_objects(
    objectstore_server: ObjectstoreServer,
    objectstore_clock: OffsetClock,
    objectstore_usecase: str,
    objectstore_scope: dict[str, str],
) -> None:
    assert objectstore_clock is objectstore_server.clock
    usecase = Usecase(objectstore_usecase, expiration_policy=TimeToLive(timedelta(hours=1)))
    session = Client(objectstore_server).session(usecase, **objectstore_scope)
    key = session.put(b"short-lived")
    objectstore_clock.advance(timedelta(hours=2))
    assert session.get(key) is None


def test_clock_is_reset_between_tests(
    objectstore_clock: OffsetClock,
    objectstore_usecase: str,
    objectstore_server: ObjectstoreServer,
    objectstore_scope: dict[str, str],
) -> None:
    # Runs after the test above moved the clock two hours: a 1-hour object lives.
    usecase = Usecase(objectstore_usecase, expiration_policy=TimeToLive(timedelta(hours=1)))
    session = Client(objectstore_server).session(usecase, **objectstore_scope)
    key = session.put(b"alive")
    assert session.get(key) is not None


def test_usecase_and_scope_are_fresh_and_valid(
    objectstore_usecase: str, objectstore_scope: dict[str, str]
) -> None:
    assert re.fullmatch(r"t-[0-9a-f]{12}", objectstore_usecase)
    assert set(objectstore_scope) == {"org", "project"}
    Usecase(objectstore_usecase)  # the official client's name rule


@pytest.mark.parametrize("attempt", [1, 2])
def test_each_test_gets_another_usecase(
    objectstore_usecase: str, attempt: int, request: pytest.FixtureRequest
) -> None:
    seen = request.config.stash.setdefault(_SEEN, set())
    assert objectstore_usecase not in seen
    seen.add(objectstore_usecase)


_SEEN = pytest.StashKey[set[str]]()


def test_auth_server_rejects_requests_without_a_token(
    objectstore_auth_server: ObjectstoreAuthServer, objectstore_usecase: str
) -> None:
    response = urllib3.request(
        "GET", f"{objectstore_auth_server}/v1/objects/{objectstore_usecase}/_/k"
    )
    assert response.status == 400


def test_auth_server_accepts_the_generated_key(
    objectstore_auth_server: ObjectstoreAuthServer,
    objectstore_usecase: str,
    objectstore_scope: dict[str, str],
) -> None:
    assert objectstore_auth_server.private_key_pem.startswith("-----BEGIN PRIVATE KEY-----")
    assert objectstore_auth_server.public_key_path.read_text().startswith("-----BEGIN PUBLIC KEY")
    token = SecretKey(objectstore_auth_server.kid, objectstore_auth_server.private_key_pem)
    client = Client(objectstore_auth_server, token=token)
    session = client.session(Usecase(objectstore_usecase), **objectstore_scope)
    key = session.put(b"secret")
    found = session.get(key)
    assert found is not None
    assert found.payload.read() == b"secret"
