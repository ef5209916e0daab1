"""Daily partitions (UTC) of the analytics tables; `end_offset=1` makes today's partition exist."""

import dagster as dg

daily_partitions = dg.DailyPartitionsDefinition(
    start_date="2025-01-01", timezone="UTC", end_offset=1
)
