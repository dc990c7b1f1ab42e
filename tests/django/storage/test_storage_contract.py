"""ObjectstoreStorage against the real test server: the Django storage contract."""

from __future__ import annotations

import io
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, SuspiciousFileOperation
from django.core.files.base import ContentFile, File
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings

from django_objectstore.client import Client, SecretKey, Session, Usecase
from django_objectstore.exceptions import ObjectstoreStorageError
from django_objectstore.storage import ObjectstoreStorage
from django_objectstore.wire.scopes import Scopes
from tests.signing_keys import SigningKey


def raw_session(server: str, usecase: str, scopes: Scopes, **kwargs: Any) -> Session:
    return Session(Client(server), Usecase(usecase, **kwargs), scopes)


def test_save_returns_scope_and_server_generated_key(
    storage: ObjectstoreStorage, prefix: str
) -> None:
    name = storage.save(f"{prefix}/docs/report.txt", ContentFile(b"hello"))
    scope_part, _, key = name.partition("/")
    assert scope_part == prefix
    assert len(key) == 36 and key.count("-") == 4  # a UUID from the server


def test_saved_bytes_read_back_identically(storage: ObjectstoreStorage, prefix: str) -> None:
    name = storage.save(f"{prefix}/a.bin", ContentFile(bytes(range(256)) * 10))
    with storage.open(name) as f:
        assert f.read() == bytes(range(256)) * 10


def test_save_sends_original_filename_and_uploaded_content_type(
    storage: ObjectstoreStorage, prefix: str
) -> None:
    upload = SimpleUploadedFile("My Report.pdf", b"%PDF-1.4", content_type="application/x-custom")
    name = storage.save(f"{prefix}/uploads/My_Report.pdf", upload)
    meta = storage.metadata(name)
    assert meta.filename == "My Report.pdf"
    assert meta.content_type == "application/x-custom"


def test_content_type_is_guessed_from_the_name_without_an_upload(
    storage: ObjectstoreStorage, prefix: str
) -> None:
    name = storage.save(f"{prefix}/page.html", ContentFile(b"<p>hi</p>"))
    # Text that is valid UTF-8 is stored with its charset (see docs/storage.md).
    assert storage.metadata(name).content_type == "text/html; charset=utf-8"
    assert storage.metadata(name).filename == "page.html"


def test_text_content_is_stored_as_utf8(storage: ObjectstoreStorage, prefix: str) -> None:
    name = storage.save(f"{prefix}/t.txt", ContentFile("héllo"))
    assert storage.open(name).read() == "héllo".encode()
    assert storage.size(name) == len("héllo".encode())


def test_unseekable_stream_is_spooled_and_its_size_counted(
    storage: ObjectstoreStorage, prefix: str
) -> None:
    class Pipe(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self._data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, b: Any) -> int:
            chunk = self._data.read(len(b))
            b[: len(chunk)] = chunk
            return len(chunk)

    data = b"x" * 300_000
    name = storage.save(f"{prefix}/pipe.bin", File(io.BufferedReader(Pipe(data)), name="pipe.bin"))
    assert storage.size(name) == len(data)
    assert storage.open(name).read() == data


def test_size_of_compressed_object_is_the_uncompressed_size(
    storage: ObjectstoreStorage, prefix: str
) -> None:
    data = b"a" * 100_000
    name = storage.save(f"{prefix}/big.txt", ContentFile(data))
    meta = storage.metadata(name)
    assert meta.compression == "zstd" and meta.size is not None and meta.size < 1000
    assert storage.size(name) == 100_000


def test_size_of_foreign_uncompressed_object_uses_stored_size(
    storage: ObjectstoreStorage, objectstore_server: str, objectstore_usecase: str, scopes: Scopes
) -> None:
    session = raw_session(objectstore_server, objectstore_usecase, scopes, compression="none")
    key = session.put(b"12345", key="foreign")
    assert storage.metadata(f"{_p(scopes)}/{key}").compression is None
    assert storage.size(f"{_p(scopes)}/{key}") == 5


def _p(scopes: Scopes) -> str:
    from django_objectstore.wire.scopes import format_scopes

    return format_scopes(scopes)


