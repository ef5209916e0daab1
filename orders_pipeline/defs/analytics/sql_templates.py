"""The Athena SQL of the analytics refresh and its checks, rendered from the `.sql` files beside
it and the table declarations of orders_pipeline/tables.py. Pure text (no AWS calls), so every
statement the assets run is tested directly."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from orders_pipeline import tables
from orders_pipeline.lib.sql import (
    day_list,
    file_list,
    render,
    validate_day,
    validate_identifier,
)
from orders_pipeline.tables import ORDER_EVENTS, PARTITION_COLUMN, UNKNOWN_DAY, Table

# Glue column types a JSON crawl gives that hold several values: never one of ours.
_COMPLEX = ("struct", "array", "map")
# Rows of order events whose order carries no creation time look its day up this far back.
LOOKBACK_DAYS = 7


def _render(relative_path: str, **params: str) -> str:
    return render(__package__, f"sql/{relative_path}", **params)


def _database(database: str) -> str:
    return validate_identifier("database", database)


def table_prefix(analytics_prefix: str, table: str) -> str:
    """S3 key prefix holding a table's Parquet files, e.g. `analytics/daily_sales/`."""
    return f"{analytics_prefix.rstrip('/')}/{validate_identifier('table', table)}/"


def partition_prefix(analytics_prefix: str, table: str, day: str) -> str:
    return f"{table_prefix(analytics_prefix, table)}{PARTITION_COLUMN}={validate_day(day)}/"


# ---- typing the raw records -----------------------------------------------------------------


@dataclass(frozen=True)
class Rejection:
    """How to find the raw values of one column that its type refuses."""

    column: str
    condition: str
    raw_value: str
    reason: str


def _is_complex(glue_type: str) -> bool:
    return glue_type.lower().startswith(_COMPLEX)


def _article(type_name: str) -> str:
    return "an" if type_name[:1] in "aeiou" else "a"


def typed_value(name: str, target: str, raw_type: str | None) -> tuple[str, Rejection | None]:
    """The expression that types raw column `name` as `target`, and how its rejects are found.

    A column the raw table lacks is NULL. A value that does not convert is NULL (TRY_CAST) and
    rejected; so is every value of a column that holds structures where a plain value belongs.
    """
    source = f"delivered.{validate_identifier('column', name)}"
    if raw_type is None:
        return f"CAST(NULL AS {target})", None
    if name == "creation_datetime":
        # Written by the Firehose transform, always ISO 8601 UTC.
        return f"CAST(from_iso8601_timestamp({source}) AT TIME ZONE 'UTC' AS TIMESTAMP)", None
    if _is_complex(raw_type):
        rejection = Rejection(
            name,
            f"{source} IS NOT NULL",
            "'<" + raw_type.split("<", 1)[0] + ">'",
            f"not {_article(target)} {target}",
        )
        return f"CAST(NULL AS {target})", rejection
    if target == "varchar":
        return f"CAST({source} AS VARCHAR)", None
    rejection = Rejection(
        name,
        f"{source} IS NOT NULL AND TRY_CAST({source} AS {target}) IS NULL",
        f"CAST({source} AS VARCHAR)",
        f"not {_article(target)} {target}",
    )
    return f"TRY_CAST({source} AS {target})", rejection


def event_typing(raw_columns: Mapping[str, str]) -> tuple[dict[str, str], list[Rejection]]:
    """Per order_events column, its typed expression over `delivered` (the raw rows); and the
    rejections. `raw_columns` maps the raw table's column names to their Glue types."""
    typed: dict[str, str] = {}
    rejections: list[Rejection] = []
    for column in ORDER_EVENTS.columns:
        if column.name not in ORDER_EVENTS.sources:
            continue
        expression, rejection = typed_value(
            column.name, column.type, raw_columns.get(ORDER_EVENTS.sources[column.name])
        )
        typed[column.name] = expression
        if rejection is not None:
            rejections.append(rejection)
    # Revenue falls back to quantity x price when the items carry no order total.
    typed["order_total"] = (
        f"coalesce({typed['order_total']}, CAST({typed['quantity']} * {typed['price']} - "
        f"coalesce({typed['discount']}, 0) AS DECIMAL(18, 2)))"
    )
    return typed, rejections


