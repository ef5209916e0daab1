"""An append-only log of stream records (DynamoDB Streams and Kinesis shards): bytes on disk, an
index of 20 bytes per record in memory, records past their retention dropped a segment at a time.

A record is on disk as soon as `append` returns, so a killed server loses none it acknowledged;
inside `deferred_writes()` (a request's changes) as soon as the block ends, one write per file
for all of them. Without a directory the segments are in memory, which keeps the same bound.
"""

from __future__ import annotations

import bisect
import os
import struct
import threading
import time
from array import array
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

# The index file: the number of its first record, then per record its offset in its segment,
# its length and its arrival time (epoch seconds).
_HEADER = struct.Struct("<Q")
_ENTRY = struct.Struct("<QId")
SEGMENT_BYTES = 32 * 1024 * 1024
SEGMENT_SECONDS = 3600.0
INDEX_FILE = "index.bin"


class RecordLogError(RuntimeError):
    """A log directory that cannot be read back; the message names the file."""


# Per thread, the logs appended to inside its deferred_writes() block (None: outside one).
_deferring = threading.local()


@contextmanager
def deferred_writes() -> Iterator[None]:
    """Appends this thread makes inside reach disk together when the block ends.

    A request answers after its block, so what it acknowledged is on disk as before, in two
    writes per log instead of two per record: each unbuffered write lets the other server
    threads take the GIL, and a PutRecords of 500 records made 1,000 of them.
    """
    if getattr(_deferring, "logs", None) is not None:
        yield  # nested: the outermost block writes
        return
    _deferring.logs = logs = []
    try:
        yield
    finally:
        _deferring.logs = None
        for log in logs:
            log.flush()


def _write_all(handle: BinaryIO, data: bytes | bytearray) -> None:
    # An unbuffered write may take less than it was given (a signal, a full disk on the way).
    view = memoryview(data)
    while view:
        view = view[handle.write(view) :]


class _Segment:
    """One file (or buffer) of records: the log's records from number `first` on."""

    def __init__(self, first: int, path: Path | None, started: float) -> None:
        self.first = first
        self.path = path
        self.started = started
        self.size = path.stat().st_size if path is not None and path.exists() else 0
        self.buffer = bytearray() if path is None else None
        self.pending = bytearray()  # appended, not yet written to the file
        self._handle: BinaryIO | None = None

    def append(self, data: bytes) -> int:
        offset = self.size
        if self.buffer is not None:
            self.buffer += data
        else:
            self.pending += data
        self.size += len(data)
        return offset

    def flush(self) -> None:
        if self.pending:
            if self._handle is None:
                assert self.path is not None
                self._handle = open(self.path, "ab", buffering=0)  # noqa: SIM115 - kept open
            _write_all(self._handle, self.pending)
            self.pending.clear()

    def read_many(self, spans: list[tuple[int, int]]) -> list[bytes]:
        start, end = spans[0][0], spans[-1][0] + spans[-1][1]
        if self.buffer is not None:
            block = bytes(self.buffer[start:end])
        else:
            assert self.path is not None
            with open(self.path, "rb") as handle:
                handle.seek(start)
                block = handle.read(end - start)
        return [block[o - start : o - start + n] for o, n in spans]

    def close(self) -> None:
        self.flush()
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def remove(self) -> None:
        self.close()
        if self.path is not None:
            self.path.unlink(missing_ok=True)