def test_size_of_foreign_compressed_object_is_counted_by_streaming(
    storage: ObjectstoreStorage, objectstore_server: str, objectstore_usecase: str, scopes: Scopes
) -> None:
    session = raw_session(objectstore_server, objectstore_usecase, scopes)
    key = session.put(b"z" * 50_000, key="foreign-zstd")
    assert storage.metadata(f"{_p(scopes)}/{key}").compression == "zstd"
    assert storage.size(f"{_p(scopes)}/{key}") == 50_000


def test_precompressed_content_types_are_stored_without_zstd(
    storage: ObjectstoreStorage, prefix: str
) -> None:
    name = storage.save(f"{prefix}/photo.jpg", ContentFile(b"\xff\xd8\xff" + b"0" * 5000))
    assert storage.metadata(name).compression is None
    assert storage.size(name) == 5003


def test_exists_is_true_for_saved_and_false_for_missing(
    storage: ObjectstoreStorage, prefix: str
) -> None:
    name = storage.save(f"{prefix}/e.txt", ContentFile(b"1"))
    assert storage.exists(name) is True
    assert storage.exists(f"{prefix}/no-such-key") is False


def test_delete_removes_and_is_idempotent(storage: ObjectstoreStorage, prefix: str) -> None:
    name = storage.save(f"{prefix}/d.txt", ContentFile(b"1"))
    storage.delete(name)
    assert not storage.exists(name)
    storage.delete(name)  # missing: no error


def test_delete_without_a_name_is_a_value_error(storage: ObjectstoreStorage) -> None:
    with pytest.raises(ValueError):
        storage.delete("")


@pytest.mark.parametrize(
    "call",
    [
        lambda s, n: s.open(n),
        lambda s, n: s.size(n),
        lambda s, n: s.get_created_time(n),
        lambda s, n: s.get_modified_time(n),
        lambda s, n: s.metadata(n),
    ],
    ids=["open", "size", "created", "modified", "metadata"],
)
def test_missing_objects_raise_file_not_found(
    storage: ObjectstoreStorage, prefix: str, call: Any
) -> None:
    with pytest.raises(FileNotFoundError, match="no-such"):
        call(storage, f"{prefix}/no-such")


def test_times_are_aware_utc_under_use_tz(
    storage: ObjectstoreStorage, prefix: str, objectstore_clock: Any
) -> None:
    name = storage.save(f"{prefix}/t.txt", ContentFile(b"1"))
    created = storage.get_created_time(name)
    assert created.tzinfo is not None and created.utcoffset() == timedelta(0)
    assert abs(created - objectstore_clock.now()) < timedelta(minutes=1)
    assert storage.get_modified_time(name) == created


@override_settings(USE_TZ=False, TIME_ZONE="America/New_York")
def test_times_are_naive_local_without_use_tz(
    storage: ObjectstoreStorage, prefix: str, objectstore_clock: Any
) -> None:
    name = storage.save(f"{prefix}/t.txt", ContentFile(b"1"))
    created = storage.get_created_time(name)
    assert created.tzinfo is None
    now_utc: datetime = objectstore_clock.now().astimezone(UTC)
    expected_local = datetime.fromtimestamp(now_utc.timestamp())
    assert abs(created - expected_local) < timedelta(minutes=1)


def test_accessed_time_path_and_listdir_say_why_they_are_unsupported(
    storage: ObjectstoreStorage, prefix: str
) -> None:
    with pytest.raises(NotImplementedError, match="last read"):
        storage.get_accessed_time(f"{prefix}/x")
    with pytest.raises(NotImplementedError, match="no local filesystem path"):
        storage.path(f"{prefix}/x")
    with pytest.raises(NotImplementedError, match="no listing API"):
        storage.listdir(prefix)


def test_malformed_names_are_suspicious(storage: ObjectstoreStorage) -> None:
    for name in ("org=1/../org=2/k", "org=1//k", "nonsense"):
        with pytest.raises(SuspiciousFileOperation):
            storage.open(name)
        with pytest.raises(SuspiciousFileOperation):
            storage.exists(name)


def test_save_of_unscoped_name_uses_the_empty_scope_without_active_scope(
    storage: ObjectstoreStorage,
) -> None:
    name = storage.save("plain.txt", ContentFile(b"x"))
    assert name.startswith("_/")
    assert storage.open(name).read() == b"x"


