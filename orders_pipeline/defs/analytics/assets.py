"""Athena tables written as Parquet: deduplicated events, current orders and daily aggregates.
Re-materializing replaces data (a partition, or a whole version of a table), never appends."""

import warnings
from datetime import UTC, datetime
from typing import Any

import dagster as dg

from orders_pipeline.defs.analytics.partitions import daily_partitions
from orders_pipeline.defs.analytics.preview import markdown_table
from orders_pipeline.defs.analytics.sql_templates import (
    drop_table,
    drop_version,
    partition_refresh,
    preview_query,
    row_count_query,
    table_prefix,
    table_version,
    version_of,
    version_prefix,
    versioned_rebuild,
)
from orders_pipeline.defs.resources import (
    AthenaResource,
    DataLakeResource,
    GlueCatalogResource,
    failing_clearly,
)

# Refresh after upstream updates, without waiting for every historical partition to exist.
AFTER_UPSTREAM_UPDATES = (
    dg.AutomationCondition.in_latest_time_window()
    & dg.AutomationCondition.any_deps_updated().since_last_handled()
    & ~dg.AutomationCondition.any_deps_in_progress()
    & ~dg.AutomationCondition.in_progress()
).with_label("after upstream updates")

_COMMON = {
    "kinds": {"athena", "parquet", "s3"},
    "group_name": "analytics",
    "automation_condition": AFTER_UPSTREAM_UPDATES,
}
_DAILY = {
    **_COMMON,
    "partitions_def": daily_partitions,
    # One run refreshes a range of days (e.g. yesterday and today) table by table.
    "backfill_policy": dg.BackfillPolicy.single_run(),
}


def daily_asset(**kwargs: Any) -> Any:
    """`dg.asset` with the daily settings, without Dagster's BetaWarning about backfill_policy.

    Dagster warns on every declaration that uses backfill_policy, so each import of the
    definitions (dagster dev, demo, dashboard) printed it once per daily table. The single-run
    policy is a deliberate choice; only that one warning, only here, is silenced.
    """
    with warnings.catch_warnings():
        warnings.filterwarnings(
            "ignore", message="Parameter `backfill_policy`", category=dg.BetaWarning
        )
        return dg.asset(**_DAILY, **kwargs)


def _table_metadata(
    table: str, glue: GlueCatalogResource, data_lake: DataLakeResource, prefix: str
) -> dict[str, Any]:
    return {
        "dagster/table_name": dg.MetadataValue.text(f"{glue.database}.{table}"),
        "location": dg.MetadataValue.url(f"s3://{data_lake.bucket}/{prefix}"),
    }


def refresh_partitions(
    table: str,
    partition_keys: list[str],
    athena: AthenaResource,
    glue: GlueCatalogResource,
    data_lake: DataLakeResource,
) -> dg.MaterializeResult:
    """Replace each `dt` partition of `table` (see `PartitionRefresh`)."""
    rows_by_day: dict[str, int] = {}
    query_ids: dict[str, str] = {}
    bytes_scanned = 0
    preview = ""
    with failing_clearly():
        for dt in partition_keys:
            plan = partition_refresh(
                table,
                database=glue.database,
                raw_table=glue.raw_table,
                bucket=data_lake.bucket,
                analytics_prefix=data_lake.analytics_prefix,
                dt=dt,
            )
            if glue.table_exists(table):
                data_lake.delete_prefix(plan.partition_prefix)
                athena.run(plan.drop_partition)
                write = athena.run(plan.insert)
            else:
                # Files without a table are orphans; CTAS refuses a non-empty location.
                data_lake.delete_prefix(plan.table_prefix)
                write = athena.run(plan.create_table)
            query_ids[dt] = write.query_id
            bytes_scanned += write.bytes_scanned
            count = athena.run(row_count_query(table, database=glue.database, dt=dt))
            rows_by_day[dt] = int(count.rows[0]["row_count"])
            if rows_by_day[dt] and not preview:
                preview = markdown_table(
                    athena.run(preview_query(table, database=glue.database, dt=dt)).rows
                )
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": dg.MetadataValue.int(sum(rows_by_day.values())),
            "rows_by_partition": dg.MetadataValue.json(rows_by_day),
            "preview": dg.MetadataValue.md(preview or "_no rows_"),
            "athena_query_id": dg.MetadataValue.text(query_ids[partition_keys[-1]]),
            "athena_query_ids": dg.MetadataValue.json(query_ids),
            "bytes_scanned": dg.MetadataValue.int(bytes_scanned),
            **_table_metadata(table, glue, data_lake, plan.table_prefix),
        }
    )


def _drop_legacy_table(
    table: str, athena: AthenaResource, glue: GlueCatalogResource, data_lake: DataLakeResource
) -> None:
    """Remove a plain table of the view's name, left by a pipeline from before the versioning.

    CREATE OR REPLACE VIEW refuses to replace a table; readers miss it only during this one-off
    migration. Its files sit directly under the table prefix, beside the `v=` version folders.
    """
    athena.run(drop_table(table, database=glue.database))
    prefix = table_prefix(data_lake.analytics_prefix, table)
    legacy = [
        obj["Key"]
        for obj in data_lake.list_objects(prefix)
        if not obj["Key"].startswith(f"{prefix}v=")
    ]
    data_lake.delete_keys(legacy)


