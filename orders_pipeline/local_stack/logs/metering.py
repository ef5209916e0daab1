"""What CloudWatch Logs bills: the bytes ingested, each event's message plus 26 bytes."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from orders_pipeline.local_stack.metering import meters
from orders_pipeline.local_stack.metering.units import GB

INGESTED_GB = "cloudwatch_logs.ingested_gb"
EVENT_OVERHEAD = 26


def ingested(events: Iterable[Mapping[str, Any]]) -> None:
    size = sum(len(str(e.get("message", "")).encode("utf-8")) + EVENT_OVERHEAD for e in events)
    meters.add(INGESTED_GB, size / GB)
