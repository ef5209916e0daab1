"""Kinesis records kept compactly: each is written once, as the JSON GetRecords sends, into the
shard's record log (on disk with a state dir), and dropped after the stream's retention.

moto keeps every record as a Python object for ever, answers both calls through its
shape-driven serializer, finds a shard's last sequence number by copying all its keys and scans
a shard from its first record on every GetRecords. Same documents, same semantics.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, MutableMapping
from typing import Any

import orjson
from moto.kinesis import utils as kinesis_utils
from moto.kinesis.models import KinesisBackend, Record, Shard
from moto.kinesis.responses import KinesisResponse
from moto.kinesis.utils import compose_shard_iterator, decompose_shard_iterator

from orders_pipeline.local_stack.patching import (
    calls,
    replaces,
    requires,
    requires_attributes,
    requires_source,
    wraps,
)
from orders_pipeline.local_stack.persistence import store
from orders_pipeline.local_stack.persistence.record_log import RecordLog

# A stream's default retention (RetentionPeriodHours 24); trimming uses each stream's own.
DEFAULT_RETENTION_SECONDS = 24 * 3600

requires(KinesisResponse, "kinesis_backend", declared_in=__name__)
requires(kinesis_utils, "compose_shard_iterator", "decompose_shard_iterator", declared_in=__name__)
calls(
    KinesisBackend,
    "put_records",
    "self",
    "stream_arn",
    "stream_name",
    "records",
    declared_in=__name__,
)
calls(KinesisBackend, "describe_stream", "self", "stream_arn", "stream_name", declared_in=__name__)
requires_attributes(Shard, "records", declared_in=__name__)
requires_attributes(
    Record, "partition_key", "data", "sequence_number", "created_at", declared_in=__name__
)
# _request() reads the body moto stored while setting the request up.
requires_source(KinesisResponse, "setup_class", r"\bself\.body\b[^=\n]*=", declared_in=__name__)


def _wire(partition_key: str, data: str, sequence_number: int, arrival: float) -> bytes:
    return orjson.dumps(
        {
            # The base64 text the producer sent (SDKs send canonical base64), as GetRecords
            # sends it back.
            "Data": data,
            "PartitionKey": partition_key,
            "SequenceNumber": str(sequence_number),
            # Epoch seconds truncated to the millisecond, as moto's serializer sends them.
            "ApproximateArrivalTimestamp": int(arrival * 1000) / 1000,
        }
    )


class LoggedRecords(MutableMapping):
    """A shard's records (sequence number 1, 2, 3, ... -> Record) over its record log.

    moto's own resharding code reads and replaces `Shard.records` through this mapping; the
    hot paths (PutRecord(s), GetRecords, iterators) use the log directly.
    """

    def __init__(self, log: RecordLog) -> None:
        self.log = log

    # sequence number n is the log's record n - 1
    def __len__(self) -> int:
        return len(self.log)

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.log.first + 1, self.log.next + 1))

    def __reversed__(self) -> Iterator[int]:
        return iter(range(self.log.next, self.log.first, -1))

    def __contains__(self, sequence_number: object) -> bool:
        return (
            isinstance(sequence_number, int) and self.log.first < sequence_number <= self.log.next
        )

    def __getitem__(self, sequence_number: int) -> Record:
        if sequence_number not in self:
            raise KeyError(sequence_number)
        document = orjson.loads(self.log.read(sequence_number - 1, 1)[0])
        record = Record(document["PartitionKey"], document["Data"], sequence_number, None)
        record.created_at = document["ApproximateArrivalTimestamp"]
        return record

    def __setitem__(self, sequence_number: int, record: Record) -> None:
        if sequence_number != self.log.next + 1:
            raise ValueError(
                f"records are appended in order: {sequence_number} after {self.log.next}"
            )
        self.log.append(
            _wire(record.partition_key, record.data, sequence_number, record.created_at),
            arrival=record.created_at,
        )

    def __delitem__(self, sequence_number: int) -> None:
        raise TypeError("Kinesis records leave a shard only by retention")

    def append(self, partition_key: str, data: str) -> int:
        arrival = time.time()  # moto's clock (utcnow) is this one, read through a datetime
        sequence_number = self.log.next + 1
        self.log.append(_wire(partition_key, data, sequence_number, arrival), arrival=arrival)
        return sequence_number


@wraps(Shard, "__init__")
def shard_init(original: Any, self: Shard, *args: Any, **kwargs: Any) -> None:
    original(self, *args, **kwargs)
    self.records = LoggedRecords(store.current().record_log("kinesis", DEFAULT_RETENTION_SECONDS))


def _records(shard: Shard) -> LoggedRecords:
    records = shard.records
    if not isinstance(records, LoggedRecords):
        # moto's resharding gave the shard a plain dict: move what it holds into a log.
        logged = LoggedRecords(store.current().record_log("kinesis", DEFAULT_RETENTION_SECONDS))
        for sequence_number in sorted(records):
            logged[sequence_number] = records[sequence_number]
        shard.records = records = logged
    return records


@replaces(Shard, "put_record")
def shard_put_record(self: Shard, partition_key: str, data: str, explicit_hash_key: str) -> str:
    return str(_records(self).append(partition_key, data))


@replaces(Shard, "get_min_sequence_number")
def shard_min_sequence_number(self: Shard) -> int:
    log = _records(self).log
    return log.first + 1 if len(log) else 0


@replaces(Shard, "get_max_sequence_number")
def shard_max_sequence_number(self: Shard) -> int:
    log = _records(self).log
    return log.next if len(log) else 0


@replaces(Shard, "get_sequence_number_at")
def shard_sequence_number_at(self: Shard, at_timestamp: float) -> int:
    """The sequence number after which the records from `at_timestamp` on start."""
    return _records(self).log.number_at(at_timestamp)


@replaces(Shard, "get_records")
def shard_get_records(
    self: Shard, last_sequence_id: str, limit: int | None
) -> tuple[list[Record], int, int]:
    """moto's reader (its backend's GetRecords): Records after `last_sequence_id`."""
    records = _records(self)
    last = int(last_sequence_id)
    found = [records[n] for n in range(max(last, records.log.first) + 1, records.log.next + 1)]
    found = found[:limit] if limit else found
    behind = 0
    if found:
        last = found[-1].sequence_number
        behind = int((records.log.arrival(records.log.next - 1) - found[-1].created_at) * 1000)
    return found, last, behind


def _request(self: KinesisResponse) -> dict[str, Any]:
    # Parsed once: moto's _get_param parses the whole body again for every parameter asked for.
    return orjson.loads(self.body or "{}")


@replaces(KinesisResponse, "put_records")
def put_records(self: KinesisResponse) -> str:
    request = _request(self)
    response = self.kinesis_backend.put_records(
        request.get("StreamARN"), request.get("StreamName"), request.get("Records")
    )
    return orjson.dumps(response).decode()


@replaces(KinesisResponse, "get_records")
def get_records(self: KinesisResponse) -> str:
    """The records after the iterator, joined from the log as written: no parse, no dump."""
    request = _request(self)
    stream_name, shard_id, last_sequence_id = decompose_shard_iterator(request["ShardIterator"])
    stream = self.kinesis_backend.describe_stream(
        stream_arn=request.get("StreamARN"), stream_name=stream_name
    )
    shard = stream.get_shard(shard_id)
    log = _records(shard).log
    start = max(int(last_sequence_id), log.first)  # sequence number n is log record n - 1
    found = log.read(start, int(request.get("Limit") or 10_000))
    last = start + len(found) if found else int(last_sequence_id)
    behind = int((log.arrival(log.next - 1) - log.arrival(last - 1)) * 1000) if found else 0
    body = b"".join(
        (
            b'{"NextShardIterator":',
            orjson.dumps(compose_shard_iterator(stream_name, shard, last)),
            b',"Records":[',
            b",".join(found),
            b'],"MillisBehindLatest":',
            str(behind).encode(),
            b"}",
        )
    )
    return body.decode()


def trim_expired(now: float | None = None) -> int:
    """Drop records past their stream's retention from every shard; how many went."""
    from moto.kinesis.models import kinesis_backends

    now = time.time() if now is None else now
    dropped = 0
    for backends in kinesis_backends.values():
        for backend in backends.values():
            for stream in list(backend.streams.values()):
                hours = stream.retention_period_hours or 24
                for shard in list(stream.shards.values()):
                    log = _records(shard).log
                    log.retention_seconds = hours * 3600
                    dropped += log.trim(now)
    return dropped
