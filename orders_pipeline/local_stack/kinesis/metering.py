"""What Kinesis Data Streams bills (provisioned): shard-hours, sampled; a PUT payload unit per
25 KB of each record put (its data and partition key)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.kinesis.models import KinesisBackend, Shard, Stream, kinesis_backends

from orders_pipeline.local_stack.metering.rules import MeteringRules, json_body
from orders_pipeline.local_stack.metering.units import KB, base64_size, chunks
from orders_pipeline.local_stack.patching import requires_attributes

SHARD_HOURS = "kinesis.shard_hours"
PUT_UNITS = "kinesis.put_payload_units"
PUT_UNIT_BYTES = 25 * KB

requires_attributes(KinesisBackend, "streams", declared_in=__name__)
requires_attributes(Stream, "shards", declared_in=__name__)
requires_attributes(Shard, "is_open", declared_in=__name__)


def record_bytes(record: Mapping[str, Any]) -> int:
    data = record.get("Data") or ""
    size = base64_size(data) if isinstance(data, str) else len(data)
    return size + len(str(record.get("PartitionKey", "")).encode("utf-8"))


def records_put(record: Any) -> list[Mapping[str, Any]]:
    body = json_body(record.body)
    return body.get("Records") or [] if record.action == "PutRecords" else [body]


class KinesisMetering(MeteringRules):
    def wants_body(self, record: Any) -> bool:
        return record.action in ("PutRecord", "PutRecords")

    def meter(self, record: Any, context: Any) -> Mapping[str, float]:
        if record.action not in ("PutRecord", "PutRecords") or record.status != 200:
            return {}
        units = sum(chunks(record_bytes(r), PUT_UNIT_BYTES) for r in records_put(record))
        return {PUT_UNITS: units}


def open_shards() -> int:
    count = 0
    for backend in list(kinesis_backends[DEFAULT_ACCOUNT_ID].values()):
        for stream in list(backend.streams.values()):
            count += sum(1 for shard in stream.shards.values() if shard.is_open)
    return count


def sample(seconds: float) -> dict[str, float]:
    return {SHARD_HOURS: open_shards() * seconds / 3600}


rules = KinesisMetering()
