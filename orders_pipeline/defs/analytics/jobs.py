"""The ingest run the delivery sensor starts: the raw table's catalog, then the analytics refresh
of the days the new deliveries touch (op names are the assets' own)."""

from __future__ import annotations

import dagster as dg

from orders_pipeline import tables
from orders_pipeline.lib.jobs import DAILY_CHECKS, INGEST_JOB

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
