"""What Glue bills: Data Catalog requests (databases, tables, partitions: the API's and the ones
Athena and a crawler make inside the service), and crawler runs by the DPU-second with a
10-minute minimum per run."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from orders_pipeline.local_stack.metering import meters
from orders_pipeline.local_stack.metering.rules import MeteringRules

CATALOG_REQUESTS = "glue.catalog_requests"
CRAWLER_DPU_SECONDS = "glue.crawler_dpu_seconds"
# AWS bills a crawler run for at least 10 minutes; how many DPUs a crawler uses AWS does not
# publish, and its pricing example takes 2: so does this emulator.
CRAWLER_MINIMUM_SECONDS = 600
CRAWLER_DPUS = 2
_CATALOG_ACTION = re.compile(
    r"(Database|Table|Partition|Connection|UserDefinedFunction|ColumnStatistics|Catalog)"
)


def is_catalog_action(action: str) -> bool:
    return bool(_CATALOG_ACTION.search(action)) and "Crawler" not in action


class GlueMetering(MeteringRules):
    def meter(self, record: Any, context: Any) -> Mapping[str, float]:
        if record.status >= 500 or not is_catalog_action(record.action):
            return {}
        return {CATALOG_REQUESTS: 1}


def catalog_requests(count: int = 1) -> None:
    """Requests the service makes to its own catalog (Athena planning, a crawler's writes)."""
    meters.add(CATALOG_REQUESTS, count)


def crawler_run(seconds: float) -> None:
    meters.add(CRAWLER_DPU_SECONDS, max(seconds, CRAWLER_MINIMUM_SECONDS) * CRAWLER_DPUS)


rules = GlueMetering()
