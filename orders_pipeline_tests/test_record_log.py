"""The record log behind DynamoDB Streams and Kinesis shards: records kept on disk as appended,
read back after a restart, dropped a segment at a time after their retention."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from orders_pipeline.local_stack.persistence import record_log
from orders_pipeline.local_stack.persistence.record_log import INDEX_FILE, RecordLog


@pytest.fixture
def small_segments(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(record_log, "SEGMENT_BYTES", 64)


def _fill(log: RecordLog, count: int, start: float = 1000.0) -> None:
    for number in range(count):
        log.append(f"record-{number:03d}".encode(), arrival=start + number)


def test_records_are_read_back_in_order_from_any_number(tmp_path: Path) -> None:
    log = RecordLog(tmp_path / "log")
    _fill(log, 10)

    assert log.read(0, 3) == [b"record-000", b"record-001", b"record-002"]
    assert log.read(8, 100) == [b"record-008", b"record-009"]
    assert log.read(10, 5) == []
    assert (log.first, log.next, len(log)) == (0, 10, 10)


def test_a_reopened_log_holds_every_record_appended_before(tmp_path: Path, small_segments) -> None:
    log = RecordLog(tmp_path / "log")
    _fill(log, 25)
    log.close()

    again = RecordLog(tmp_path / "log")

    assert again.next == 25
    assert again.read(0, 25) == [f"record-{n:03d}".encode() for n in range(25)]
    assert len(list((tmp_path / "log").glob("seg-*.log"))) > 1


def test_an_index_entry_torn_by_a_kill_is_dropped_not_misread(tmp_path: Path) -> None:
    log = RecordLog(tmp_path / "log")
    _fill(log, 5)
    log.close()
    index = tmp_path / "log" / INDEX_FILE
    index.write_bytes(index.read_bytes()[:-7])

    again = RecordLog(tmp_path / "log")

    assert again.next == 4
    assert again.read(0, 10)[-1] == b"record-003"
    again.append(b"after")
    assert RecordLog(tmp_path / "log").read(4, 1) == [b"after"]


def test_records_past_their_retention_go_a_segment_at_a_time(
    tmp_path: Path, small_segments
) -> None:
    log = RecordLog(tmp_path / "log", retention_seconds=10)
    _fill(log, 30, start=1000.0)  # arrivals 1000..1029

    dropped = log.trim(now=1025.0)  # keeps what arrived at 1015 or later, by whole segments

    assert dropped > 0 and log.first == dropped
    assert log.arrival(log.first) <= 1015.0
    assert log.read(0, 1) == [f"record-{log.first:03d}".encode()]
    assert RecordLog(tmp_path / "log").first == log.first


def test_the_first_record_at_or_after_a_moment(tmp_path: Path) -> None:
    log = RecordLog(tmp_path / "log")
    _fill(log, 10, start=1000.0)

    assert log.number_at(1003.5) == 4
    assert log.number_at(0) == 0
    assert log.number_at(5000) == 10


def test_a_log_pickles_as_its_directory_not_its_records(tmp_path: Path) -> None:
    log = RecordLog(tmp_path / "log")
    _fill(log, 100)

    data = pickle.dumps(log)

    assert len(data) < 300
    assert pickle.loads(data).read(99, 1) == [b"record-099"]


def test_without_a_directory_records_live_in_memory() -> None:
    log = RecordLog(None)
    _fill(log, 3)

    assert log.read(1, 5) == [b"record-001", b"record-002"]


def _on_disk(directory: Path) -> list[bytes]:
    """What a log reopened from `directory` (as after a kill) holds."""
    again = RecordLog(directory)
    return again.read(0, again.next)


def test_appends_in_a_deferred_block_reach_disk_when_it_ends(tmp_path: Path) -> None:
    log = RecordLog(tmp_path / "log")
    with record_log.deferred_writes():
        _fill(log, 3)
        assert _on_disk(tmp_path / "log") == []

    assert _on_disk(tmp_path / "log") == [b"record-000", b"record-001", b"record-002"]


def test_a_read_sees_records_a_deferred_block_has_not_written_yet(tmp_path: Path) -> None:
    log = RecordLog(tmp_path / "log")
    with record_log.deferred_writes():
        _fill(log, 2)
        assert log.read(0, 10) == [b"record-000", b"record-001"]
        log.append(b"later")
    assert _on_disk(tmp_path / "log") == [b"record-000", b"record-001", b"later"]


def test_a_nested_deferred_block_leaves_the_writing_to_the_outer_one(tmp_path: Path) -> None:
    log = RecordLog(tmp_path / "log")
    with record_log.deferred_writes():
        with record_log.deferred_writes():
            log.append(b"inner")
        assert _on_disk(tmp_path / "log") == []
    assert _on_disk(tmp_path / "log") == [b"inner"]


def test_deferred_appends_across_segments_come_back_whole(tmp_path: Path, small_segments) -> None:
    log = RecordLog(tmp_path / "log")
    with record_log.deferred_writes():
        _fill(log, 25)

    assert _on_disk(tmp_path / "log") == [f"record-{n:03d}".encode() for n in range(25)]
    assert len(list((tmp_path / "log").glob("seg-*.log"))) > 1
