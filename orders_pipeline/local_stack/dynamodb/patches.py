"""DynamoDB stream records without a JSON dump per write; GetRecords answered as plain JSON."""

# moto dumps every new stream record to JSON only to fill in its SizeBytes, inside the write
# request, and answers GetRecords through its shape-driven serializer: the largest share of the
# CPU the data plane adds to the server (benchmarks/local_stack_end_to_end.py). Here a record's
# JSON is made once, when it is read (by orjson), and SizeBytes comes from it. Same records.

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

import orjson
from moto.core.utils import unix_time, utcnow
from moto.dynamodb.models.dynamo_type import Item
from moto.dynamodb.models.table import StreamRecord, StreamShard, Table
from moto.dynamodbstreams.models import DynamoDBStreamsBackend, ShardIterator
from moto.dynamodbstreams.responses import DynamoDBStreamsHandler
from moto.moto_api._internal import mock_random

from orders_pipeline.local_stack.patching import calls, replaces, requires, requires_attributes

DEFAULT_LIMIT = 1000
_WITH_NEW_IMAGE = ("NEW_IMAGE", "NEW_AND_OLD_IMAGES")
_WITH_OLD_IMAGE = ("OLD_IMAGE", "NEW_AND_OLD_IMAGES")
# Fields of a record's `dynamodb` part that are written by hand rather than by orjson.
_HAND_WRITTEN = ("ApproximateCreationDateTime", "SizeBytes")


requires(DynamoDBStreamsHandler, "backend", "_get_param", declared_in=__name__)
requires(ShardIterator, "arn", declared_in=__name__)
requires(Item, "to_json", declared_in=__name__)
requires_attributes(DynamoDBStreamsBackend, "shard_iterators", declared_in=__name__)
requires_attributes(ShardIterator, "stream_shard", "sequence_number", declared_in=__name__)
requires_attributes(StreamShard, "items", "starting_sequence_number", declared_in=__name__)
requires_attributes(Table, "hash_key_attr", "range_key_attr", declared_in=__name__)
requires_attributes(Item, "hash_key", "range_key", declared_in=__name__)

calls(
    ShardIterator,
    "__init__",
    "self",
    "streams_backend",
    "stream_shard",
    "shard_iterator_type",
    declared_in=__name__,
)


@replaces(StreamRecord, "__init__")
def stream_record_init(
    self: StreamRecord,
    table: Table,
    stream_type: str,
    event_name: str,
    old: Item | None,
    new: Item | None,
    seq: int,
) -> None:
    """moto's record, with SizeBytes left to the first read (None until then)."""
    keyed = old if old is not None else new
    keys = {table.hash_key_attr: keyed.hash_key.to_json()}  # type: ignore[union-attr]
    if table.range_key_attr is not None:
        keys[table.range_key_attr] = keyed.range_key.to_json()  # type: ignore[union-attr]
    dynamodb: dict[str, Any] = {
        "StreamViewType": stream_type,
        "ApproximateCreationDateTime": utcnow(),
        "SequenceNumber": str(seq),
        "SizeBytes": None,
        "Keys": keys,
    }
    if stream_type in _WITH_NEW_IMAGE and new is not None:
        dynamodb["NewImage"] = new.to_json()["Attributes"]
    if stream_type in _WITH_OLD_IMAGE and old is not None:
        dynamodb["OldImage"] = old.to_json()["Attributes"]
    self.record = {
        "eventID": mock_random.uuid4().hex,
        "eventName": event_name,
        "eventSource": "aws:dynamodb",
        "eventVersion": "1.0",
        "awsRegion": "us-east-1",
        "dynamodb": dynamodb,
    }


@replaces(StreamRecord, "to_json")
def stream_record_to_json(self: StreamRecord) -> dict[str, Any]:
    """The record as moto hands it to its other readers (Lambda event sources): SizeBytes set."""
    if self.record["dynamodb"]["SizeBytes"] is None:
        wire_text(self.record)
    return self.record


def _epoch_seconds(value: datetime) -> float:
    # moto's naive UTC time as epoch seconds (datetime.timestamp() would read it as local time),
    # truncated to the millisecond as moto's serializer sends it.
    return int(unix_time(value) * 1000) / 1000


def _wire_bytes(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")  # B and BS attribute values
    raise TypeError(f"GetRecords: cannot encode {type(value).__name__} value {value!r}")


def wire_text(record: dict[str, Any]) -> bytes:
    """A stream record as GetRecords sends it (UTF-8 JSON); sets its SizeBytes the first time.

    SizeBytes is the byte length of the record's `dynamodb` JSON without that field: like
    moto's own figure, an overestimate of DynamoDB's (which counts the binary item size).
    """
    dynamodb = record["dynamodb"]
    rest = {name: value for name, value in dynamodb.items() if name not in _HAND_WRITTEN}
    created = orjson.dumps(_epoch_seconds(dynamodb["ApproximateCreationDateTime"]))
    without_size = (
        b'{"ApproximateCreationDateTime":'
        + created
        + b","
        + (orjson.dumps(rest, default=_wire_bytes)[1:])
    )
    if dynamodb["SizeBytes"] is None:
        dynamodb["SizeBytes"] = len(without_size)
    envelope = {name: value for name, value in record.items() if name != "dynamodb"}
    return b"".join(
        (
            orjson.dumps(envelope)[:-1],
            b',"dynamodb":{"SizeBytes":',
            str(dynamodb["SizeBytes"]).encode(),
            b",",
            without_size[1:],
            b"}",
        )
    )


@replaces(DynamoDBStreamsHandler, "get_records")
def get_records(self: DynamoDBStreamsHandler) -> str:
    """moto's ShardIterator.get, with the records written as JSON text one by one."""
    limit = self._get_param("Limit")
    limit = DEFAULT_LIMIT if limit is None else limit
    iterator: ShardIterator = self.backend.shard_iterators[self._get_param("ShardIterator")]
    shard: StreamShard = iterator.stream_shard
    start = iterator.sequence_number - shard.starting_sequence_number
    if start < 0:
        raise ValueError(f"shard iterator before the shard's first record: {start}")
    records = [item.record for item in shard.items[start : start + limit]]
    if records:
        last = int(records[-1]["dynamodb"]["SequenceNumber"])
        following = ShardIterator(self.backend, shard, "AFTER_SEQUENCE_NUMBER", last)
    else:
        following = ShardIterator(
            self.backend, shard, "AT_SEQUENCE_NUMBER", iterator.sequence_number
        )
    self.backend.shard_iterators[following.arn] = following
    body = b"".join(
        (
            b'{"NextShardIterator":',
            orjson.dumps(following.arn),
            b',"Records":[',
            b",".join(wire_text(record) for record in records),
            b"]}",
        )
    )
    return body.decode()
