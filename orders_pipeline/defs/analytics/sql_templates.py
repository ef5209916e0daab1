"""Athena SQL of the analytics tables and checks, rendered from the `.sql` files beside it.
Pure text functions (no AWS calls), so every statement the assets run is tested directly."""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from importlib import resources
from string import Template

AGGREGATE_TABLES = (
    "order_events",
    "orders_current",
    "daily_sales",
    "daily_status_funnel",
    "hourly_cdc_activity",
)
PARTITIONED_TABLES = frozenset(AGGREGATE_TABLES) - {"orders_current"}

_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")
_PARTITION_KEY = re.compile(r"\d{4}-\d{2}-\d{2}")


def validate_partition_key(dt: str) -> str:
    """Return `dt` when it is a real calendar date written YYYY-MM-DD; it is pasted into SQL."""
    if not isinstance(dt, str) or not _PARTITION_KEY.fullmatch(dt):
        raise ValueError(f"partition key (dt) must be a date written YYYY-MM-DD, got {dt!r}")
    try:
        date.fromisoformat(dt)
    except ValueError:
        raise ValueError(f"partition key (dt) is not a calendar date: {dt!r}") from None
    return dt


def validate_identifier(field: str, value: str) -> str:
    """Return `value` when it is a plain lower-case Glue name (pasted unquoted into SQL)."""
    if not isinstance(value, str) or not _IDENTIFIER.fullmatch(value):
        raise ValueError(f"{field} must be a lower-case Glue name, got {value!r}")
    return value


def load_sql(relative_path: str) -> str:
    """Text of one `.sql` file under `sql/`, without its `--` comment lines.

    Comments are dropped because Athena rejects DDL that starts with one.
    """
    text = resources.files(__package__).joinpath(f"sql/{relative_path}").read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("--")]
    return "\n".join(lines).strip()


def render(relative_path: str, **params: str) -> str:
    """Fill a `.sql` file's `${name}` placeholders; a missing parameter is a KeyError."""
    return Template(load_sql(relative_path)).substitute(params)


def table_query(table: str, *, database: str, raw_table: str, dt: str) -> str:
    """The SELECT that computes `table` (one partition `dt` for partitioned tables)."""
    if table not in AGGREGATE_TABLES:
        raise ValueError(f"table must be one of {', '.join(AGGREGATE_TABLES)}, got {table!r}")
    return render(
        f"{table}.sql",
        database=validate_identifier("database", database),
        raw_table=validate_identifier("raw_table", raw_table),
        dt=validate_partition_key(dt),
    )


def check_query(name: str, *, database: str, raw_table: str) -> str:
    """A data-quality query from `sql/checks/`."""
    return render(
        f"checks/{name}.sql",
        database=validate_identifier("database", database),
        raw_table=validate_identifier("raw_table", raw_table),
    )


def row_count_query(table: str, *, database: str, dt: str | None = None) -> str:
    """Rows in a table, or in one of its partitions."""
    validate_identifier("table", table)
    if dt is None:
        return render("statements/count_table_rows.sql", database=database, table=table)
    return render(
        "statements/count_partition_rows.sql",
        database=database,
        table=table,
        dt=validate_partition_key(dt),
    )


def preview_query(table: str, *, database: str, dt: str | None = None, limit: int = 10) -> str:
    """The first `limit` rows of a table or partition, for the materialization's preview."""
    validate_identifier("table", table)
    if dt is None:
        return render(
            "statements/preview_table.sql", database=database, table=table, limit=str(int(limit))
        )
    return render(
        "statements/preview_partition.sql",
        database=database,
        table=table,
        dt=validate_partition_key(dt),
        limit=str(int(limit)),
    )


def creation_days_query(*, database: str) -> str:
    """The distinct order-creation days in order_events (partitions of the creation-day tables)."""
    return render(
        "statements/creation_days.sql", database=validate_identifier("database", database)
    )


def select_table_query(table: str, *, database: str) -> str:
    """Every row of a table (the demo prints the small aggregate tables whole)."""
    return render(
        "statements/select_table.sql",
        database=validate_identifier("database", database),
        table=validate_identifier("table", table),
    )


@dataclass(frozen=True)
class PartitionRefresh:
    """How to write one `dt` partition.

    Table missing: empty `table_prefix` (CTAS needs an empty location), run `create_table`.
    Table present: empty `partition_prefix`, run `drop_partition`, then `insert`.
    """

    table_prefix: str
    create_table: str
    partition_prefix: str
    drop_partition: str
    insert: str


