"""DynamoDB stream records kept compactly: each change is written once, as the JSON GetRecords
sends, into the shard's record log (on disk with a state dir), and dropped after 24 hours.

moto keeps every stream record as Python objects for ever and dumps each to JSON twice (for its
SizeBytes, then for GetRecords): most of the memory and CPU the data plane cost the server.

The records are AWS's: one per item a request changes (an UpdateItem that creates the item
included), none for a write that changes nothing or a cancelled transaction
(developerguide/Streams.html), eventVersion 1.1, the creation time in whole seconds
(APIReference/API_streams_StreamRecord.html, developerguide/Streams.Lambda.Tutorial.html).
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import orjson
from moto.dynamodb.exceptions import ItemSizeTooLarge
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.dynamo_type import DynamoType, Item, LimitedSizeDict
from moto.dynamodb.models.table import StreamShard, Table
from moto.dynamodb.models.utilities import bytesize
from moto.dynamodbstreams.models import DynamoDBStreamsBackend, ShardIterator
from moto.dynamodbstreams.responses import DynamoDBStreamsHandler
from moto.moto_api._internal import mock_random

from orders_pipeline.local_stack.patching import (
    calls,
    replaces,
    requires,
    requires_attributes,
    requires_source,
    wraps,
)
from orders_pipeline.local_stack.persistence import store

DEFAULT_LIMIT = 1000
# DynamoDB Streams keeps a record for 24 hours.
RETENTION_SECONDS = 24 * 3600
# A shard iterator expires 15 minutes after it was handed out, as on AWS.
ITERATOR_SECONDS = 15 * 60
# The stream record format AWS sends today (GetRecords, and the Lambda and Pipes events).
EVENT_VERSION = "1.1"
_WITH_NEW_IMAGE = ("NEW_IMAGE", "NEW_AND_OLD_IMAGES")
_WITH_OLD_IMAGE = ("OLD_IMAGE", "NEW_AND_OLD_IMAGES")

requires(DynamoDBStreamsHandler, "backend", "_get_param", declared_in=__name__)
requires(ShardIterator, "arn", declared_in=__name__)
requires(Item, "to_json", declared_in=__name__)
calls(
    ShardIterator,
    "__init__",
    "self",
    "streams_backend",
    "stream_shard",
    "shard_iterator_type",
    declared_in=__name__,
)
requires_attributes(DynamoDBStreamsBackend, "shard_iterators", declared_in=__name__)
requires_attributes(DynamoDBBackend, "tables", declared_in=__name__)
requires_attributes(ShardIterator, "stream_shard", "sequence_number", declared_in=__name__)
requires_attributes(
    StreamShard, "items", "starting_sequence_number", "table", "account_id", declared_in=__name__
)
requires_attributes(
    Table,
    "hash_key_attr", "range_key_attr", "stream_specification", "lambda_event_source_mappings",
    "region_name", "items", "created_at",
    declared_in=__name__,
)  # fmt: skip
requires_attributes(Item, "hash_key", "range_key", "attrs", declared_in=__name__)
requires_attributes(DynamoType, "type", "value", declared_in=__name__)
# The item size rule item_init keeps: names and values summed, more than 405,000 bytes refused.
requires_source(
    LimitedSizeDict, "__setitem__", r"> 405000:\s+raise ItemSizeTooLarge", declared_in=__name__
)
ITEM_SIZE_LIMIT = 405_000


@replaces(Item, "__init__")
def item_init(
    self: Item, hash_key: DynamoType, range_key: DynamoType | None, attrs: dict[str, Any]
) -> None:
    """moto's, with its size limit checked once per item: moto re-sums every attribute's size
    as it adds each one, quadratic in the attribute count (nearly half of the server's time on
    an order of 18 attributes). Sizes are never negative, so the outcome is the same."""
    self.hash_key = hash_key
    self.range_key = range_key
    typed = {key: DynamoType(value) for key, value in attrs.items()}
    if sum(bytesize(key) + value.size() for key, value in typed.items()) > ITEM_SIZE_LIMIT:
        raise ItemSizeTooLarge
    self.attrs = LimitedSizeDict(typed)  # its update() does not re-check, as moto's own copy


@wraps(StreamShard, "__init__")
def stream_shard_init(original: Any, self: StreamShard, account_id: str, table: Table) -> None:
    original(self, account_id, table)
    # `items` is read by moto for the LATEST iterator (len = records ever written).
    self.items = store.current().record_log("dynamodb", RETENTION_SECONDS)


def _wire_bytes(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")  # B and BS attribute values
    raise TypeError(f"stream record: cannot encode {type(value).__name__} value {value!r}")


def stream_record(
    table: Table, view_type: str, old: Item | None, new: Item | None, sequence_number: int
) -> tuple[dict[str, Any], float]:
    """The record DynamoDB Streams sends for one change (SizeBytes still to fill in), and when.

    ApproximateCreationDateTime is rounded down to the second, as AWS sends it; the exact
    moment returned is the record's arrival in the log (for its 24-hour retention).
    """
    event_name = "INSERT" if old is None else "REMOVE" if new is None else "MODIFY"
    keyed = old if old is not None else new
    assert keyed is not None
    keys = {table.hash_key_attr: keyed.hash_key.to_json()}
    if table.range_key_attr is not None:
        keys[table.range_key_attr] = keyed.range_key.to_json()  # type: ignore[union-attr]
    created = time.time()  # moto's clock (utcnow) is this one, read through a datetime
    dynamodb: dict[str, Any] = {
        "ApproximateCreationDateTime": int(created),
        "Keys": keys,
        "SequenceNumber": str(sequence_number),
        "StreamViewType": view_type,
    }
    if view_type in _WITH_NEW_IMAGE and new is not None:
        dynamodb["NewImage"] = new.to_json()["Attributes"]
    if view_type in _WITH_OLD_IMAGE and old is not None:
        dynamodb["OldImage"] = old.to_json()["Attributes"]
    record = {
        "eventID": mock_random.uuid4().hex,
        "eventName": event_name,
        "eventVersion": EVENT_VERSION,
        "eventSource": "aws:dynamodb",
        "awsRegion": table.region_name,
        "dynamodb": dynamodb,
    }
    return record, created


def wire_text(record: dict[str, Any]) -> bytes:
    """A stream record as GetRecords sends it (UTF-8 JSON), with its SizeBytes.

    SizeBytes is the byte length of the record's `dynamodb` JSON without that field: like
    moto's own figure, an overestimate of DynamoDB's (which counts the binary item size).
    """
    dynamodb = orjson.dumps(record["dynamodb"], default=_wire_bytes)
    envelope = orjson.dumps({k: v for k, v in record.items() if k != "dynamodb"})
    return b"".join(
        (
            envelope[:-1],
            b',"dynamodb":{"SizeBytes":',
            str(len(dynamodb)).encode(),
            b",",
            dynamodb[1:],
            b"}",
        )
    )


class _Delivered:
    """A logged record in the shape moto's Lambda event sources read (`to_json()`)."""

    def __init__(self, data: bytes) -> None:
        self._data = data

    def to_json(self) -> dict[str, Any]:
        return _as_moto_record(self._data)


