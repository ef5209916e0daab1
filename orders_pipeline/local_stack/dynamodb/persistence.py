"""DynamoDB items kept across restarts: every write marks its key, a snapshot writes the marked
items (or their deletion) to the journal, a start puts them back into their tables."""

from __future__ import annotations

import base64
import threading
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

import orjson
from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
from moto.dynamodb.models.dynamo_type import DynamoType, Item
from moto.dynamodb.models.table import Table
from moto.dynamodbstreams.models import DynamoDBStreamsBackend

from orders_pipeline.local_stack.dynamodb.patches import binary_decoded
from orders_pipeline.local_stack.patching import requires_attributes, wraps
from orders_pipeline.local_stack.persistence import snapshot
from orders_pipeline.local_stack.persistence.store import Changes, Collection, register

requires_attributes(
    Table,
    "name", "account_id", "region_name", "created_at", "items", "stream_shard",
    declared_in=__name__,
)  # fmt: skip
requires_attributes(DynamoDBBackend, "tables", declared_in=__name__)

_SEPARATOR = b"\x00"


def table_identity(table: Table) -> bytes:
    """Names one incarnation of a table: a table deleted and created again is another."""
    created = table.created_at.isoformat()
    return f"{table.account_id}/{table.region_name}/{table.name}/{created}".encode()


def _row_key(table: Table, hash_key: DynamoType, range_key: DynamoType | None) -> bytes:
    parts = [table_identity(table), orjson.dumps(hash_key.to_json())]
    if range_key is not None:
        parts.append(orjson.dumps(range_key.to_json()))
    return _SEPARATOR.join(parts)


class ItemsCollection(Collection):
    """Items of every table, one row per item (key: table incarnation + item key)."""

    name = "dynamodb-items"

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._dirty: dict[bytes, tuple[Table, DynamoType, DynamoType | None]] = {}
        self._dropped: set[bytes] = set()

    def touch(self, table: Table, hash_key: DynamoType, range_key: DynamoType | None) -> None:
        with self._lock:
            self._dirty[_row_key(table, hash_key, range_key)] = (table, hash_key, range_key)

    def drop_table(self, table: Table) -> None:
        with self._lock:
            self._dropped.add(table_identity(table))

    def changes(self) -> Changes:
        with self._lock:
            dirty, self._dirty = self._dirty, {}
            dropped, self._dropped = self._dropped, set()
        found = Changes(delete_prefixes=[identity + _SEPARATOR for identity in dropped])
        for key, (table, hash_key, range_key) in dirty.items():
            if key.split(_SEPARATOR, 1)[0] in dropped:
                continue
            item = table.get_item(hash_key, range_key) if range_key else _get(table, hash_key)
            if item is None:
                found.deletes.append(key)
            else:
                found.puts.append((key, _item_json(item)))
        return found

    def restore(self, rows: Iterable[tuple[bytes, bytes]]) -> None:
        tables = {
            table_identity(table): table
            for backends in dynamodb_backends.values()
            for backend in backends.values()
            for table in backend.tables.values()
        }
        for key, value in rows:
            identity, _, rest = key.partition(_SEPARATOR)
            table = tables.get(identity)
            if table is None:
                # Its table was deleted (or re-created) after the rows were written.
                with self._lock:
                    self._dropped.add(identity)
                continue
            hash_text, _, range_text = rest.partition(_SEPARATOR)
            hash_key = DynamoType(orjson.loads(hash_text))
            range_key = DynamoType(orjson.loads(range_text)) if range_text else None
            attributes = {
                name: binary_decoded(attribute) for name, attribute in orjson.loads(value).items()
            }
            item = Item(hash_key, range_key, attributes)
            if range_key is not None:
                table.items[hash_key][range_key] = item
            else:
                table.items[hash_key] = item


def _wire_bytes(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")  # B and BS values, as on the wire
    raise TypeError(f"cannot keep {type(value).__name__} value {value!r}")


def _item_json(item: Item) -> bytes:
    return orjson.dumps(item.to_json()["Attributes"], default=_wire_bytes)


def _get(table: Table, hash_key: DynamoType) -> Item | None:
    # Without a range key: the item itself (get_item insists on a range key for such tables).
    found = table.items.get(hash_key)
    return found if isinstance(found, Item) else None


ITEMS = register(ItemsCollection())


@wraps(Table, "put_item")
def put_item(original: Any, self: Table, item_attrs: dict[str, Any], *args: Any, **kwargs: Any):
    item = original(self, item_attrs, *args, **kwargs)
    ITEMS.touch(self, item.hash_key, item.range_key)
    return item


@wraps(Table, "delete_item")
def delete_item(original: Any, self: Table, hash_key: DynamoType, range_key: DynamoType | None):
    item = original(self, hash_key, range_key)
    if item is not None:
        ITEMS.touch(self, item.hash_key, item.range_key)
    return item


@wraps(DynamoDBBackend, "delete_table")
def delete_table(original: Any, self: DynamoDBBackend, name: str) -> Table:
    table = original(self, name)
    ITEMS.drop_table(table)
    return table


@snapshot.reduces(Table)
def _table_without_items(table: Table) -> tuple:
    # The items are journal rows; the stream shard pickles as its record log's directory.
    return snapshot.without(table, "items", items=defaultdict(dict))


@snapshot.reduces(DynamoDBStreamsBackend)
def _streams_without_iterators(backend: DynamoDBStreamsBackend) -> tuple:
    # Shard iterators expire after 15 minutes on AWS: a restarted stack forgets them.
    return snapshot.without(backend, "shard_iterators", shard_iterators={})
