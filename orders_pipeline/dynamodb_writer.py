"""Write an order change stream to DynamoDB in batches, paced to a target rate of new orders."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import boto3

from orders_pipeline.orders.changes import EventType, OrderChange


@dataclass(frozen=True, slots=True)
class WriteSummary:
    written: int
    by_event_type: dict[str, int]  # "INSERT" / "MODIFY" / "REMOVE" -> changes written
    elapsed: float  # seconds, including the final flush

    @property
    def rate(self) -> float:
        """Changes written per second."""
        return self.written / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def order_rate(self) -> float:
        """New orders (INSERTs) written per second."""
        inserts = self.by_event_type.get(EventType.INSERT.value, 0)
        return inserts / self.elapsed if self.elapsed > 0 else 0.0


class Pacer:
    """A token bucket on the monotonic clock: `rate` tokens a second, one second of burst saved up.

    The burst lets the writer catch up after a slow flush without exceeding the rate for long.
    """

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        if not rate > 0:
            raise ValueError(f"rate: must be > 0, got {rate!r}")
        self._rate = rate
        self._capacity = max(1.0, rate)
        self._tokens = 1.0
        self._clock = clock
        self._last = clock()

    def reserve(self) -> float:
        """Take one token; return how many seconds to wait before using it (0 if available now)."""
        now = self._clock()
        self._tokens = min(self._capacity, self._tokens + (now - self._last) * self._rate)
        self._last = now
        self._tokens -= 1
        return max(0.0, -self._tokens / self._rate)


class _KeyOrderedBatches:
    """`Table.batch_writer()` segments in which each key appears at most once.

    BatchWriteItem refuses two requests for one key, and `overwrite_by_pkeys` would drop the earlier
    one, losing a change from the table's stream; so a repeated key flushes the segment first,
    which also keeps every key's changes in order.
    """

    def __init__(self, table: Any) -> None:
        self._table = table
        self._segment = ExitStack()
        self._writer: Any = None
        self._keys: set[str] = set()

    def write(self, change: OrderChange) -> None:
        if change.orderid in self._keys:
            self.flush()
        if self._writer is None:
            self._writer = self._segment.enter_context(self._table.batch_writer())
        if change.event_type is EventType.REMOVE:
            self._writer.delete_item(Key=change.key)
        else:
            # A MODIFY is a put of the whole new item: one batched request that still gives the
            # stream a MODIFY record with both NewImage and OldImage.
            self._writer.put_item(Item=change.order.to_item())
        self._keys.add(change.orderid)

    def flush(self) -> None:
        # Leaving batch_writer's context sends everything it still buffers.
        self._segment.close()
        self._writer = None
        self._keys.clear()


def write_changes(
    table_name: str,
    changes: Iterable[OrderChange],
    *,
    rate: float | None = None,
    duration: float | None = None,
    progress: Callable[[OrderChange], None] | None = None,
    dynamodb_resource: Any = None,
) -> WriteSummary:
    """Write `changes` to `table_name` in order and return what was written.

    `rate` caps new orders (INSERTs) per second, their other changes go out as they come; None
    writes as fast as possible. `duration` (seconds) stops early. `progress` is called with each
    change once it is handed to the batch. Writes already buffered are dropped if an error is
    raised; on normal exit everything is flushed before the summary is taken.
    """
    if rate is not None and not rate > 0:
        raise ValueError(f"rate: must be > 0 orders per second, got {rate!r}")
    if duration is not None and not duration > 0:
        raise ValueError(f"duration: must be > 0 seconds, got {duration!r}")
    table = (dynamodb_resource or boto3.resource("dynamodb")).Table(table_name)
    pacer = Pacer(rate) if rate is not None else None
    counts: Counter[str] = Counter()
    started = time.monotonic()
    deadline = started + duration if duration is not None else None
    batches = _KeyOrderedBatches(table)
    for change in changes:
        if pacer is not None and change.event_type is EventType.INSERT:
            wait = pacer.reserve()
            if wait > 0:
                # Land what is buffered before idling, so readers of the stream see it now.
                batches.flush()
                if deadline is not None and time.monotonic() + wait >= deadline:
                    # The next order falls after the deadline: idle out the run, as asked.
                    time.sleep(max(0.0, deadline - time.monotonic()))
                    break
                time.sleep(wait)
        if deadline is not None and time.monotonic() >= deadline:
            break
        batches.write(change)
        counts[change.event_type.value] += 1
        if progress is not None:
            progress(change)
    batches.flush()
    return WriteSummary(
        written=sum(counts.values()),
        by_event_type={event.value: counts[event.value] for event in EventType},
        elapsed=time.monotonic() - started,
    )
