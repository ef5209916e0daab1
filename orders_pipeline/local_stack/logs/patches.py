"""Log streams hold a bounded number of events: the oldest go first, as do those past the log
group's retention (moto keeps every event of every Lambda invocation for ever)."""

from __future__ import annotations

import time
from typing import Any

from moto.logs.models import LogStream

from orders_pipeline.local_stack.logs import metering as logs_metering
from orders_pipeline.local_stack.patching import requires_attributes, wraps

# AWS keeps every event for the group's retention; the emulator keeps the newest of them only,
# which is what `aws logs tail` and the Lambda log tail read.
MAX_EVENTS_PER_STREAM = 10_000

requires_attributes(LogStream, "events", "log_group", declared_in=__name__)


@wraps(LogStream, "put_log_events")
def put_log_events(original: Any, self: LogStream, log_events: list[dict[str, Any]]) -> str:
    token = original(self, log_events)
    logs_metering.ingested(log_events)
    retention_days = getattr(self.log_group, "retention_in_days", None)
    if retention_days:
        oldest = (time.time() - retention_days * 86400) * 1000
        if self.events and self.events[0].timestamp < oldest:
            self.events = [event for event in self.events if event.timestamp >= oldest]
    if len(self.events) > MAX_EVENTS_PER_STREAM:
        del self.events[: len(self.events) - MAX_EVENTS_PER_STREAM]
    return token
