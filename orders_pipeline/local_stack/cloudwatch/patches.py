"""Metric data points kept 15 days and at most a bounded number of them: moto keeps every point
of every metric for ever (Kinesis alone adds two per PutRecords)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from moto.cloudwatch.models import CloudWatchBackend

from orders_pipeline.local_stack.patching import requires_attributes, wraps

# CloudWatch keeps 1-minute data points for 15 days (coarser ones longer); the emulator keeps
# the raw points that long, and no more than this many in all.
RETENTION = dt.timedelta(days=15)
MAX_DATA_POINTS = 100_000

requires_attributes(CloudWatchBackend, "metric_data", declared_in=__name__)


@wraps(CloudWatchBackend, "put_metric_data")
def put_metric_data(
    original: Any, self: CloudWatchBackend, namespace: str, metric_data: list[dict[str, Any]]
) -> None:
    original(self, namespace, metric_data)
    points = self.metric_data
    if len(points) > MAX_DATA_POINTS:
        del points[: len(points) - MAX_DATA_POINTS]
    oldest = dt.datetime.now(dt.UTC) - RETENTION
    first = points[0].timestamp if points else None
    if first is not None and _aware(first) < oldest:
        self.metric_data = [point for point in points if _aware(point.timestamp) >= oldest]


def _aware(moment: dt.datetime) -> dt.datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=dt.UTC)
