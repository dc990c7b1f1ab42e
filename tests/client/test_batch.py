from __future__ import annotations

import io
import os
import threading
import tracemalloc
import uuid
from collections.abc import Iterator

import pytest

from django_objectstore.client import (
    Client,
    Forbidden,
    RequestError,
    SecretKey,
    ServerUnavailable,
    Session,
    Usecase,
)
from django_objectstore.client.batch import (
    Delete,
    Get,
    Head,
    Keepalive,
    Operation,
    OperationResult,
    Put,
    run_batch,
)
from django_objectstore.client.batch_wire import encode_key, zstd_bound
from django_objectstore.pytest_plugin import ObjectstoreAuthServer
from django_objectstore.server import Request, Response
from django_objectstore.server.hosting import ServerThread


@pytest.fixture(params=["http", "memory"])
def session(
    request: pytest.FixtureRequest,
    objectstore_usecase: str,
    objectstore_scope: dict[str, str],
) -> Iterator[Session]:
    if request.param == "http":
        url = str(request.getfixturevalue("objectstore_server"))
    else:
        url = f"memory://batch-{uuid.uuid4().hex}"
    client = Client(url)
    yield client.session(Usecase(objectstore_usecase), **objectstore_scope)


def _by_index(results: Iterator[OperationResult]) -> dict[int, OperationResult]:
    out: dict[int, OperationResult] = {}
    for result in results:
        assert result.index not in out, f"index {result.index} answered twice"
        out[result.index] = result
    return out


def test_zstd_bound_matches_the_largest_batchable_input() -> None:
    assert zstd_bound(1_044_496) == 1024 * 1024
    assert zstd_bound(1_044_497) > 1024 * 1024
    assert zstd_bound(0) == 64


def test_keys_are_percent_encoded_for_the_header() -> None:
    assert encode_key("a b/100%/é\n") == "a%20b/100%25/%C3%A9%0A"


def test_mixed_batch_reports_each_outcome_at_its_index(session: Session) -> None:
    session.put(b"present", key="present", metadata={"color": "blue"})
    session.put(b"doomed", key="doomed")
    oversized = os.urandom(1024 * 1024 + 100)  # incompressible: the server would 413 it
    ops: list[Operation] = [
        Get("present"),
        Get("missing"),
        Head("present"),
        Head("missing"),
        Put(b"new with key", key="new"),
        Put(b"new without key"),
        Delete("doomed"),
        Keepalive("present"),
        Keepalive("missing"),
        Put(oversized, key="big", compression="none"),
    ]
    results = _by_index(run_batch(session, ops))
    assert sorted(results) == list(range(len(ops)))
    assert all(r.ok for r in results.values()), [r.error for r in results.values()]
    for index, result in results.items():
        assert result.operation is ops[index]
    assert results[0].found and results[0].payload == b"present"
    assert results[0].metadata is not None and results[0].metadata.custom == {"color": "blue"}
    assert results[0].metadata.compression is None  # decompressed locally
    assert not results[1].found and results[1].payload is None
    assert results[2].found and results[2].metadata is not None
    assert not results[3].found
    assert results[4].key == "new" and results[4].status == 201
    generated = results[5].key
    assert generated and generated != "new"
    assert results[6].status == 204
    assert results[7].found and not results[8].found
    assert results[9].key == "big"
    assert _read(session, "new") == b"new with key"
    assert _read(session, generated) == b"new without key"
    assert _read(session, "big") == oversized
    assert session.head("doomed") is None


def _read(session: Session, key: str) -> bytes:
    result = session.get(key)
    assert result is not None, key
    with result:
        return result.payload.read()


def test_get_without_decompression_returns_stored_zstd(session: Session) -> None:
    session.put(b"x" * 10_000, key="z")
    (result,) = run_batch(session, [Get("z", decompress=False)])
    assert result.metadata is not None and result.metadata.compression == "zstd"
    assert result.payload is not None and len(result.payload) < 10_000
    import zstandard

    assert zstandard.ZstdDecompressor().decompressobj().decompress(result.payload) == b"x" * 10_000


def test_keys_with_special_characters_round_trip(session: Session) -> None:
    keys = ["a b", "100%", "dir/sub/file.txt", "ünï-cødé", "semi;colon=eq", "q?h#x"]
    puts = list(run_batch(session, [Put(k.encode(), key=k) for k in keys]))
    assert {r.key for r in puts} == set(keys)
    results = _by_index(run_batch(session, [Get(k) for k in keys]))
    for index, key in enumerate(keys):
        assert results[index].key == key
        assert results[index].payload == key.encode()


