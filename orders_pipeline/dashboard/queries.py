"""What the dashboard reads through Athena: one `.sql` file per query, its columns, its frame."""

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from importlib.resources import files
from string import Template
from typing import Any

import pandas as pd

from orders_pipeline.defs.analytics.sql_templates import validate_identifier

# Runs one SQL statement and returns its rows as dicts (what `AthenaResource.run(sql).rows` is).
RunQuery = Callable[[str], Sequence[Mapping[str, Any]]]

# The SELECT list of each `sql/<name>.sql`, so an empty result still has its columns.
QUERY_COLUMNS: dict[str, tuple[str, ...]] = {
    "daily_sales": (
        "dt",
        "category",
        "product_name",
        "orders",
        "units",
        "gross_revenue",
        "discounts",
        "net_revenue",
        "avg_order_value",
    ),
    "daily_status_funnel": (
        "dt",
        "placed",
        "paid",
        "shipped",
        "delivered",
        "cancelled",
        "returned",
        "paid_rate",
        "shipped_rate",
        "delivered_rate",
        "cancellation_rate",
        "return_rate",
    ),
    "hourly_cdc_activity": (
        "dt",
        "event_hour",
        "inserts",
        "modifies",
        "removes",
        "events",
        "inserted_revenue",
    ),
    "newest_event_time": ("newest_event_time",),
}
AGGREGATE_TABLES: tuple[str, ...] = ("daily_sales", "daily_status_funnel", "hourly_cdc_activity")


def query_text(name: str, *, database: str) -> str:
    """`sql/<name>.sql` with its Glue database filled in."""
    text = files(__package__).joinpath("sql", f"{name}.sql").read_text()
    return Template(text).substitute(database=validate_identifier("database", database))


def read_query(run: RunQuery, name: str, *, database: str) -> pd.DataFrame:
    """Run `sql/<name>.sql`; values keep the driver's types (DECIMAL stays Decimal)."""
    rows = run(query_text(name, database=database))
    columns = QUERY_COLUMNS[name]
    for row in rows[:1]:
        missing = [column for column in columns if column not in row]
        if missing:
            raise ValueError(f"query {name} returned no column(s): {', '.join(missing)}")
    return pd.DataFrame.from_records(list(rows), columns=list(columns))


def read_aggregate_tables(run: RunQuery, *, database: str) -> dict[str, pd.DataFrame]:
    """Every aggregate table the dashboard draws, by table name, read whole.

    They are small by construction (a row per day and product, or per hour), so the page
    groups them in pandas and the KPIs are computed from exactly the rows that are drawn.
    """
    return {table: read_query(run, table, database=database) for table in AGGREGATE_TABLES}


def read_newest_event_time(run: RunQuery, *, database: str) -> datetime | None:
    """max(creation_datetime) of the deduplicated events, as an aware UTC datetime."""
    frame = read_query(run, "newest_event_time", database=database)
    newest = frame["newest_event_time"].iloc[0] if len(frame) else None
    if newest is None or pd.isna(newest):
        return None
    newest = pd.Timestamp(newest).to_pydatetime()
    # Athena timestamps carry no zone; the pipeline writes them in UTC.
    return newest.replace(tzinfo=UTC) if newest.tzinfo is None else newest.astimezone(UTC)
