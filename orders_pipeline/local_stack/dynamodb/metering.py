"""What DynamoDB bills (on-demand): write request units by the larger of an item's size before and
after the write, read request units by the size read, twice for a transaction; a GetRecords call
of its stream, one streams read request unit; table storage as GB-hours, sampled."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
from moto.dynamodb.models.table import Table

from orders_pipeline.local_stack.metering import meters
from orders_pipeline.local_stack.metering.rules import MeteringRules, json_body
from orders_pipeline.local_stack.metering.units import GB, item_size, read_units, write_units
from orders_pipeline.local_stack.patching import calls, requires, requires_attributes

WRITE = "dynamodb.write_request_units"
READ = "dynamodb.read_request_units"
STORAGE = "dynamodb.storage_gb_hours"
STREAM_READ = "dynamodb_streams.read_request_units"
# DynamoDB adds 100 bytes of indexing overhead to each item's stored size.
ITEM_OVERHEAD = 100

requires(DynamoDBBackend, "get_item", "get_table", declared_in=__name__)
calls(DynamoDBBackend, "get_item", "self", "table_name", "keys", declared_in=__name__)
requires(Table, "all_items", declared_in=__name__)
requires_attributes(Table, "hash_key_attr", "range_key_attr", declared_in=__name__)
requires_attributes(DynamoDBBackend, "tables", declared_in=__name__)

_WRITES = {"PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems"}
_READS = {"GetItem", "BatchGetItem", "Query", "Scan", "TransactGetItems"}


def _backend(region: str) -> DynamoDBBackend:
    return dynamodb_backends[DEFAULT_ACCOUNT_ID][region]


def _stored_size(region: str, table: str, key: Mapping[str, Any]) -> int:
    try:
        found = _backend(region).get_item(table, dict(key))
    except Exception:  # noqa: BLE001 - a missing table or a bad key: the request fails itself
        return 0
    return item_size(found.to_json()["Attributes"]) if found is not None else 0


def _key_of(region: str, table: str, item: Mapping[str, Any]) -> dict[str, Any]:
    try:
        found = _backend(region).get_table(table)
    except Exception:  # noqa: BLE001
        return {}
    names = [found.hash_key_attr] + ([found.range_key_attr] if found.range_key_attr else [])
    return {name: item[name] for name in names if name in item}


def _writes(body: Mapping[str, Any], action: str, region: str) -> Iterator[tuple]:
    """(table, key, new item or None for 'look it up after', transactional) per item written."""
    if action == "PutItem":
        table = body.get("TableName", "")
        yield table, _key_of(region, table, body.get("Item", {})), body.get("Item", {}), False
    elif action in ("UpdateItem", "DeleteItem"):
        yield body.get("TableName", ""), body.get("Key", {}), None, False
    elif action == "BatchWriteItem":
        for table, requests in (body.get("RequestItems") or {}).items():
            for request in requests:
                if "PutRequest" in request:
                    item = request["PutRequest"].get("Item", {})
                    yield table, _key_of(region, table, item), item, False
                elif "DeleteRequest" in request:
                    yield table, request["DeleteRequest"].get("Key", {}), None, False
    elif action == "TransactWriteItems":
        for entry in body.get("TransactItems") or []:
            for kind, spec in entry.items():
                table = spec.get("TableName", "")
                if kind == "Put":
                    item = spec.get("Item", {})
                    yield table, _key_of(region, table, item), item, True
                else:
                    yield table, spec.get("Key", {}), None, True


def _read_units(action: str, request: Mapping[str, Any], response: Mapping[str, Any]) -> float:
    if action == "GetItem":
        size = item_size(response.get("Item"))
        return read_units(size, consistent=bool(request.get("ConsistentRead")))
    if action == "BatchGetItem":
        units = 0.0
        wanted = request.get("RequestItems") or {}
        for table, items in (response.get("Responses") or {}).items():
            consistent = bool(wanted.get(table, {}).get("ConsistentRead"))
            units += sum(read_units(item_size(i), consistent=consistent) for i in items)
        return units
    if action == "TransactGetItems":
        return sum(
            read_units(item_size(r.get("Item")), consistent=True, transactional=True)
            for r in response.get("Responses") or []
        )
    # Query and Scan: the size of what was read (the items a filter then dropped included).
    items = response.get("Items") or []
    size = sum(item_size(i) for i in items)
    count, scanned = int(response.get("Count", len(items))), int(response.get("ScannedCount", 0))
    if count and scanned > count:
        size = size * scanned // count
    return read_units(size, consistent=bool(request.get("ConsistentRead")))


class DynamoDBMetering(MeteringRules):
    def wants_body(self, record: Any) -> bool:
        return record.action in _WRITES or record.action in _READS

    def wants_response(self, record: Any) -> bool:
        return record.action in _READS or record.action in _WRITES

    def before(self, record: Any) -> Any:
        if record.action not in _WRITES:
            return None
        body = json_body(record.body)
        writes = list(_writes(body, record.action, record.region))
        return [(t, k, new, tx, _stored_size(record.region, t, k)) for t, k, new, tx in writes]

    def meter(self, record: Any, context: Any) -> Mapping[str, float]:
        conditional_failure = record.status == 400 and b"ConditionalCheckFailed" in (
            record.response_body or b""
        )
        if record.action in _WRITES and (record.status == 200 or conditional_failure):
            units, created = 0.0, 0
            for table, key, new, transactional, before in context or []:
                if conditional_failure:
                    after = before
                elif new is not None:
                    after = item_size(new)
                else:
                    after = _stored_size(record.region, table, key)
                created += before == 0 and after > 0
                units += write_units(before, after, transactional=transactional)
            if created:
                meters.current().count_orders(created)
            return {WRITE: units}
        if record.action in _READS and record.status == 200:
            request, response = json_body(record.body), json_body(record.response_body)
            return {READ: _read_units(record.action, request, response)}
        return {}


class StreamsMetering(MeteringRules):
    """DynamoDB Streams: each GetRecords call is one streams read request unit (reads by a
    Lambda trigger are free; the Pipe is not one)."""

    def meter(self, record: Any, context: Any) -> Mapping[str, float]:
        return {STREAM_READ: 1} if record.action == "GetRecords" and record.status < 500 else {}


def stored_bytes() -> int:
    total = 0
    for backend in list(dynamodb_backends[DEFAULT_ACCOUNT_ID].values()):
        for table in list(backend.tables.values()):
            for item in table.all_items():
                total += item_size(item.to_json()["Attributes"]) + ITEM_OVERHEAD
    return total


def sample(seconds: float) -> dict[str, float]:
    return {STORAGE: stored_bytes() / GB * seconds / 3600}


rules = DynamoDBMetering()
streams_rules = StreamsMetering()