def test_unsized_put_runs_as_a_single_request(session: Session) -> None:
    class Stream(io.RawIOBase):
        def __init__(self) -> None:
            self._data = io.BytesIO(b"streamed")

        def readable(self) -> bool:
            return True

        def seekable(self) -> bool:
            return False

        def readinto(self, buffer: bytearray) -> int:  # type: ignore[override]
            data = self._data.read(len(buffer))
            buffer[: len(data)] = data
            return len(data)

    (result,) = run_batch(session, [Put(Stream(), key="s")])  # type: ignore[arg-type]
    assert result.ok and result.key == "s"
    assert _read(session, "s") == b"streamed"


def test_seekable_file_put_is_batched_from_its_position(session: Session) -> None:
    file = io.BytesIO(b"skip:payload")
    file.seek(5)
    (result,) = run_batch(session, [Put(file, key="f", compression="none")])
    assert result.ok
    assert _read(session, "f") == b"payload"


def test_more_than_a_thousand_operations_are_split_across_requests(session: Session) -> None:
    keys = [f"k{i}" for i in range(0, 2500, 7)]
    list(run_batch(session, [Put(b"v", key=k) for k in keys]))
    ops: list[Operation] = [Head(f"k{i}") for i in range(2500)]
    results = _by_index(run_batch(session, ops))
    assert sorted(results) == list(range(2500))
    assert all(r.ok for r in results.values())  # past 1000 in one request: 413 each
    found = {r.key for r in results.values() if r.found}
    assert found == set(keys)
    assert all(r.key == f"k{r.index}" for r in results.values())


def test_small_request_limits_still_answer_every_operation(session: Session) -> None:
    ops: list[Operation] = [Put(bytes([i]) * 100, key=f"p{i}") for i in range(50)]
    results = _by_index(
        run_batch(session, ops, concurrency=2, max_operations=7, max_request_bytes=500)
    )
    assert sorted(results) == list(range(50))
    assert all(r.ok and r.key == f"p{r.index}" for r in results.values())


def test_input_is_consumed_lazily(session: Session) -> None:
    taken = 0
    answered = 0
    max_ahead = 0

    def operations() -> Iterator[Operation]:
        nonlocal taken
        for i in range(300):
            taken += 1
            yield Keepalive(f"missing-{i}")

    for _ in run_batch(session, operations(), concurrency=2, max_operations=10):
        answered += 1
        max_ahead = max(max_ahead, taken - answered)
    assert answered == 300
    assert max_ahead <= 2 * 10


def test_invalid_operation_fails_alone(session: Session) -> None:
    results = _by_index(run_batch(session, ["not an op", Head("x")]))  # type: ignore[list-item]
    assert isinstance(results[0].error, TypeError)
    assert results[1].ok and not results[1].found


class FailSecondBatch:
    """Serves the real app but answers the second batch request with 503."""

    def __init__(self, app: object) -> None:
        self.app = app
        self.batches = 0
        self.lock = threading.Lock()

    def handle(self, request: Request) -> Response:
        if request.path.startswith("/v1/objects:batch/"):
            with self.lock:
                self.batches += 1
                number = self.batches
            if number == 2:
                while request.body.read(65536):
                    pass
                return Response(503, [("content-type", "text/plain")], [b"unavailable"])
        return self.app.handle(request)  # type: ignore[attr-defined, no-any-return]


def test_a_failed_batch_request_fails_only_its_operations(
    objectstore_server: object, objectstore_usecase: str, objectstore_scope: dict[str, str]
) -> None:
    wrapper = FailSecondBatch(objectstore_server.app)  # type: ignore[attr-defined]
    with ServerThread(wrapper, sweep_interval=0) as thread:
        session = Client(thread.url).session(Usecase(objectstore_usecase), **objectstore_scope)
        ops: list[Operation] = [Head(f"h{i}") for i in range(30)]
        results = _by_index(run_batch(session, ops, concurrency=1, max_operations=10))
    assert sorted(results) == list(range(30))
    failed = sorted(i for i, r in results.items() if not r.ok)
    assert failed == list(range(10, 20))
    for index in failed:
        assert isinstance(results[index].error, ServerUnavailable)
        assert results[index].status == 503


class DropParts:
    """Serves the real app but leaves out the response parts of some operations."""

    def __init__(self, app: object, drop_index: str) -> None:
        self.app = app
        self.marker = f"x-sn-batch-operation-index: {drop_index}\r\n".encode()

    def handle(self, request: Request) -> Response:
        response: Response = self.app.handle(request)  # type: ignore[attr-defined]
        if not request.path.startswith("/v1/objects:batch/"):
            return response
        body = b"".join(response.body)
        delimiter = body.split(b"\r\n", 1)[0]  # b"--" + boundary
        segments = body.split(delimiter)
        kept = [segment for segment in segments if self.marker not in segment]
        assert len(kept) == len(segments) - 1
        return Response(response.status, response.headers, [delimiter.join(kept)])