def _compared(value: DynamoType) -> Any:
    """An attribute value as DynamoDB compares it: a number by its value, a set unordered."""
    tag, inner = value.type, value.value
    if tag == "N":
        return tag, Decimal(inner)
    if tag == "NS":
        return tag, frozenset(Decimal(number) for number in inner)
    if tag in ("SS", "BS"):
        return tag, frozenset(inner)
    if tag == "L":
        return tag, [_compared(member) for member in inner]
    if tag == "M":
        return tag, {name: _compared(member) for name, member in inner.items()}
    return tag, inner


def unchanged(old: Item | None, new: Item | None) -> bool:
    """Whether a write left the item as it was (AWS then writes no stream record)."""
    if old is None or new is None:
        return old is new
    before, after = old.attrs, new.attrs
    if before.keys() != after.keys():
        return False
    for name, value in before.items():
        other = after[name]
        # The same type and text are the same value; only different text needs DynamoDB's
        # comparison ("1.0" is 1, a set's order does not count).
        if value.type == other.type and value.value == other.value:
            continue
        if _compared(value) != _compared(other):
            return False
    return True


_held = threading.local()


def _stored(table: Table, hash_key: DynamoType, range_key: DynamoType | None) -> Item | None:
    """The item the table holds under this key now (without adding an empty entry)."""
    if table.range_key_attr is None:
        found = table.items.get(hash_key)
    else:
        found = table.items.get(hash_key, {}).get(range_key)
    return found if isinstance(found, Item) else None


