"""The names the domains share about runs: the ingest job the delivery sensor starts (its steps,
its run config) and the checks kept for the daily job. Definitions live in defs/analytics."""

from __future__ import annotations

from typing import Any

import dagster as dg

from orders_pipeline import tables

INGEST_JOB = "ingest_job"
CATALOG_OP = tables.RAW.name
REFRESH_OP = "analytics_refresh"
DAILY_CHECKS = (
    dg.AssetCheckKey(dg.AssetKey(tables.ORDER_EVENTS.name), "all_days_quality"),
    dg.AssetCheckKey(dg.AssetKey(tables.ORDERS_CURRENT.name), "all_days_unique_orderid"),
    dg.AssetCheckKey(dg.AssetKey(tables.ORDERS_CURRENT.name), "matches_dynamodb"),
)


def ingest_run_config(event_days: list[str], new_columns: list[str]) -> dict[str, Any]:
    """The run config of an ingest run for these event days (and columns the table lacks):
    its refresh reads only the raw files not yet in order_events."""
    return {
        "ops": {
            CATALOG_OP: {"config": {"partitions": event_days, "new_columns": new_columns}},
            REFRESH_OP: {"config": {"event_days": event_days, "only_new_files": True}},
        }
    }
