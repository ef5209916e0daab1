"""The data-plane workers run in a child process of the stack: started, queried, handed their
in-memory checkpoints and back, and reported (not hung on) when that process dies.

A second stack in this process would share moto's state with the session's and its workers
would serve (and replay) every session resource, so the process tests below point their
workers at a port where nothing listens.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from typing import Any

import pytest

from orders_pipeline.local_stack.server import REGION, free_port
from orders_pipeline.local_stack.workers.process import WorkerProcess

SNAPSHOT = {
    "checkpoints": {"pipe/p/shardId-1": "1100000000017454423042", "firehose/f/shardId-0": "7"},
    "sources": {"pipe/p": "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/1"},
}


@pytest.fixture
def idle_workers() -> Iterator[WorkerProcess]:
    """A worker process with in-memory checkpoints whose endpoint has no server."""
    workers = WorkerProcess(
        f"http://127.0.0.1:{free_port()}", REGION, None, SNAPSHOT, poll_interval=0.1
    )
    workers.start()
    try:
        yield workers
    finally:
        workers.stop()


def test_stack_workers_run_and_report_from_their_own_process(local_stack: Any) -> None:
    status = local_stack.status()

    assert status["workers_running"] is True
    assert status["workers_pid"] not in (None, os.getpid())
    assert status["stages"]["pipes"]["running"] is True
    assert status["stages"]["firehose"]["running"] is True


def test_in_memory_checkpoints_go_to_the_worker_process_and_come_back(
    idle_workers: WorkerProcess,
) -> None:
    assert idle_workers.status()["pipes"]["running"] is True
    assert idle_workers.stop() == SNAPSHOT


def test_a_dead_worker_process_is_reported_in_one_line(idle_workers: WorkerProcess) -> None:
    os.kill(idle_workers.pid, signal.SIGKILL)

    stages = idle_workers.status()
    assert stages["pipes"] == {
        "running": False,
        "last_error": f"worker process (pid {idle_workers.pid}) exited with code -9",
    }
    started = time.monotonic()
    assert idle_workers.stop() == SNAPSHOT  # the last known checkpoints stand
    assert time.monotonic() - started < 5  # nothing waits on the dead process