@contextmanager
def one_record_per_item() -> Iterator[None]:
    """Hold the stream changes made inside; when the outermost block ends, write one record per
    item changed: from its image before the first change to the item its table holds then.

    moto's UpdateItem of a new item first puts the bare key, then updates it (two INSERTs);
    AWS writes one record per item a request modifies, with the item as the request left it.
    """
    if getattr(_held, "changes", None) is not None:
        yield
        return
    changes: dict[tuple[int, DynamoType, DynamoType | None], tuple[StreamShard, Item | None]] = {}
    _held.changes = changes
    try:
        yield
    finally:
        _held.changes = None
        for (_, hash_key, range_key), (shard, old) in changes.items():
            _write(shard, old, _stored(shard.table, hash_key, range_key))


@replaces(StreamShard, "add")
def add(self: StreamShard, old: Item | None, new: Item | None) -> None:
    """Log the change's record (held to the end of the request inside one_record_per_item)."""
    changes = getattr(_held, "changes", None)
    if changes is None:
        _write(self, old, new)
        return
    keyed = old if old is not None else new
    assert keyed is not None
    changes.setdefault((id(self), keyed.hash_key, keyed.range_key), (self, old))


def _write(shard: StreamShard, old: Item | None, new: Item | None) -> None:
    """Log a change's record; moto's Lambda event sources get it as moto would send it.

    A PutItem or UpdateItem that changes no data in the item makes no record, as on AWS.
    """
    if unchanged(old, new):
        return
    view_type = shard.table.stream_specification["StreamViewType"]
    sequence_number = shard.starting_sequence_number + shard.items.next
    record, created = stream_record(shard.table, view_type, old, new, sequence_number)
    data = wire_text(record)
    shard.items.append(data, arrival=created)
    if shard.table.lambda_event_source_mappings:
        from moto.awslambda.utils import get_backend

        for arn, mapping in shard.table.lambda_event_source_mappings.items():
            get_backend(shard.account_id, arn.split(":")[3]).send_dynamodb_items(
                arn, [_Delivered(data)], mapping.event_source_arn
            )


@wraps(DynamoDBBackend, "update_item")
def update_item(original: Any, self: DynamoDBBackend, *args: Any, **kwargs: Any) -> Item:
    """UpdateItem: one record for the item, also when the update creates it."""
    with one_record_per_item():
        return original(self, *args, **kwargs)


@wraps(DynamoDBBackend, "transact_write_items")
def transact_write_items(
    original: Any, self: DynamoDBBackend, transact_items: list[dict[str, Any]]
) -> None:
    """TransactWriteItems: one record per item it changes, none when it is cancelled.

    moto writes each item as it goes and, to cancel, swaps in deep copies of the tables taken
    before: their stream shards are new objects, so the records already written would stay,
    readers' iterators would point at the old shard and an in-memory log would start again at
    the first sequence number. The tables keep their own objects, with the copies' items.
    """
    tables = dict(self.tables)
    with one_record_per_item():
        try:
            original(self, transact_items)
        finally:
            for name, table in tables.items():
                restored = self.tables.get(name)
                if restored is not None and restored is not table:
                    if restored.created_at == table.created_at:
                        table.items = restored.items
                        self.tables[name] = table