class RecordLog:
    """Records numbered 0, 1, 2, ... in append order; `first` is the oldest still held."""

    def __init__(self, directory: Path | None, retention_seconds: float = 24 * 3600) -> None:
        self.directory = Path(directory) if directory is not None else None
        self.retention_seconds = retention_seconds
        self._lock = threading.Lock()
        self._offsets = array("Q")
        self._lengths = array("I")
        self._times = array("d")
        self._first = 0  # number of the record at position 0 of the arrays
        self._segments: list[_Segment] = []
        self._index: BinaryIO | None = None
        self._index_pending = bytearray()  # entries of appended records not yet in the file
        if self.directory is not None:
            self.directory.mkdir(parents=True, exist_ok=True)
            self._load()

    # -- pickling: a log is its directory (snapshots name it, the records stay in its files) --

    def __getstate__(self) -> dict[str, Any]:
        directory = str(self.directory) if self.directory is not None else None
        return {"directory": directory, "retention_seconds": self.retention_seconds}

    def __setstate__(self, state: dict[str, Any]) -> None:
        directory = state["directory"]
        self.__init__(Path(directory) if directory else None, state["retention_seconds"])  # type: ignore[misc]

    # -- reading the files back ---------------------------------------------------------------

    def _load(self) -> None:
        assert self.directory is not None
        index_path = self.directory / INDEX_FILE
        raw = index_path.read_bytes() if index_path.exists() else b""
        if raw and len(raw) < _HEADER.size:
            raise RecordLogError(f"{index_path}: truncated header")
        self._first = _HEADER.unpack_from(raw)[0] if raw else 0
        body = raw[_HEADER.size :]
        whole = len(body) - len(body) % _ENTRY.size  # a torn last entry was never acknowledged
        for path in sorted(self.directory.glob("seg-*.log")):
            try:
                first = int(path.stem.split("-", 1)[1])
            except ValueError:
                raise RecordLogError(f"{path}: not a record log segment name") from None
            self._segments.append(_Segment(first, path, path.stat().st_mtime))
        # A segment wholly before `first` was being dropped when the process stopped.
        while len(self._segments) > 1 and self._segments[1].first <= self._first:
            self._segments.pop(0).remove()
        for position in range(0, whole, _ENTRY.size):
            offset, length, arrival = _ENTRY.unpack_from(body, position)
            self._offsets.append(offset)
            self._lengths.append(length)
            self._times.append(arrival)
        # Entries whose bytes never reached their segment (a kill between the two writes).
        while self._offsets:
            segment = self._segment_of(self._first + len(self._offsets) - 1)
            if segment is not None and self._offsets[-1] + self._lengths[-1] <= segment.size:
                break
            for column in (self._offsets, self._lengths, self._times):
                column.pop()
            whole = len(self._offsets) * _ENTRY.size
        if raw and whole != len(body):
            with open(index_path, "r+b") as handle:
                handle.truncate(_HEADER.size + whole)

    def _segment_of(self, number: int) -> _Segment | None:
        position = bisect.bisect_right([s.first for s in self._segments], number) - 1
        return self._segments[position] if position >= 0 else None

    # -- writing ------------------------------------------------------------------------------

    @property
    def first(self) -> int:
        """Number of the oldest record held."""
        return self._first

    @property
    def next(self) -> int:
        """Number the next appended record gets (= how many were ever appended)."""
        return self._first + len(self._offsets)

    def __len__(self) -> int:
        return len(self._offsets)

    def append(self, data: bytes, arrival: float | None = None) -> int:
        """Store one record and return its number; on disk (given a directory) on return."""
        arrival = time.time() if arrival is None else arrival
        with self._lock:
            number = self.next
            segment = self._segments[-1] if self._segments else None
            if segment is None or (
                segment.size >= SEGMENT_BYTES or arrival - segment.started >= SEGMENT_SECONDS
            ):
                if segment is not None:
                    segment.close()
                path = self.directory / f"seg-{number:016d}.log" if self.directory else None
                segment = _Segment(number, path, arrival)
                self._segments.append(segment)
            offset = segment.append(data)
            self._offsets.append(offset)
            self._lengths.append(len(data))
            self._times.append(arrival)
            if self.directory is not None:
                self._index_pending += _ENTRY.pack(offset, len(data), arrival)
                logs = getattr(_deferring, "logs", None)
                if logs is None:
                    self._flush_locked()
                elif self not in logs:
                    logs.append(self)
            return number

    def flush(self) -> None:
        """Write what was appended inside a deferred_writes() block."""
        with self._lock:
            self._flush_locked()

    def _flush_locked(self) -> None:
        if not self._index_pending:
            return
        # Records before their index entries: a kill in between leaves entries whose bytes
        # never arrived, which _load drops; never an entry pointing at the wrong bytes.
        # Only the newest segment can hold unwritten records: a rotation closes (writes) the last.
        self._segments[-1].flush()
        if self._index is None:
            self._index = self._open_index()
        _write_all(self._index, self._index_pending)
        self._index_pending.clear()

    def _open_index(self) -> BinaryIO:
        assert self.directory is not None
        path = self.directory / INDEX_FILE
        fresh = not path.exists() or path.stat().st_size == 0
        handle = open(path, "ab", buffering=0)  # noqa: SIM115 - kept open while appending
        if fresh:
            handle.write(_HEADER.pack(self._first))
        return handle

    # -- reading ------------------------------------------------------------------------------

    def arrival(self, number: int) -> float:
        """When record `number` (one still held) was appended, in epoch seconds."""
        return self._times[number - self._first]

    def read(self, start: int, limit: int) -> list[bytes]:
        """Up to `limit` records from number `start` on (from `first` if `start` was dropped)."""
        with self._lock:
            self._flush_locked()  # another thread's block may still hold records it appended
            start = max(start, self._first)
            end = min(start + limit, self.next)
            out: list[bytes] = []
            number = start
            while number < end:
                position = bisect.bisect_right([s.first for s in self._segments], number) - 1
                segment = self._segments[position]
                stop = end
                if position + 1 < len(self._segments):
                    stop = min(end, self._segments[position + 1].first)
                base = self._first
                spans = [
                    (self._offsets[n - base], self._lengths[n - base]) for n in range(number, stop)
                ]
                out.extend(segment.read_many(spans))
                number = stop
            return out

    def number_at(self, moment: float) -> int:
        """Number of the first record appended at or after `moment` (for AT_TIMESTAMP)."""
        with self._lock:
            return self._first + bisect.bisect_left(self._times, moment)

    # -- retention ----------------------------------------------------------------------------

    def trim(self, now: float | None = None) -> int:
        """Drop whole segments whose every record is past retention; how many records went."""
        cutoff = (time.time() if now is None else now) - self.retention_seconds
        dropped = 0
        gone: list[_Segment] = []
        with self._lock:
            self._flush_locked()
            while len(self._segments) > 1:
                following = self._segments[1]
                last = following.first - 1  # the newest record of the oldest segment
                if last < self._first or self._times[last - self._first] >= cutoff:
                    break
                count = following.first - self._first
                gone.append(self._segments.pop(0))
                del self._offsets[:count]
                del self._lengths[:count]
                del self._times[:count]
                self._first = following.first
                dropped += count
            if dropped and self.directory is not None:
                self._rewrite_index()
            # Only once the index no longer names them (a kill in between leaves them unread).
            for segment in gone:
                segment.remove()
        return dropped

    def _rewrite_index(self) -> None:
        assert self.directory is not None
        if self._index is not None:
            self._index.close()
            self._index = None
        temporary = self.directory / (INDEX_FILE + ".new")
        with open(temporary, "wb") as handle:
            handle.write(_HEADER.pack(self._first))
            for entry in zip(self._offsets, self._lengths, self._times, strict=True):
                handle.write(_ENTRY.pack(*entry))
        os.replace(temporary, self.directory / INDEX_FILE)

    def close(self) -> None:
        with self._lock:
            self._flush_locked()
            for segment in self._segments:
                segment.close()
            if self._index is not None:
                self._index.close()
                self._index = None
