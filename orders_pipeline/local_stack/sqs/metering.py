"""What SQS bills: every API action is a request, each 64 KB chunk of its payload one more."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from orders_pipeline.local_stack.metering.rules import MeteringRules
from orders_pipeline.local_stack.metering.units import KB, chunks

REQUESTS = "sqs.requests"


class SQSMetering(MeteringRules):
    def meter(self, record: Any, context: Any) -> Mapping[str, float]:
        if record.status >= 500:
            return {}
        return {REQUESTS: chunks(record.request_bytes, 64 * KB)}


rules = SQSMetering()
