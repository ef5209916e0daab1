"""The gateway holds the state lock's shared side for as long as a changing request runs, so a
snapshot never sees a change half made, with or without observers (the meters); and answers
only once the records the request appended are on disk."""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from orders_pipeline.local_stack.gateway import AccessPolicy, Gateway
from orders_pipeline.local_stack.persistence.record_log import RecordLog, deferred_writes
from orders_pipeline.local_stack.persistence.rwlock import StateLock


class ServiceApp:
    """A service's WSGI app that notes whether a snapshot could have run while it served."""

    service = "dynamodb"

    def __init__(self, lock: StateLock) -> None:
        self.lock = lock
        self.snapshot_could_run: bool | None = None

    def _snapshot_possible(self) -> bool:
        result: list[bool] = []

        def snapshot() -> None:
            with self.lock.exclusive(timeout=0.05) as acquired:
                result.append(acquired)

        thread = threading.Thread(target=snapshot)
        thread.start()
        thread.join()
        return result[0]

    def __call__(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        self.snapshot_could_run = self._snapshot_possible()
        start_response("200 OK", [("Content-Type", "application/x-amz-json-1.0")])
        return [b"{}"]


def _environ(action: str) -> dict[str, Any]:
    return {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/",
        "HTTP_HOST": "127.0.0.1:4566",
        "HTTP_X_AMZ_TARGET": f"DynamoDB_20120810.{action}",
        "CONTENT_LENGTH": "2",
        "wsgi.input": io.BytesIO(b"{}"),
    }


def _serve(gateway: Gateway, action: str) -> bytes:
    return b"".join(gateway(_environ(action), lambda status, headers, *rest: None))


@pytest.mark.parametrize("observed", [False, True], ids=["plain", "observed"])
def test_a_changing_request_runs_under_the_shared_lock(observed: bool) -> None:
    lock = StateLock()
    app = ServiceApp(lock)
    changes: list[str] = []
    gateway = Gateway(lambda environ: app, AccessPolicy(), state_lock=lock,
                      on_change=lambda: changes.append("changed"))  # fmt: skip
    if observed:
        gateway.observe(lambda record: None)
    assert _serve(gateway, "CreateTable") == b"{}"
    assert app.snapshot_could_run is False
    assert changes == ["changed"]


def test_a_read_takes_no_lock() -> None:
    lock = StateLock()
    app = ServiceApp(lock)
    gateway = Gateway(lambda environ: app, AccessPolicy(), state_lock=lock)
    gateway.observe(lambda record: None)
    _serve(gateway, "GetItem")
    assert app.snapshot_could_run is True


def test_the_lock_is_free_again_once_the_response_is_served() -> None:
    lock = StateLock()
    app = ServiceApp(lock)
    gateway = Gateway(lambda environ: app, AccessPolicy(), state_lock=lock)
    gateway.observe(lambda record: None)
    _serve(gateway, "PutItem")
    with lock.exclusive(timeout=0.05) as acquired:
        assert acquired


class AppendingApp:
    """A service that appends a stream record, answering in two chunks."""

    service = "kinesis"

    def __init__(self, log: RecordLog) -> None:
        self.log = log

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
        start_response("200 OK", [("Content-Type", "application/x-amz-json-1.1")])
        self.log.append(b"acknowledged")
        yield b"{"
        yield b"}"


@pytest.mark.parametrize("observed", [False, True], ids=["plain", "observed"])
def test_a_changing_request_answers_after_its_records_are_on_disk(
    tmp_path: Path, observed: bool
) -> None:
    log = RecordLog(tmp_path / "shard")
    gateway = Gateway(lambda environ: AppendingApp(log), AccessPolicy(), state_lock=StateLock(),
                      write_scope=deferred_writes)  # fmt: skip
    if observed:
        gateway.observe(lambda record: None)
    environ = _environ("PutRecords")
    environ["HTTP_X_AMZ_TARGET"] = "Kinesis_20131202.PutRecords"
    response = iter(gateway(environ, lambda status, headers, *rest: None))

    first = next(response)

    reopened = RecordLog(tmp_path / "shard")
    assert (first, reopened.read(0, 10)) == (b"{", [b"acknowledged"])