def test_unreachable_server_raises_storage_error_naming_base_url(
    make_storage: Any, prefix: str
) -> None:
    storage = make_storage(
        base_url="http://127.0.0.1:9", alias="offline", client_options={"retries": 0}
    )
    with pytest.raises(ObjectstoreStorageError) as info:
        storage.exists(f"{prefix}/k")
    message = str(info.value)
    assert "http://127.0.0.1:9" in message and "'offline'" in message and "exists" in message
    assert info.value.status is None and info.value.alias == "offline"
    assert isinstance(info.value, OSError)


def test_server_errors_are_storage_errors_not_client_errors(make_storage: Any, prefix: str) -> None:
    storage = make_storage()
    with pytest.raises(ObjectstoreStorageError) as info:
        storage.save(
            f"{prefix}/x.txt", SimpleUploadedFile("x.txt", b"1", content_type="not a type")
        )
    assert info.value.status == 400
    assert storage.usecase.name in str(info.value)


def test_forbidden_requests_raise_permission_denied(
    make_storage: Any, objectstore_auth_server: Any, objectstore_usecase: str, prefix: str
) -> None:
    key = SecretKey(objectstore_auth_server.kid, objectstore_auth_server.private_key_pem)
    other_scope_token = key.token_for_scope(objectstore_usecase, (("org", "other"),))
    storage = make_storage(base_url=str(objectstore_auth_server), token=other_scope_token)
    with pytest.raises(PermissionDenied, match="refused") as info:
        storage.exists(f"{prefix}/k")
    assert "403" in str(info.value)
    with pytest.raises(PermissionDenied):
        storage.save(f"{prefix}/k.txt", ContentFile(b"1"))


def test_unknown_signing_key_raises_permission_denied(
    make_storage: Any, objectstore_auth_server: Any, prefix: str
) -> None:
    storage = make_storage(
        base_url=str(objectstore_auth_server),
        signing_key=SigningKey().private_pem,
        signing_kid=objectstore_auth_server.kid,
    )
    with pytest.raises(PermissionDenied, match="401"):
        storage.open(f"{prefix}/k")


def test_missing_credentials_are_a_storage_error_naming_the_status(
    make_storage: Any, objectstore_auth_server: Any, prefix: str
) -> None:
    storage = make_storage(base_url=str(objectstore_auth_server))
    with pytest.raises(ObjectstoreStorageError) as info:
        storage.exists(f"{prefix}/k")
    assert info.value.status == 400


def test_signing_key_authenticates_against_an_enforcing_server(signed: Any, prefix: str) -> None:
    storage = signed()
    name = storage.save(f"{prefix}/k.txt", ContentFile(b"secret"))
    assert storage.open(name).read() == b"secret"


def test_many_threads_save_through_one_storage_and_one_client(
    storage: ObjectstoreStorage, prefix: str
) -> None:
    results: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def work(i: int) -> None:
        try:
            name = storage.save(f"{prefix}/f{i}.txt", ContentFile(f"payload {i}".encode()))
            assert storage.open(name).read() == f"payload {i}".encode()
            with lock:
                results.append(name)
        except BaseException as exc:  # pragma: no cover - reported below
            with lock:
                errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(16)]
    clients = set()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
        clients.add(id(storage.client))
    assert errors == []
    assert len(set(results)) == 16
    assert len(clients) == 1


def test_expiration_policy_option_is_sent_with_uploads(make_storage: Any, prefix: str) -> None:
    storage = make_storage(expiration_policy="ttl:2 days")
    name = storage.save(f"{prefix}/exp.txt", ContentFile(b"1"))
    meta = storage.metadata(name)
    assert meta.time_expires is not None and meta.time_created is not None
    assert meta.time_expires - meta.time_created == timedelta(days=2)


def test_expired_objects_are_missing(
    make_storage: Any, prefix: str, objectstore_clock: Any
) -> None:
    storage = make_storage(expiration_policy="ttl:1h")
    name = storage.save(f"{prefix}/exp.txt", ContentFile(b"1"))
    objectstore_clock.advance(timedelta(hours=2))
    assert storage.exists(name) is False
    with pytest.raises(FileNotFoundError):
        storage.open(name)