def binary_decoded(value: Any) -> Any:
    """An attribute value with its B/BS members as bytes again (moto's in-memory form)."""
    if not isinstance(value, dict) or len(value) != 1:
        return value
    ((tag, inner),) = value.items()
    if tag == "B":
        return {"B": base64.b64decode(inner)}
    if tag == "BS":
        return {"BS": [base64.b64decode(item) for item in inner]}
    if tag == "M":
        return {"M": {name: binary_decoded(member) for name, member in inner.items()}}
    if tag == "L":
        return {"L": [binary_decoded(item) for item in inner]}
    return value


def _as_moto_record(data: bytes) -> dict[str, Any]:
    record = orjson.loads(data)
    dynamodb = record["dynamodb"]
    for image in ("Keys", "NewImage", "OldImage"):
        if image in dynamodb:
            dynamodb[image] = {k: binary_decoded(v) for k, v in dynamodb[image].items()}
    return record


@replaces(StreamShard, "get")
def get(self: StreamShard, start: int, quantity: int) -> list[dict[str, Any]]:
    """moto's own reader of a shard (its GetRecords path): the logged records as moto holds
    them (binary values as bytes)."""
    first = start - self.starting_sequence_number
    return [_as_moto_record(data) for data in self.items.read(first, quantity)]


def _expire_iterators(backend: DynamoDBStreamsBackend, now: float) -> None:
    # Handed out in time order, so the expired ones are at the front of the dict.
    iterators = backend.shard_iterators
    for arn in list(iterators):
        if getattr(iterators[arn], "issued", now) > now - ITERATOR_SECONDS:
            break
        del iterators[arn]


@wraps(DynamoDBStreamsBackend, "get_shard_iterator")
def get_shard_iterator(original: Any, self: DynamoDBStreamsBackend, *args: Any, **kwargs: Any):
    answer = original(self, *args, **kwargs)
    now = time.monotonic()
    for iterator in reversed(self.shard_iterators.values()):
        iterator.issued = now
        break
    _expire_iterators(self, now)
    return answer


@replaces(DynamoDBStreamsHandler, "get_records")
def get_records(self: DynamoDBStreamsHandler) -> str:
    """The records after the iterator, joined from the log as written: no parse, no dump."""
    limit = self._get_param("Limit")
    limit = DEFAULT_LIMIT if limit is None else limit
    iterator: ShardIterator = self.backend.shard_iterators[self._get_param("ShardIterator")]
    shard: StreamShard = iterator.stream_shard
    position = max(iterator.sequence_number - shard.starting_sequence_number, shard.items.first)
    records = shard.items.read(position, limit)
    if records:
        last = shard.starting_sequence_number + position + len(records) - 1
        following = ShardIterator(self.backend, shard, "AFTER_SEQUENCE_NUMBER", last)
    else:
        following = ShardIterator(
            self.backend, shard, "AT_SEQUENCE_NUMBER", iterator.sequence_number
        )
    now = time.monotonic()
    following.issued = now
    self.backend.shard_iterators[following.arn] = following
    _expire_iterators(self.backend, now)
    body = b"".join(
        (
            b'{"NextShardIterator":',
            orjson.dumps(following.arn),
            b',"Records":[',
            b",".join(records),
            b"]}",
        )
    )
    return body.decode()


def trim_expired(now: float | None = None) -> int:
    """Drop stream records older than 24 hours from every table's stream; how many went."""
    from moto.dynamodb.models import dynamodb_backends

    dropped = 0
    for backends in dynamodb_backends.values():
        for backend in backends.values():
            for table in list(backend.tables.values()):
                shard = table.stream_shard
                if shard is not None and hasattr(shard.items, "trim"):
                    dropped += shard.items.trim(now)
    return dropped
