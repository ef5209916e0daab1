"""UTC days as the partitions name them (YYYY-MM-DD), and which of them new data can reach."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

# A change leaves the DynamoDB stream within a day and Kinesis within another: its event day is
# today or one of the two before.
LATE_DAYS = 2


def recent_days(now: datetime, late_days: int = LATE_DAYS) -> list[str]:
    """Today and the `late_days` before it (UTC), oldest first."""
    today = now.astimezone(UTC).date()
    return [(today - timedelta(days=n)).isoformat() for n in range(late_days, -1, -1)]


def day_before(day: str) -> str:
    return (date.fromisoformat(day) - timedelta(days=1)).isoformat()
