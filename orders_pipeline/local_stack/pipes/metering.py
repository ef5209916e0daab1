"""What EventBridge Pipes bills for what its worker does: a request per 64 KB chunk of each batch
it hands its target. Its reads of the source stream and its writes to the target are billed by
those services (DynamoDB Streams read units, Kinesis PUT payload units), as on AWS."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orders_pipeline.local_stack.metering.rules import MeteringRules
from orders_pipeline.local_stack.metering.units import KB, chunks

REQUESTS = "pipes.requests"
CALLER = "pipes"
_TARGET_CALLS = {("kinesis", "PutRecords"), ("kinesis", "PutRecord"), ("sqs", "SendMessage")}


class PipesWorkerMetering(MeteringRules):
    """Rules for the calls the Pipe's worker makes (User-Agent app/local-pipes)."""

    def meter(self, record: Any, context: Any) -> Mapping[str, float]:
        if (record.service, record.action) not in _TARGET_CALLS or record.status >= 500:
            return {}
        return {REQUESTS: chunks(record.request_bytes, 64 * KB)}


rules = PipesWorkerMetering()
