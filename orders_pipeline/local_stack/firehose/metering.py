"""What Data Firehose bills for what its worker does: the bytes it ingests from Kinesis (each
record rounded up to 5 KB), and for dynamic partitioning the bytes processed and the objects
delivered. The worker's own calls (a Kinesis read, a Lambda invocation, an S3 PUT) are billed
by those services as on AWS; the Kinesis read is not (shard-hours pay for it)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orders_pipeline.local_stack.metering.rules import MeteringRules, json_body
from orders_pipeline.local_stack.metering.units import GB, KB, base64_size, rounded_up

INGESTED_GB = "firehose.ingested_gb"
PARTITIONING_GB = "firehose.dynamic_partitioning_gb"
PARTITIONING_OBJECTS = "firehose.dynamic_partitioning_objects"
CALLER = "firehose"


def _data_sizes(response: Mapping[str, Any]) -> list[int]:
    return [base64_size(r.get("Data") or "") for r in response.get("Records") or []]


class FirehoseWorkerMetering(MeteringRules):
    """Rules for the calls the delivery stream's worker makes (User-Agent app/local-firehose)."""

    def wants_response(self, record: Any) -> bool:
        return record.service == "kinesis" and record.action == "GetRecords"

    def meter(self, record: Any, context: Any) -> Mapping[str, float]:
        if record.status != 200:
            return {}
        if record.service == "kinesis" and record.action == "GetRecords":
            sizes = _data_sizes(json_body(record.response_body))
            return {
                INGESTED_GB: sum(rounded_up(s, 5 * KB) for s in sizes) / GB,
                PARTITIONING_GB: sum(sizes) / GB,
            }
        if record.service == "s3" and record.action == "PutObject":
            return {PARTITIONING_OBJECTS: 1}
        return {}


rules = FirehoseWorkerMetering()
