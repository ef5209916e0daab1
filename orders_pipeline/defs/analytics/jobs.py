"""The ingest run the delivery sensor starts: the raw table's catalog, then the analytics refresh
of the days the new deliveries touch (op names are the assets' own)."""

from __future__ import annotations

from typing import Any

import dagster as dg

from orders_pipeline import tables
from orders_pipeline.defs.analytics.schedules import DAILY_CHECKS

INGEST_JOB = "ingest_job"
CATALOG_OP = tables.RAW.name
REFRESH_OP = "analytics_refresh"

ingest_job = dg.define_asset_job(
    INGEST_JOB,
    # The refresh checks what it wrote; the whole-table checks run once a day on their own.
    selection=dg.AssetSelection.assets(
        tables.RAW.name, *(table.name for table in tables.ANALYTICS_TABLES)
    )
    - dg.AssetSelection.checks(*DAILY_CHECKS),
    description=(
        "Registers the raw partitions new deliveries opened (crawling only for a new column), "
        "then rewrites the analytics partitions their changes touch."
    ),
)


def ingest_run_config(event_days: list[str], new_columns: list[str]) -> dict[str, Any]:
    """The run config of an ingest run for these event days (and columns the table lacks)."""
    return {
        "ops": {
            CATALOG_OP: {"config": {"partitions": event_days, "new_columns": new_columns}},
            REFRESH_OP: {"config": {"event_days": event_days}},
        }
    }
