"""The simulated clock's origin that makes a generated stream end at or before a given instant."""

from datetime import UTC, datetime

from orders_pipeline.orders import ChangeMix, generate_changes


def utc_now() -> datetime:
    """The current instant (UTC); one place for tests to fix the clock."""
    return datetime.now(UTC)


def start_ending_by(
    end: datetime, count: int, *, seed: int, orders_per_second: float, mix: ChangeMix
) -> datetime:
    """The start from which the newest `created_at`/`updated_at` of the stream is exactly `end`.

    The simulated clock runs ahead of real time (lifecycles end minutes after the last order),
    so a stream started now holds future dates: near midnight UTC, tomorrow's, which is not yet
    a daily partition. The generator draws every time as an offset from its start, so one dry
    run from `end` measures the span to subtract.
    """
    end = end.astimezone(UTC).replace(microsecond=end.microsecond // 1000 * 1000)
    newest = end
    for change in generate_changes(
        count, seed=seed, start=end, orders_per_second=orders_per_second, mix=mix
    ):
        if change.order is not None and change.order.updated_at > newest:
            newest = change.order.updated_at
    return end - (newest - end)