def rebuild_table(
    table: str,
    athena: AthenaResource,
    glue: GlueCatalogResource,
    data_lake: DataLakeResource,
    now: datetime | None = None,
) -> dg.MaterializeResult:
    """Rebuild an unpartitioned table atomically for readers (see `VersionedRebuild`).

    CTAS writes a new version beside the one readers use, the view switches to it, then the
    older versions and their files go.
    """
    plan = versioned_rebuild(
        table,
        database=glue.database,
        raw_table=glue.raw_table,
        bucket=data_lake.bucket,
        analytics_prefix=data_lake.analytics_prefix,
        version=table_version(now or datetime.now(UTC)),
    )
    with failing_clearly():
        # Only older versions are dropped: a concurrent rebuild's newer version is left alone.
        older = [
            version
            for version in (version_of(table, name) for name in glue.table_names())
            if version is not None and version < plan.version
        ]
        data_lake.delete_prefix(plan.version_prefix)  # CTAS refuses a non-empty location
        create = athena.run(plan.create_version)
        if glue.table_type(table) not in (None, "VIRTUAL_VIEW"):
            _drop_legacy_table(table, athena, glue, data_lake)
        athena.run(plan.replace_view)
        for version in older:
            athena.run(drop_version(table, database=glue.database, version=version))
            data_lake.delete_prefix(version_prefix(data_lake.analytics_prefix, table, version))
        rows = int(athena.run(row_count_query(table, database=glue.database)).rows[0]["row_count"])
        preview = athena.run(preview_query(table, database=glue.database)).rows
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": dg.MetadataValue.int(rows),
            "preview": dg.MetadataValue.md(markdown_table(preview)),
            "athena_query_id": dg.MetadataValue.text(create.query_id),
            "bytes_scanned": dg.MetadataValue.int(create.bytes_scanned),
            "version_table": dg.MetadataValue.text(f"{glue.database}.{plan.version_table}"),
            "versions_dropped": dg.MetadataValue.int(len(older)),
            **_table_metadata(table, glue, data_lake, plan.version_prefix),
        }
    )


@daily_asset(
    deps=["orders_raw"],
    description=(
        "Every change event once (one row per event_id, typed columns), partitioned by event "
        "date: a replayed stream changes nothing."
    ),
)
def order_events(
    context: dg.AssetExecutionContext,
    athena: AthenaResource,
    glue: GlueCatalogResource,
    data_lake: DataLakeResource,
) -> dg.MaterializeResult:
    return refresh_partitions("order_events", context.partition_keys, athena, glue, data_lake)


@dg.asset(
    deps=["order_events"],
    description=(
        "Latest state of every order by stream sequence number; deleted orders are gone. "
        "Rebuilt whole from all event partitions."
    ),
    **_COMMON,
)
def orders_current(
    athena: AthenaResource, glue: GlueCatalogResource, data_lake: DataLakeResource
) -> dg.MaterializeResult:
    return rebuild_table("orders_current", athena, glue, data_lake)


@daily_asset(
    deps=["orders_current"],
    description=(
        "Per order-creation day, category and product: orders, units, gross revenue, discounts, "
        "net revenue (less orders now cancelled or returned) and average order value."
    ),
)
def daily_sales(
    context: dg.AssetExecutionContext,
    athena: AthenaResource,
    glue: GlueCatalogResource,
    data_lake: DataLakeResource,
) -> dg.MaterializeResult:
    return refresh_partitions("daily_sales", context.partition_keys, athena, glue, data_lake)


@daily_asset(
    # The funnel of a creation day reads that day's orders' whole history, later days included.
    deps=[dg.AssetDep("order_events", partition_mapping=dg.AllPartitionMapping())],
    description=(
        "Per order-creation day: orders that ever reached each status and the conversion, "
        "cancellation and return rates."
    ),
)
def daily_status_funnel(
    context: dg.AssetExecutionContext,
    athena: AthenaResource,
    glue: GlueCatalogResource,
    data_lake: DataLakeResource,
) -> dg.MaterializeResult:
    return refresh_partitions(
        "daily_status_funnel", context.partition_keys, athena, glue, data_lake
    )


@daily_asset(
    deps=["order_events"],
    description="INSERT, MODIFY and REMOVE events and inserted revenue per UTC hour.",
)
def hourly_cdc_activity(
    context: dg.AssetExecutionContext,
    athena: AthenaResource,
    glue: GlueCatalogResource,
    data_lake: DataLakeResource,
) -> dg.MaterializeResult:
    return refresh_partitions(
        "hourly_cdc_activity", context.partition_keys, athena, glue, data_lake
    )