@dataclass(frozen=True)
class VersionedRebuild:
    """How to publish a new version of an unpartitioned table behind a view of its name.

    Readers query the view; `replace_view` switches it from the previous version to the new one
    in one catalog update, so they never see a missing or half-written table.
    """

    version: str
    version_table: str
    version_prefix: str
    create_version: str
    replace_view: str


_VERSION = re.compile(r"\d{20}")


def version_of(table: str, name: str) -> str | None:
    """The version of a Glue table named `<table>_v<version>`, else None."""
    stem = f"{table}_v"
    if name.startswith(stem) and _VERSION.fullmatch(name[len(stem) :]):
        return name[len(stem) :]
    return None


def table_version(moment: datetime) -> str:
    """A version label from a UTC instant: 20 digits down to the microsecond, sortable as text."""
    return moment.astimezone(UTC).strftime("%Y%m%d%H%M%S%f")


def table_prefix(analytics_prefix: str, table: str) -> str:
    """S3 key prefix holding a table's Parquet files, e.g. `analytics/daily_sales/`."""
    return f"{analytics_prefix.rstrip('/')}/{table}/"


def partition_refresh(
    table: str, *, database: str, raw_table: str, bucket: str, analytics_prefix: str, dt: str
) -> PartitionRefresh:
    """Plan to replace partition `dt` of a partitioned table.

    Athena cannot DELETE from a Hive table, so the partition's files are removed and it is
    inserted again: re-running never appends duplicates. A missing table is created by a
    CTAS of this partition.
    """
    if table not in PARTITIONED_TABLES:
        raise ValueError(f"table must be a partitioned table, got {table!r}")
    query = table_query(table, database=database, raw_table=raw_table, dt=dt)
    prefix = table_prefix(analytics_prefix, table)
    return PartitionRefresh(
        table_prefix=prefix,
        create_table=render(
            "statements/create_partitioned_table.sql",
            database=database,
            table=table,
            location=f"s3://{bucket}/{prefix}",
            query=query,
        ),
        partition_prefix=f"{prefix}dt={dt}/",
        drop_partition=render(
            "statements/drop_partition.sql", database=database, table=table, dt=dt
        ),
        insert=render("statements/insert_into.sql", database=database, table=table, query=query),
    )


def version_prefix(analytics_prefix: str, table: str, version: str) -> str:
    """S3 key prefix of one version, e.g. `analytics/orders_current/v=20250601080000000000/`."""
    return f"{table_prefix(analytics_prefix, table)}v={version}/"


def drop_table(table: str, *, database: str) -> str:
    """DROP TABLE IF EXISTS; Athena leaves the table's files, so they are deleted separately."""
    return render(
        "statements/drop_table.sql",
        database=validate_identifier("database", database),
        table=validate_identifier("table", table),
    )


def drop_version(table: str, *, database: str, version: str) -> str:
    """DROP TABLE of one version of a versioned table."""
    return drop_table(f"{table}_v{version}", database=database)


def versioned_rebuild(
    table: str,
    *,
    database: str,
    raw_table: str,
    bucket: str,
    analytics_prefix: str,
    version: str,
) -> VersionedRebuild:
    """Plan to rebuild an unpartitioned table as a new version (CTAS) and point its view at it."""
    if table in PARTITIONED_TABLES or table not in AGGREGATE_TABLES:
        raise ValueError(f"table must be an unpartitioned aggregate table, got {table!r}")
    if not _VERSION.fullmatch(version):
        raise ValueError(f"version must be 20 digits (see table_version), got {version!r}")
    # The query has no dt parameter; any valid date satisfies the shared renderer.
    query = table_query(table, database=database, raw_table=raw_table, dt="1970-01-01")
    prefix = version_prefix(analytics_prefix, table, version)
    version_table = f"{table}_v{version}"
    return VersionedRebuild(
        version=version,
        version_table=version_table,
        version_prefix=prefix,
        create_version=render(
            "statements/create_table.sql",
            database=database,
            table=version_table,
            location=f"s3://{bucket}/{prefix}",
            query=query,
        ),
        replace_view=render(
            "statements/replace_view.sql", database=database, view=table, table=version_table
        ),
    )
