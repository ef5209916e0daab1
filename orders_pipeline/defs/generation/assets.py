"""Mock orders: a seeded batch of order changes written to the DynamoDB table."""

from dataclasses import fields
from datetime import datetime

import dagster as dg
from pydantic import Field, field_validator

from orders_pipeline.defs.generation import clock
from orders_pipeline.defs.resources import OrdersTableResource, failing_clearly
from orders_pipeline.dynamodb_writer import write_changes
from orders_pipeline.orders import ChangeMix, EventType, generate_changes
from orders_pipeline.orders.model import format_timestamp, parse_timestamp

# Simulated new orders per second when the run config sets no write rate.
DEFAULT_ORDERS_PER_SECOND = 10.0

# Run config names the mix by event kind ("cancel"), the generator by field ("cancel_rate").
EVENT_KINDS = tuple(f.name.removesuffix("_rate") for f in fields(ChangeMix))


class GenerateOrdersConfig(dg.Config):
    count: int = Field(default=1000, ge=1, description="New orders to place (INSERT events).")
    rate: float | None = Field(
        default=None, gt=0, description="New orders per second; unset writes as fast as possible."
    )
    seed: int = Field(default=0, description="Same seed and start, same orders and changes.")
    start: str | None = Field(
        default=None,
        description=(
            "Simulated clock origin, ISO 8601 UTC (e.g. 2025-01-31T09:00:00Z); unset: early "
            "enough that the batch's last change is now, so no order is dated in the future."
        ),
    )
    event_mix: dict[str, float] = Field(
        default_factory=dict,
        description=(
            "Probability of each kind of event, overriding the defaults: " + ", ".join(EVENT_KINDS)
        ),
    )

    @field_validator("start")
    @classmethod
    def _iso_utc(cls, start: str | None) -> str | None:
        if start is not None:
            parse_timestamp("start", start)
        return start

    @field_validator("event_mix")
    @classmethod
    def _known_probabilities(cls, mix: dict[str, float]) -> dict[str, float]:
        for kind, probability in mix.items():
            if kind not in EVENT_KINDS:
                raise ValueError(
                    f"event_mix: unknown event type {kind!r}; known: {', '.join(EVENT_KINDS)}"
                )
            if not 0 <= probability <= 1:
                raise ValueError(f"event_mix.{kind}: must be between 0 and 1, got {probability!r}")
        return mix

    def start_time(self) -> datetime | None:
        return parse_timestamp("start", self.start) if self.start else None

    def change_mix(self) -> ChangeMix:
        return ChangeMix(**{f"{kind}_rate": p for kind, p in self.event_mix.items()})


@dg.asset(
    description=(
        "A batch of mock order changes (new orders, status moves, deletions) written to the "
        "DynamoDB orders table; its stream feeds the rest of the pipeline."
    ),
    kinds={"dynamodb", "python"},
    group_name="generation",
)
def generated_orders(
    config: GenerateOrdersConfig, orders_table: OrdersTableResource
) -> dg.MaterializeResult:
    orders_per_second = config.rate or DEFAULT_ORDERS_PER_SECOND
    start = config.start_time() or clock.start_ending_by(
        clock.utc_now(),
        config.count,
        seed=config.seed,
        orders_per_second=orders_per_second,
        mix=config.change_mix(),
    )
    changes = generate_changes(
        config.count,
        seed=config.seed,
        start=start,
        orders_per_second=orders_per_second,
        mix=config.change_mix(),
    )
    with failing_clearly():
        summary = write_changes(
            orders_table.table_name,
            changes,
            rate=config.rate,
            dynamodb_resource=orders_table.dynamodb(),
        )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": dg.MetadataValue.int(summary.written),
            **{
                f"{event.value.lower()}_events": dg.MetadataValue.int(
                    summary.by_event_type.get(event.value, 0)
                )
                for event in EventType
            },
            "seconds": dg.MetadataValue.float(round(summary.elapsed, 2)),
            "changes_per_second": dg.MetadataValue.float(round(summary.rate, 1)),
            "table": dg.MetadataValue.text(orders_table.table_name),
            "seed": dg.MetadataValue.int(config.seed),
            "start": dg.MetadataValue.text(format_timestamp(start)),
        }
    )