def test_unanswered_operation_gets_a_no_response_error(
    objectstore_server: object, objectstore_usecase: str, objectstore_scope: dict[str, str]
) -> None:
    wrapper = DropParts(objectstore_server.app, "1")  # type: ignore[attr-defined]
    with ServerThread(wrapper, sweep_interval=0) as thread:
        session = Client(thread.url).session(Usecase(objectstore_usecase), **objectstore_scope)
        results = _by_index(run_batch(session, [Head("a"), Head("b"), Head("c")]))
    assert results[0].ok and results[2].ok
    assert isinstance(results[1].error, RequestError)
    assert "no response" in str(results[1].error)


def test_forbidden_operation_fails_alone_under_auth(
    objectstore_auth_server: object, objectstore_usecase: str, objectstore_scope: dict[str, str]
) -> None:
    server = objectstore_auth_server
    key = SecretKey(
        server.kid,  # type: ignore[attr-defined]
        server.private_key_pem,  # type: ignore[attr-defined]
        permissions=["object.read", "object.write"],
    )
    session = Client(str(server), token=key).session(
        Usecase(objectstore_usecase), **objectstore_scope
    )
    ops: list[Operation] = [Put(b"v", key="k"), Delete("k"), Head("nothing")]
    results = _by_index(run_batch(session, ops))
    assert results[0].ok
    assert isinstance(results[1].error, Forbidden) and results[1].status == 403
    assert results[2].ok and not results[2].found
    assert session.head("k") is not None


def _peak_memory_of_keepalives(count: int) -> int:
    session = Client(f"memory://flat-{uuid.uuid4().hex}").session(Usecase("flatmem"), org=1)
    tracemalloc.start()
    try:
        answered = 0
        operations = (Keepalive(f"key-{i}") for i in range(count))
        for result in run_batch(session, operations, concurrency=2, max_operations=100):
            assert result.ok and not result.found
            answered += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert answered == count
    return peak


def test_keepalives_stream_in_flat_memory() -> None:
    # Tracing every allocation slows the run about sevenfold, so this compares two
    # modest runs; the memory must not grow with the number of operations.
    _peak_memory_of_keepalives(10)  # imports and the in-memory server's one-time setup
    small = _peak_memory_of_keepalives(1_000)
    large = _peak_memory_of_keepalives(6_000)
    assert large < small * 1.5 + 256 * 1024, (small, large)


def test_batch_grows_a_small_connection_pool_to_the_concurrency(
    objectstore_server: object, objectstore_usecase: str
) -> None:
    client = Client(str(objectstore_server), connection_kwargs={"maxsize": 1})
    session = client.session(Usecase(objectstore_usecase), org=1)
    results = list(run_batch(session, [Head("a")], concurrency=4))
    assert results[0].ok
    assert client.transport.pool.pool.maxsize >= 4  # type: ignore[attr-defined]


def test_bad_arguments_are_refused_before_any_request(session: Session) -> None:
    with pytest.raises(ValueError, match="concurrency"):
        run_batch(session, [], concurrency=0)
    with pytest.raises(ValueError, match="max_operations"):
        run_batch(session, [], max_operations=1001)


def test_batch_errors_name_operation_usecase_scope_key_and_server(
    objectstore_auth_server: ObjectstoreAuthServer, objectstore_usecase: str
) -> None:
    read_only = SecretKey(
        objectstore_auth_server.kid,
        objectstore_auth_server.private_key_pem,
        permissions=["object.read"],
    )
    session = Client(str(objectstore_auth_server), token=read_only).session(
        Usecase(objectstore_usecase), org=9
    )
    (result,) = list(session.batch([Delete("gone")]))
    assert result.error is not None and result.status == 403
    message = str(result.error)
    assert f"delete of {objectstore_usecase}/org=9/gone" in message
    assert str(objectstore_auth_server) in message


def test_keepalive_reports_found_without_metadata(session: Session) -> None:
    session.put(b"present", key="present")
    (result,) = run_batch(session, [Keepalive("present")])
    assert result.found and result.metadata is None


def test_one_request_at_a_time_runs_in_the_callers_thread(session: Session) -> None:
    import threading

    threads: set[int] = set()
    send = session.channel.send

    def recording_send(*args: object, **kwargs: object) -> object:
        threads.add(threading.get_ident())
        return send(*args, **kwargs)  # type: ignore[arg-type]

    session.channel.send = recording_send  # type: ignore[method-assign]
    operations = (Keepalive(f"key-{i}") for i in range(30))
    results = list(run_batch(session, operations, concurrency=1, max_operations=10))
    assert len(results) == 30 and all(r.ok for r in results)
    assert threads == {threading.get_ident()}
