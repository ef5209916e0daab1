"""Dagster metadata of the dashboard: KPI numbers (plotted over time) and a markdown summary."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import dagster as dg

from orders_pipeline.dashboard.health import PipelineHealth, describe_health
from orders_pipeline.dashboard.kpis import KPI_LABELS, Kpis, format_kpi, kpi_values
from orders_pipeline.lib.preview import markdown_table


def markdown_summary(kpis: Kpis, health: PipelineHealth) -> str:
    """The page's KPIs and health signals as one markdown table, in the page's words."""
    values = kpi_values(kpis)
    rows = [
        {"measure": label, "value": format_kpi(name, values[name])} for name, label in KPI_LABELS
    ]
    rows += [
        {
            "measure": signal.label,
            "value": signal.text + (f" ({signal.detail})" if signal.detail else ""),
        }
        for signal in describe_health(health)
    ]
    return markdown_table(rows)


def _number(value: int | Decimal | float | None) -> dg.MetadataValue:
    if value is None:
        return dg.MetadataValue.null()
    if isinstance(value, int):
        return dg.MetadataValue.int(value)
    # Dagster plots only int and float metadata; the exact Decimal is in the summary table.
    return dg.MetadataValue.float(float(value))


def dashboard_metadata(
    kpis: Kpis, health: PipelineHealth, *, path: Path, s3_uri: str
) -> dict[str, Any]:
    age = health.newest_event_age
    return {
        **{name: _number(value) for name, value in kpi_values(kpis).items()},
        "newest_event_age_seconds": _number(None if age is None else int(age.total_seconds())),
        "firehose_failed_records": dg.MetadataValue.int(health.firehose_failed_records),
        "last_crawl": dg.MetadataValue.text(
            health.last_crawl.status if health.last_crawl else "never crawled"
        ),
        "summary": dg.MetadataValue.md(markdown_summary(kpis, health)),
        "path": dg.MetadataValue.path(str(path)),
        "s3_uri": dg.MetadataValue.url(s3_uri),
    }