def _created_day(created_at: str) -> str:
    """The UTC calendar day an ISO 8601 `created_at` text starts with; NULL if it is none."""
    return (
        f"CASE WHEN regexp_like({created_at}, '^[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}') "
        f"THEN CAST(TRY_CAST(substr({created_at}, 1, 10) AS DATE) AS VARCHAR) END"
    )


def order_events_query(
    raw_columns: Mapping[str, str],
    *,
    database: str,
    raw_table: str,
    event_days: Iterable[str],
    earlier_events: bool = True,
    files: Sequence[str] | None = None,
) -> str:
    """The typed, deduplicated change events of `event_days` (order_events' columns).
    `earlier_events`: look up in order_events the days of orders whose records here carry no
    creation time (the table exists, and such records arrived or the raw table has no
    created_at). `files`: read only these raw files and leave out the events order_events
    already holds for those days (rows to append; the lookup then includes those days)."""
    days = sorted(set(event_days))
    typed, rejections = event_typing(raw_columns)
    columns = ",\n    ".join(
        f"{typed[c.name]} AS {c.name}" for c in ORDER_EVENTS.columns if c.name in typed
    )
    # A record without a creation time (the items of other code, a KEYS_ONLY or OLD_IMAGE
    # stream's INSERT, a REMOVE holding only the key): the day its order was first seen, looked
    # up a week back in order_events, else its first non-REMOVE day in this batch, else
    # 'unknown' (a REMOVE: orders_current says where that order is).
    batch_first = (
        ",\n        min(CASE WHEN raw.cdc_event_type <> 'REMOVE' THEN raw.dt END) "
        "OVER (PARTITION BY CAST(raw.orderid AS VARCHAR)) AS batch_first_day"
    )
    first_seen = f"coalesce(delivered.batch_first_day, '{UNKNOWN_DAY}')"
    known = ""
    if earlier_events:
        start = (date.fromisoformat(days[0]) - timedelta(days=LOOKBACK_DAYS)).isoformat()
        # Rows being appended may belong to orders already seen on their own days.
        until = f"<= '{days[-1]}'" if files is not None else f"< '{days[0]}'"
        first_seen = f"coalesce(known.created_dt, delivered.batch_first_day, '{UNKNOWN_DAY}')"
        known = (
            "\nLEFT JOIN (\n"
            f"    SELECT orderid, min(created_dt) AS created_dt FROM {_database(database)}."
            f"{ORDER_EVENTS.name}\n"
            f"    WHERE dt >= '{start}' AND dt {until}\n"
            f"        AND created_dt <> '{UNKNOWN_DAY}'\n"
            "    GROUP BY orderid\n"
            ") AS known ON known.orderid = CAST(delivered.orderid AS VARCHAR)"
        )
    created_dt = first_seen
    if "created_at" in raw_columns:
        day = _created_day(typed["created_at"])
        # A created_at that is not a date-time is rejected and its order's day stays unknown.
        created_dt = (
            f"CASE WHEN {typed['created_at']} IS NULL THEN {first_seen} "
            f"ELSE coalesce({day}, '{UNKNOWN_DAY}') END"
        )
        rejections = [
            *rejections,
            Rejection(
                "created_at",
                f"{typed['created_at']} IS NOT NULL AND {day} IS NULL",
                typed["created_at"],
                "not an ISO 8601 date-time",
            ),
        ]
    rejected = (
        "concat_ws('; ', "
        + ", ".join(
            f"CASE WHEN {r.condition} THEN '{r.column} ' || coalesce({r.raw_value}, 'NULL') "
            f"|| ' is {r.reason}' END"
            for r in rejections
        )
        + ")"
        if rejections
        else "CAST(NULL AS VARCHAR)"
    )
    return _render(
        "order_events.sql",
        typed_columns=columns,
        created_dt=created_dt,
        rejected=f"nullif({rejected}, '')",
        batch_first_day=batch_first,
        known_creation_days=known,
        file_filter=(
            f'\n        AND raw."$path" IN ({file_list(files)})' if files is not None else ""
        ),
        already_kept=(
            "\nLEFT JOIN (\n"
            f"    SELECT DISTINCT dt, event_id FROM {_database(database)}.{ORDER_EVENTS.name}\n"
            f"    WHERE dt IN ({day_list(days)})\n"
            ") AS kept ON kept.dt = delivered.dt AND kept.event_id = delivered.event_id"
            if files is not None
            else ""
        ),
        not_kept="\n    AND kept.event_id IS NULL" if files is not None else "",
        database=_database(database),
        raw_table=validate_identifier("raw_table", raw_table),
        event_days=day_list(days),
    )


