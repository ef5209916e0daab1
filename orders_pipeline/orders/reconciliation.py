"""Reconcile DynamoDB's live orders with orders_current as of the table's watermark (pure)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from orders_pipeline.orders.model import parse_timestamp

EXAMPLES = 5


@dataclass(frozen=True)
class OrderState:
    """What both sides know of one live order: its value and when it last changed."""

    order_total: Decimal | None  # None: the item carries no total and no quantity x price
    updated_at: str | None


@dataclass(frozen=True)
class Reconciliation:
    """The comparison of the orders settled by the watermark, and what was left out as in flight.

    `updated_in_flight`: DynamoDB orders changed after the watermark (not yet in the table).
    `deleted_in_flight`: orders in the table that DynamoDB no longer holds. DynamoDB keeps no
    trace of a deleted item, so its REMOVE cannot be placed before or after the watermark; a
    count that stays above zero once the pipeline is idle points at lost REMOVE events.
    """

    watermark: str | None
    dynamodb_orders: int
    dynamodb_value: Decimal
    table_orders: int
    table_value: Decimal
    updated_in_flight: int
    deleted_in_flight: int
    differing_orders: int
    examples: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.differing_orders == 0

    def describe(self) -> str:
        if self.passed:
            return (
                f"{self.dynamodb_orders} live orders worth {self.dynamodb_value} agree as of "
                f"watermark {self.watermark or 'none (orders_current is empty)'}"
            )
        return (
            f"{self.differing_orders} orders differ as of watermark {self.watermark}: DynamoDB "
            f"{self.dynamodb_orders} orders worth {self.dynamodb_value}, orders_current "
            f"{self.table_orders} worth {self.table_value}; e.g. {'; '.join(self.examples)}"
        )


def _instant(side: str, orderid: str, text: str | None) -> datetime | None:
    return None if text is None else parse_timestamp(f"{side} updated_at of {orderid}", text)


def reconcile(
    dynamodb: Mapping[str, OrderState], table_rows: Iterable[tuple[str, OrderState]]
) -> Reconciliation:
    """Compare the live orders of DynamoDB with the rows of orders_current.

    The watermark is the newest `updated_at` in the table: the pipeline has caught up to it.
    DynamoDB orders updated after it are in flight and left out on both sides, and so are table
    orders DynamoDB no longer holds (deleted, REMOVE not yet delivered). Every other order must
    be in both with the same value and `updated_at`, and once in the table; an item without
    `updated_at` (written by other code) with the same value.
    """
    rows = list(table_rows)
    copies = Counter(orderid for orderid, _ in rows)
    table = dict(rows)
    newest = max(
        (
            (_instant("orders_current", o, s.updated_at), s.updated_at)
            for o, s in rows
            if s.updated_at
        ),
        default=None,
    )
    watermark = newest[0] if newest else None

    in_flight = {
        orderid
        for orderid, state in dynamodb.items()
        if state.updated_at is not None
        and (watermark is None or _instant("DynamoDB", orderid, state.updated_at) > watermark)
    }
    deleted = {orderid for orderid in table if orderid not in dynamodb}
    settled_dynamodb = {o: s for o, s in dynamodb.items() if o not in in_flight}
    settled_rows = [(o, s) for o, s in rows if o not in in_flight and o not in deleted]

    reasons: dict[str, str] = {}
    for orderid, state in sorted(settled_dynamodb.items()):
        mine = table.get(orderid)
        if state.updated_at is None:
            # Items of other code carry no change time: they cannot be placed against the
            # watermark, so they compare on presence and value alone.
            if mine is None:
                reasons[orderid] = "missing from orders_current (no updated_at in DynamoDB)"
            elif mine.order_total != state.order_total:
                reasons[orderid] = (
                    f"DynamoDB {state.order_total}, orders_current {mine.order_total} "
                    "(no updated_at in DynamoDB)"
                )
        elif mine is None:
            reasons[orderid] = f"missing from orders_current (updated {state.updated_at})"
        elif (mine.order_total, mine.updated_at) != (state.order_total, state.updated_at):
            reasons[orderid] = (
                f"DynamoDB {state.order_total} at {state.updated_at}, "
                f"orders_current {mine.order_total} at {mine.updated_at}"
            )
    for orderid, count in sorted(copies.items(), key=lambda pair: str(pair[0])):
        if count > 1:
            reasons.setdefault(orderid, f"{count} rows in orders_current")
    return Reconciliation(
        watermark=newest[1] if newest else None,
        dynamodb_orders=len(settled_dynamodb),
        dynamodb_value=sum(
            (s.order_total for s in settled_dynamodb.values() if s.order_total is not None),
            Decimal(0),
        ),
        table_orders=len(settled_rows),
        table_value=sum(
            (s.order_total for _, s in settled_rows if s.order_total is not None), Decimal(0)
        ),
        updated_in_flight=len(in_flight),
        deleted_in_flight=len(deleted),
        differing_orders=len(reasons),
        examples=[f"{orderid}: {reason}" for orderid, reason in list(reasons.items())[:EXAMPLES]],
    )
