"""Data-quality checks on the analytics tables, and the reconciliation with DynamoDB."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import dagster as dg
from pydantic import Field

from orders_pipeline.defs.analytics.reconciliation import OrderState, reconcile
from orders_pipeline.defs.analytics.sql_templates import check_query
from orders_pipeline.defs.resources import (
    AthenaResource,
    GlueCatalogResource,
    OrdersTableResource,
    failing_clearly,
)
from orders_pipeline.orders.model import InvalidOrderError


def check_outcome(
    row: dict[str, Any], guarantee: str, name: str | None = None
) -> dg.AssetCheckResult:
    """A check passes when its query found no failing rows; the metadata names an example."""
    failing = int(row["failing_rows"])
    return dg.AssetCheckResult(
        check_name=name,
        passed=failing == 0,
        description=guarantee if failing == 0 else f"{failing} rows break: {guarantee}",
        metadata={
            "failing_rows": dg.MetadataValue.int(failing),
            "example": dg.MetadataValue.text(str(row.get("example") or "")),
        },
    )


def _run_check(athena: AthenaResource, glue: GlueCatalogResource, query: str) -> dict[str, Any]:
    with failing_clearly():
        return athena.run(
            check_query(query, database=glue.database, raw_table=glue.raw_table)
        ).rows[0]


@dg.asset_check(asset="order_events", description="event_id is unique after deduplication.")
def unique_event_id(athena: AthenaResource, glue: GlueCatalogResource) -> dg.AssetCheckResult:
    row = _run_check(athena, glue, "order_events_duplicate_event_id")
    return check_outcome(row, "each event_id appears once")


@dg.asset_check(asset="orders_current", description="orderid is unique in the current state.")
def unique_orderid(athena: AthenaResource, glue: GlueCatalogResource) -> dg.AssetCheckResult:
    row = _run_check(athena, glue, "orders_current_duplicate_orderid")
    return check_outcome(row, "each orderid appears once")


class FreshnessConfig(dg.Config):
    max_age_minutes: float = Field(
        default=60, gt=0, description="Oldest acceptable age of the newest change event."
    )


def event_age(newest: datetime | None, now: datetime) -> timedelta | None:
    """Age of the newest event; Athena timestamps carry no zone and are UTC here."""
    if newest is None:
        return None
    if newest.tzinfo is None:
        newest = newest.replace(tzinfo=UTC)
    return now - newest


@dg.asset_check(
    asset="order_events", description="The newest change event is at most max_age_minutes old."
)
def newest_event_fresh(
    config: FreshnessConfig, athena: AthenaResource, glue: GlueCatalogResource
) -> dg.AssetCheckResult:
    with failing_clearly():
        query = check_query("order_events_newest_event", database=glue.database, raw_table="unused")
        newest = athena.run(query).rows[0]["newest_event_time"]
    age = event_age(newest, datetime.now(UTC))
    if age is None:
        return dg.AssetCheckResult(passed=False, description="order_events holds no events")
    minutes = age.total_seconds() / 60
    return dg.AssetCheckResult(
        passed=minutes <= config.max_age_minutes,
        metadata={
            "newest_event_time": dg.MetadataValue.text(str(newest)),
            "age_minutes": dg.MetadataValue.float(round(minutes, 1)),
            "max_age_minutes": dg.MetadataValue.float(float(config.max_age_minutes)),
        },
    )


def _table_states(
    athena: AthenaResource, glue: GlueCatalogResource
) -> list[tuple[str, OrderState]]:
    query = check_query("orders_current_states", database=glue.database, raw_table="unused")
    return [
        (
            row["orderid"],
            # pyathena gives DECIMAL columns as Decimal; str() keeps exact digits either way.
            OrderState(Decimal(str(row["order_total"])), row["updated_at"]),
        )
        for row in athena.run(query).rows
    ]


@dg.asset_check(
    asset="orders_current",
    description=(
        "As of orders_current's watermark (its newest updated_at), the live orders and their "
        "total value in DynamoDB equal those in orders_current; later changes are in flight."
    ),
)
def matches_dynamodb(
    athena: AthenaResource, glue: GlueCatalogResource, orders_table: OrdersTableResource
) -> dg.AssetCheckResult:
    with failing_clearly():
        # The table first: DynamoDB read afterwards can only be newer, never behind it.
        table_rows = _table_states(athena, glue)
        dynamodb = orders_table.order_states()
    try:
        outcome = reconcile(dynamodb, table_rows)
    except InvalidOrderError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from exc
    return dg.AssetCheckResult(
        passed=outcome.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=outcome.describe(),
        metadata={
            "watermark": dg.MetadataValue.text(outcome.watermark or "none"),
            "dynamodb_orders": dg.MetadataValue.int(outcome.dynamodb_orders),
            "table_orders": dg.MetadataValue.int(outcome.table_orders),
            "dynamodb_value": dg.MetadataValue.text(str(outcome.dynamodb_value)),
            "table_value": dg.MetadataValue.text(str(outcome.table_value)),
            "updated_in_flight": dg.MetadataValue.int(outcome.updated_in_flight),
            "deleted_in_flight": dg.MetadataValue.int(outcome.deleted_in_flight),
            "differing_orders": dg.MetadataValue.int(outcome.differing_orders),
            "examples": dg.MetadataValue.json(outcome.examples),
        },
    )