# ---- the creation-day tables ------------------------------------------------------------------


def creation_days_query(
    *, database: str, event_days: Iterable[str], files: Sequence[str] | None = None
) -> str:
    """The creation days (and change counts) of the orders changed on `event_days`; with
    `files`, of the changes in those order_events files only."""
    return _render(
        "creation_days.sql",
        database=_database(database),
        event_days=day_list(event_days),
        file_filter=f'\n    AND "$path" IN ({file_list(files)})' if files is not None else "",
    )


def ingested_files_query(*, database: str, event_days: Iterable[str]) -> str:
    """The raw files whose events order_events holds for `event_days`."""
    return _render(
        "ingested_files.sql", database=_database(database), event_days=day_list(event_days)
    )


def keyless_creation_days_query(*, database: str, event_days: Iterable[str]) -> str:
    """Where the orders removed on `event_days` by a key-only REMOVE are now (their days)."""
    return _render(
        "keyless_creation_days.sql",
        database=_database(database),
        event_days=day_list(event_days),
        unknown_day=UNKNOWN_DAY,
    )


def _creation_day_params(database: str, creation_days: Iterable[str]) -> dict[str, str]:
    return {"database": _database(database), "creation_days": day_list(creation_days)}


def orders_current_query(*, database: str, creation_days: Iterable[str]) -> str:
    order_columns = ",\n    ".join(c.name for c in tables.ORDER_ATTRIBUTES)
    return _render(
        "orders_current.sql",
        order_columns=order_columns,
        unknown_day=UNKNOWN_DAY,
        **_creation_day_params(database, creation_days),
    )


def daily_sales_query(*, database: str, creation_days: Iterable[str]) -> str:
    return _render("daily_sales.sql", **_creation_day_params(database, creation_days))


def daily_status_funnel_query(*, database: str, creation_days: Iterable[str]) -> str:
    return _render("daily_status_funnel.sql", **_creation_day_params(database, creation_days))


def hourly_cdc_activity_query(*, database: str, event_days: Iterable[str]) -> str:
    return _render(
        "hourly_cdc_activity.sql", database=_database(database), event_days=day_list(event_days)
    )


# ---- statements -------------------------------------------------------------------------------


def create_table_statement(
    table: Table,
    *,
    database: str,
    location: str,
    query: str,
    name: str | None = None,
    with_data: bool = False,
) -> str:
    """A Parquet table with the query's columns, partitioned as `table` declares (CTAS): empty,
    or holding the query's rows. `name` defaults to the table's own."""
    return _render(
        "statements/create_partitioned_table.sql",
        database=_database(database),
        table=validate_identifier("table", name or table.name),
        location=location,
        query=query,
        partition_keys=", ".join(f"'{key}'" for key in table.partition_keys),
        data="DATA" if with_data else "NO DATA",
    )


def partition_values_query(table: Table, *, query: str) -> str:
    """The partitions (key values) the rows of `query` for `table` fall in."""
    return _render(
        "statements/partition_values.sql", keys=", ".join(table.partition_keys), query=query
    )


