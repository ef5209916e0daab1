"""Daily partitions (UTC) of the analytics tables; `end_offset=1` makes today's partition exist."""

from collections.abc import Iterable
from datetime import datetime

import dagster as dg

daily_partitions = dg.DailyPartitionsDefinition(
    start_date="2025-01-01", timezone="UTC", end_offset=1
)


def require_daily_partitions(days: Iterable[str], what: str, now: datetime | None = None) -> None:
    """Raise ValueError naming the first of `days` (found in data) that is not a daily partition.

    Dagster would fail such a run with a traceback; the message says which day and why.
    """
    keys = daily_partitions.get_partition_keys(current_time=now)
    known = set(keys)
    for day in days:
        if day in known:
            continue
        if day > keys[-1]:
            why = "is in the future (the data's clock runs ahead of real time)"
        elif day < keys[0]:
            why = "is before the first partition"
        else:
            why = "is not a date written YYYY-MM-DD"
        raise ValueError(
            f"{what} {day!r} {why}: daily partitions run from {keys[0]} to {keys[-1]} (UTC)"
        )
