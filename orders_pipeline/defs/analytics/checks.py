"""Whole-table checks, run once a day (the refresh checks only the days it wrote): every rule
over every day, and the reconciliation of orders_current with DynamoDB."""

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import dagster as dg

from orders_pipeline import tables
from orders_pipeline.defs.analytics.quality import RULES, rule_result
from orders_pipeline.defs.analytics.sql_templates import orders_current_states_query, quality_query
from orders_pipeline.defs.resources import AthenaResource, GlueCatalogResource, OrdersTableResource
from orders_pipeline.lib.checks import checked
from orders_pipeline.orders.reconciliation import OrderState, reconcile

ALL_DAYS = "every day"
EVENTS_QUALITY = "all_days_quality"
CURRENT_QUALITY = "all_days_unique_orderid"


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec(
            EVENTS_QUALITY,
            asset=tables.ORDER_EVENTS.name,
            description="Every rule of the refresh checks, over every day of order_events.",
        ),
        dg.AssetCheckSpec(
            CURRENT_QUALITY,
            asset=tables.ORDERS_CURRENT.name,
            description="Each orderid appears once across every creation day.",
        ),
    ],
    name="whole_table_quality",
)
def whole_table_quality(athena: AthenaResource, glue: GlueCatalogResource):
    with checked(EVENTS_QUALITY, tables.ORDER_EVENTS.name) as failed:
        row = athena.run(
            quality_query(database=glue.database, event_days=None, creation_days=None)
        ).rows[0]
    if failed.result is not None:
        yield failed.result
        yield dg.AssetCheckResult(
            asset_key=tables.ORDERS_CURRENT.name,
            check_name=CURRENT_QUALITY,
            passed=False,
            description=failed.result.description,
        )
        return
    results = [rule_result(rule, row, ALL_DAYS) for rule in RULES]
    events = [r for r in results if r.asset_key == dg.AssetKey(tables.ORDER_EVENTS.name)]
    failing = [r for r in events if not r.passed]
    yield dg.AssetCheckResult(
        asset_key=tables.ORDER_EVENTS.name,
        check_name=EVENTS_QUALITY,
        passed=not failing,
        description="; ".join(r.description or "" for r in failing) or "every rule holds",
        metadata={
            r.check_name: dg.MetadataValue.int(r.metadata["failing_rows"].value) for r in events
        },
    )
    (current,) = (r for r in results if r.asset_key == dg.AssetKey(tables.ORDERS_CURRENT.name))
    yield dg.AssetCheckResult(
        asset_key=tables.ORDERS_CURRENT.name,
        check_name=CURRENT_QUALITY,
        passed=current.passed,
        description=current.description,
        metadata=current.metadata,
    )


def _table_states(athena: AthenaResource, glue: GlueCatalogResource) -> list[tuple[str, Any]]:
    rows = athena.run(orders_current_states_query(database=glue.database)).rows
    states = []
    for row in rows:
        total = row["order_total"]
        # pyathena gives DECIMAL columns as Decimal; str() keeps exact digits either way.
        states.append((row["orderid"], OrderState(_decimal(total), row["updated_at"])))
    return states


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


@dg.asset_check(
    asset=tables.ORDERS_CURRENT.name,
    description=(
        "As of orders_current's watermark (its newest updated_at), the live orders and their "
        "total value in DynamoDB equal those in orders_current; later changes are in flight."
    ),
)
def matches_dynamodb(
    athena: AthenaResource, glue: GlueCatalogResource, orders_table: OrdersTableResource
) -> dg.AssetCheckResult:
    with checked("matches_dynamodb", tables.ORDERS_CURRENT.name) as failed:
        # The table first: DynamoDB read afterwards can only be newer, never behind it.
        table_rows = _table_states(athena, glue)
        dynamodb = orders_table.order_states()
        outcome = reconcile(dynamodb, table_rows)
    if failed.result is not None:
        return failed.result
    return dg.AssetCheckResult(
        passed=outcome.passed,
        severity=dg.AssetCheckSeverity.ERROR,
        description=outcome.describe(),
        metadata={
            "checked_at": dg.MetadataValue.text(datetime.now(UTC).isoformat()),
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
