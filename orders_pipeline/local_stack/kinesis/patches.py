"""Kinesis PutRecords and GetRecords at a cost that does not grow with the stream."""

# The data plane moves every change through these two calls. moto answers them through its
# shape-driven serializer (half of PutRecords' cost, nearly all of GetRecords'), finds a shard's
# last sequence number by copying all its keys (PutRecords O(records in shard) per record) and
# scans a shard from its first record on every GetRecords. Same documents, same semantics.

from __future__ import annotations

from typing import Any

import orjson
from moto.kinesis.models import KinesisBackend, Record, Shard
from moto.kinesis.responses import KinesisResponse

from orders_pipeline.local_stack.patching import (
    calls,
    replaces,
    requires,
    requires_attributes,
    requires_source,
)

requires(KinesisResponse, "kinesis_backend", declared_in=__name__)
requires(KinesisBackend, "put_records", "get_records", declared_in=__name__)
# _request() reads the body moto stored while setting the request up.
requires_source(KinesisResponse, "setup_class", r"\bself\.body\b[^=\n]*=", declared_in=__name__)

calls(
    KinesisBackend,
    "put_records",
    "self",
    "stream_arn",
    "stream_name",
    "records",
    declared_in=__name__,
)
calls(
    KinesisBackend,
    "get_records",
    "self",
    "stream_arn",
    "shard_iterator",
    "limit",
    declared_in=__name__,
)
requires_attributes(
    Record, "partition_key", "data", "sequence_number", "created_at", declared_in=__name__
)


@replaces(Shard, "get_max_sequence_number")
def shard_max_sequence_number(self: Shard) -> int:
    # `records` is keyed by sequence number in insertion (= ascending) order.
    return next(reversed(self.records)) if self.records else 0


@replaces(Shard, "get_records")
def shard_get_records(
    self: Shard, last_sequence_id: str, limit: int | None
) -> tuple[list[Record], int, int]:
    """Records after `last_sequence_id` (a shard numbers them 1, 2, 3, ...), looked up by key."""
    last = int(last_sequence_id)
    if not self.records:
        return [], last, 0
    newest = next(reversed(self.records))
    results: list[Record] = []
    for sequence_number in range(last + 1, newest + 1):
        record = self.records.get(sequence_number)
        if record is None:
            continue
        results.append(record)
        last = sequence_number
        if len(results) == limit:
            break
    behind = self.records[newest].created_at - results[-1].created_at if results else 0.0
    return results, last, int(behind * 1000)


def _wire_record(record: Record) -> dict[str, Any]:
    return {
        # The base64 text the producer sent (SDKs send canonical base64), not decoded and
        # re-encoded per record.
        "Data": record.data,
        "PartitionKey": record.partition_key,
        "SequenceNumber": str(record.sequence_number),
        # Epoch seconds (moto's, from its naive UTC time) truncated to the millisecond, as moto's
        # serializer sends them.
        "ApproximateArrivalTimestamp": int(record.created_at * 1000) / 1000,
    }


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
    request = _request(self)
    next_iterator, records, millis_behind = self.kinesis_backend.get_records(
        request.get("StreamARN"), request.get("ShardIterator"), request.get("Limit")
    )
    document = {
        "NextShardIterator": next_iterator,
        "Records": [_wire_record(record) for record in records],
        "MillisBehindLatest": millis_behind,
    }
    return orjson.dumps(document).decode()
