"""The orders dashboard asset: one offline HTML page, to a local file and to S3."""

from __future__ import annotations

import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg

from orders_pipeline.dashboard.kpis import compute_kpis
from orders_pipeline.dashboard.queries import dashboard_since, read_aggregate_tables
from orders_pipeline.dashboard.render import render_dashboard
from orders_pipeline.defs.dashboard.health_signals import read_pipeline_health
from orders_pipeline.defs.dashboard.metadata import dashboard_metadata
from orders_pipeline.defs.dashboard.resources import DashboardOutputResource
from orders_pipeline.defs.resources import (
    AthenaResource,
    DataLakeResource,
    GlueCatalogResource,
    failing_clearly,
)
from orders_pipeline.lib.automation import on_cron_after_inputs_update
from orders_pipeline.tables import DASHBOARD_TABLES, ORDER_EVENTS

# The page reads every table it draws with its own query (each billed at least 10 MB): it is
# redrawn at most every ten minutes, once a table it reads changed.
REFRESH_CRON = "*/10 * * * *"

ORDERS_DASHBOARD = dg.AssetKey("orders_dashboard")


def write_atomically(path: Path, content: bytes) -> None:
    """Replace `path` in one step, so a browser reloading it never sees half a page."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as tmp:
        tmp.write(content)
    os.replace(tmp.name, path)


def _newest_day(glue: GlueCatalogResource) -> str | None:
    """The newest partition of the tables the page draws (from Glue: no Athena scan)."""
    days = [
        day
        for table in DASHBOARD_TABLES
        if glue.table_exists(table.name)
        for day in glue.partition_values(table.name)[-1:]
    ]
    return max(days, default=None)


@dg.asset(
    key=ORDERS_DASHBOARD,
    deps=[ORDER_EVENTS.name, *(table.name for table in DASHBOARD_TABLES)],
    description=(
        "One self-contained HTML page (works offline): headline KPIs, revenue by day and "
        "category, top products, status funnel, hourly CDC activity and pipeline health."
    ),
    kinds={"html", "plotly", "s3"},
    group_name="dashboard",
    automation_condition=on_cron_after_inputs_update(REFRESH_CRON),
)
def orders_dashboard(
    athena: AthenaResource,
    glue: GlueCatalogResource,
    data_lake: DataLakeResource,
    dashboard_output: DashboardOutputResource,
) -> dg.MaterializeResult:
    with failing_clearly():
        tables = read_aggregate_tables(
            lambda sql: athena.run(sql).rows,
            database=athena.database,
            since_day=dashboard_since(_newest_day(glue)),
        )
        health = read_pipeline_health(athena, glue, data_lake, now=datetime.now(UTC))
        html = render_dashboard(tables, health).encode("utf-8")
        path = dashboard_output.path()
        write_atomically(path, html)
        data_lake.client().put_object(
            Bucket=data_lake.bucket,
            Key=dashboard_output.s3_key,
            Body=html,
            ContentType="text/html; charset=utf-8",
        )
    return dg.MaterializeResult(
        metadata=dashboard_metadata(
            compute_kpis(tables),
            health,
            path=path,
            s3_uri=f"s3://{data_lake.bucket}/{dashboard_output.s3_key}",
        )
    )