def _partition_spec(table: Table, values: Sequence[str], *, separator: str) -> str:
    keys = table.partition_keys
    if len(values) != len(keys):
        raise ValueError(f"{table.name} partitions have {len(keys)} values, got {list(values)}")
    return separator.join(
        f"{key} = '{_partition_value(key, value)}'" for key, value in zip(keys, values, strict=True)
    )


def insert_partitions_statement(
    table: Table, *, database: str, name: str, query: str, partitions: Iterable[Sequence[str]]
) -> str:
    """INSERT INTO table `name` the rows of `query` that fall in `partitions`."""
    condition = " OR ".join(
        f"({_partition_spec(table, values, separator=' AND ')})"
        for values in sorted({tuple(v) for v in partitions})
    )
    if not condition:
        raise ValueError("at least one partition is needed")
    return _render(
        "statements/insert_partitions.sql",
        database=_database(database),
        table=validate_identifier("table", name),
        query=query,
        partitions=condition,
    )


def _partition_value(key: str, value: str) -> str:
    if value == UNKNOWN_DAY and key != PARTITION_COLUMN:
        return value
    return validate_day(value, f"partition key ({key})")


def drop_partitions_statement(
    table: Table, *, database: str, partitions: Iterable[Sequence[str]]
) -> str:
    """Drop these partitions (each its values, in the table's partition key order)."""
    specs = [
        f"PARTITION ({_partition_spec(table, values, separator=', ')})"
        for values in sorted({tuple(v) for v in partitions})
    ]
    if not specs:
        raise ValueError("at least one partition is needed")
    return _render(
        "statements/drop_partitions.sql",
        database=_database(database),
        table=validate_identifier("table", table.name),
        partitions=", ".join(specs),
    )


def insert_statement(table: Table, *, database: str, query: str) -> str:
    return _render(
        "statements/insert_into.sql",
        database=_database(database),
        table=validate_identifier("table", table.name),
        query=query,
    )


def select_table_query(table: Table, *, database: str) -> str:
    """Every row of a table (the demo prints the small aggregate tables whole)."""
    return _render(
        "statements/select_table.sql",
        database=_database(database),
        table=validate_identifier("table", table.name),
    )


def dashboard_query(table: Table, *, database: str) -> str:
    """What the dashboard reads of `table`: its dashboard columns, in its dashboard order."""
    if not table.dashboard_columns:
        raise ValueError(f"the dashboard does not read {table.name}")
    return _render(
        "statements/select_columns.sql",
        columns=", ".join(table.dashboard_columns),
        database=_database(database),
        table=validate_identifier("table", table.name),
        order=", ".join(table.dashboard_order),
    )


# ---- checks ------------------------------------------------------------------------------------


def _day_filter(days: Iterable[str] | None) -> str:
    if days is None:
        return "true"
    days = list(days)
    return f"dt IN ({day_list(days)})" if days else "false"


def quality_query(
    *,
    database: str,
    event_days: Iterable[str] | None,
    creation_days: Iterable[str] | None,
    files: Sequence[str] | None = None,
) -> str:
    """Every quality measure over these days (None: over every day), in one query; with
    `files`, over the events of those order_events files only (what a refresh appended)."""
    event_filter = _day_filter(event_days)
    if files:
        event_filter += f' AND "$path" IN ({file_list(files)})'
    return _render(
        "checks/quality.sql",
        database=_database(database),
        unknown_day=UNKNOWN_DAY,
        event_filter=event_filter,
        creation_filter=_day_filter(creation_days),
    )


def rejected_by_column_query(*, database: str, event_days: Iterable[str]) -> str:
    """Per column, how many rows of these days had a value of it rejected."""
    return _render(
        "checks/rejected_by_column.sql",
        database=_database(database),
        event_days=day_list(event_days),
    )


def orders_current_states_query(*, database: str) -> str:
    return _render("checks/orders_current_states.sql", database=_database(database))
