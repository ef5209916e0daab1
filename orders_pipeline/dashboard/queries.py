"""What the dashboard reads through Athena: each table's dashboard columns, as declared once in
orders_pipeline/tables.py, and the newest event of the last days."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pandas as pd

from orders_pipeline import tables
from orders_pipeline.lib.days import recent_days
from orders_pipeline.lib.sql import validate_day, validate_identifier
from orders_pipeline.tables import Table

# Runs one SQL statement and returns its rows as dicts (what `AthenaResource.run(sql).rows` is).
RunQuery = Callable[[str], Sequence[Mapping[str, Any]]]


# The page draws the last this many days of data: a redraw reads as many partitions (each an
# S3 LIST and GETs on AWS) whatever the history, where whole tables would grow a day at a time.
DASHBOARD_DAYS = 30


def dashboard_since(newest_day: str | None, days: int = DASHBOARD_DAYS) -> str | None:
    """The first day the page draws, `days` back from the newest day there is (None: none)."""
    if newest_day is None:
        return None
    return (date.fromisoformat(validate_day(newest_day)) - timedelta(days=days - 1)).isoformat()


def table_query(table: Table, *, database: str, since_day: str | None = None) -> str:
    """The dashboard columns of `table`, in its dashboard order; from `since_day` on (its
    partitions only) when given."""
    if not table.dashboard_columns:
        raise ValueError(f"the dashboard does not read {table.name}")
    where = f"WHERE {tables.PARTITION_COLUMN} >= '{validate_day(since_day)}' " if since_day else ""
    return (
        f"SELECT {', '.join(table.dashboard_columns)} "
        f"FROM {validate_identifier('database', database)}.{table.name} "
        f"{where}ORDER BY {', '.join(table.dashboard_order)}"
    )


def newest_event_query(*, database: str, since_day: str) -> str:
    """The newest change of the last days (their partitions only, never the whole history)."""
    return (
        "SELECT max(creation_datetime) AS newest_event_time "
        f"FROM {validate_identifier('database', database)}.{tables.ORDER_EVENTS.name} "
        f"WHERE {tables.PARTITION_COLUMN} >= '{validate_day(since_day)}'"
    )


def read_table(
    run: RunQuery, table: Table, *, database: str, since_day: str | None = None
) -> pd.DataFrame:
    """One table's dashboard rows; values keep the driver's types (DECIMAL stays Decimal)."""
    rows = run(table_query(table, database=database, since_day=since_day))
    columns = list(table.dashboard_columns)
    for row in rows[:1]:
        missing = [column for column in columns if column not in row]
        if missing:
            raise ValueError(f"{table.name} returned no column(s): {', '.join(missing)}")
    return pd.DataFrame.from_records(list(rows), columns=columns)


def read_aggregate_tables(
    run: RunQuery, *, database: str, since_day: str | None = None
) -> dict[str, pd.DataFrame]:
    """Every table the dashboard draws, by name: whole, or from `since_day` on.

    They are small by construction (a row per day and product, or per hour), so the page
    groups them in pandas and the KPIs are computed from exactly the rows that are drawn.
    """
    return {
        t.name: read_table(run, t, database=database, since_day=since_day)
        for t in tables.DASHBOARD_TABLES
    }


def read_newest_event_time(
    run: RunQuery, *, database: str, now: datetime | None = None
) -> datetime | None:
    """max(creation_datetime) of the last days' events, as an aware UTC datetime."""
    since = recent_days(now or datetime.now(UTC))[0]
    rows = run(newest_event_query(database=database, since_day=since))
    newest = rows[0].get("newest_event_time") if rows else None
    if newest is None or pd.isna(newest):
        return None
    newest = pd.Timestamp(newest).to_pydatetime()
    # Athena timestamps carry no zone; the pipeline writes them in UTC.
    return newest.replace(tzinfo=UTC) if newest.tzinfo is None else newest.astimezone(UTC)
