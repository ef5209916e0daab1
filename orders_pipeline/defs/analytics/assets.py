"""The analytics tables (Parquet, built by Athena) as one incremental refresh: the event days
that received raw data in, only the partitions their changes touch rewritten, the quality of
what was written checked in the same step."""

from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg
from pydantic import Field, field_validator

from orders_pipeline import tables
from orders_pipeline.defs.analytics.quality import quality_results
from orders_pipeline.defs.analytics.refresh import Lake, RefreshResult, refresh
from orders_pipeline.defs.analytics.sql_templates import (
    quality_query,
    rejected_by_column_query,
    table_prefix,
)
from orders_pipeline.defs.resources import (
    AthenaResource,
    DataLakeResource,
    GlueCatalogResource,
    failing_clearly,
)
from orders_pipeline.lib.checks import reason
from orders_pipeline.lib.jobs import REFRESH_OP
from orders_pipeline.lib.sql import validate_day

# Each table's inputs, as the refresh reads them.
_DEPS: dict[str, tuple[str, ...]] = {
    tables.ORDER_EVENTS.name: (tables.RAW.name,),
    tables.ORDERS_CURRENT.name: (tables.ORDER_EVENTS.name,),
    tables.DAILY_SALES.name: (tables.ORDERS_CURRENT.name,),
    tables.DAILY_STATUS_FUNNEL.name: (tables.ORDER_EVENTS.name,),
    tables.HOURLY_CDC_ACTIVITY.name: (tables.ORDER_EVENTS.name,),
}


def _column_schema(table: tables.Table) -> dg.TableSchema:
    columns = [dg.TableColumn(c.name, c.type, description=c.description) for c in table.columns]
    if table.partitioning is not None:
        columns.append(
            dg.TableColumn(tables.PARTITION_COLUMN, "varchar", table.partitioning.meaning)
        )
        columns += [
            dg.TableColumn(k.name, k.type, description=k.description)
            for k in table.partitioning.more_keys
        ]
    return dg.TableSchema(columns=columns)


def analytics_specs() -> list[dg.AssetSpec]:
    """One spec per analytics table (a function: module-level specs would load as assets)."""
    return [
        dg.AssetSpec(
            table.name,
            deps=_DEPS[table.name],
            description=table.description,
            kinds={"athena", "parquet", "s3"},
            group_name="analytics",
            # A refresh writes only the tables its days touch (none when no raw data arrived).
            skippable=True,
            metadata={
                "dagster/column_schema": _column_schema(table),
                "partitioned_by": dg.MetadataValue.text(
                    table.partitioning.meaning if table.partitioning else "not partitioned"
                ),
            },
        )
        for table in tables.ANALYTICS_TABLES
    ]


class RefreshConfig(dg.Config):
    event_days: list[str] = Field(
        default_factory=list,
        description=(
            "Event days (YYYY-MM-DD, UTC) whose raw data changed; the arrival sensor fills it "
            "in. Empty: yesterday and today, where late data lands."
        ),
    )
    all_days: bool = Field(
        default=False, description="Rebuild from every raw partition (a backfill or a repair)."
    )
    only_new_files: bool = Field(
        default=False,
        description=(
            "Read only the raw files order_events does not hold yet (what the arrival sensor "
            "asks for: cost in proportion to new data). Off: rewrite the event days whole "
            "(the daily safety net, which also heals a refresh that failed halfway)."
        ),
    )

    @field_validator("event_days")
    @classmethod
    def _days(cls, days: list[str]) -> list[str]:
        return [validate_day(day, "event_days") for day in days]


def default_event_days(now: datetime) -> list[str]:
    """Yesterday and today (UTC): where late data lands, what a scheduled refresh rewrites."""
    today = now.astimezone(UTC).date()
    return [(today - timedelta(days=1)).isoformat(), today.isoformat()]


def event_days_to_refresh(config: RefreshConfig, glue: GlueCatalogResource) -> list[str]:
    """The days to refresh that hold raw data: the ones named, every one, or the default two."""
    if not glue.table_exists(glue.raw_table):
        return []
    if config.all_days:
        return glue.partition_values(glue.raw_table)
    wanted = config.event_days or default_event_days(datetime.now(UTC))
    return glue.existing_days(glue.raw_table, wanted)


def _table_metadata(done: Any, database: str, bucket: str, prefix: str) -> dict[str, Any]:
    rows = {} if done.rows is None else {"rows_written": dg.MetadataValue.int(done.rows)}
    return {
        "dagster/table_name": dg.MetadataValue.text(f"{database}.{done.table}"),
        **rows,
        "days_rewritten": dg.MetadataValue.json(done.days),
        "partitions_written": dg.MetadataValue.int(done.partitions),
        "bytes_scanned": dg.MetadataValue.int(done.bytes_scanned),
        "athena_query_ids": dg.MetadataValue.json(done.query_ids),
        "location": dg.MetadataValue.url(f"s3://{bucket}/{prefix}"),
    }


@dg.multi_asset(
    specs=analytics_specs(),
    check_specs=[spec for spec in quality_results.specs],
    name=REFRESH_OP,
    description=(
        "Rewrites the analytics partitions the new raw data touches: event days for "
        "order_events and hourly_cdc_activity, the changed orders' creation days for the rest."
    ),
)
def analytics_refresh(
    context: dg.AssetExecutionContext,
    config: RefreshConfig,
    athena: AthenaResource,
    glue: GlueCatalogResource,
    data_lake: DataLakeResource,
):
    with failing_clearly():
        days = event_days_to_refresh(config, glue)
        if not days:
            context.log.info("no raw partition to refresh yet")
        result: RefreshResult = refresh(
            Lake(athena, glue, data_lake),
            days,
            rebuild=config.all_days,
            only_new_files=config.only_new_files and not config.all_days,
        )
    quality, rejected, failure = None, {}, None
    if result.event_days:
        try:
            quality = athena.run(
                quality_query(
                    database=glue.database,
                    event_days=result.event_days,
                    creation_days=result.creation_days,
                    files=result.appended_files,
                )
            ).rows[0]
            if int(quality.get("rejected_rows") or 0):
                rejected = _rejected_by_column(athena, glue.database, result.event_days)
        except Exception as error:  # the tables are written: the checks fail, saying why
            failure = reason(error)
    for table in tables.ANALYTICS_TABLES:
        done = result.tables.get(table.name)
        if done is None:
            continue
        metadata: dict[str, Any] = {
            "event_days": dg.MetadataValue.json(result.event_days),
            "creation_days": dg.MetadataValue.json(result.creation_days),
            **_table_metadata(
                done,
                glue.database,
                data_lake.bucket,
                table_prefix(data_lake.analytics_prefix, table.name),
            ),
        }
        if table is tables.ORDER_EVENTS:
            metadata["changes_by_creation_day"] = dg.MetadataValue.json(
                result.changes_by_creation_day
            )
            metadata["refresh_bytes_scanned"] = dg.MetadataValue.int(result.bytes_scanned)
            if quality is not None:
                metadata["rejected_rows"] = dg.MetadataValue.int(
                    int(quality.get("rejected_rows") or 0)
                )
                metadata["rejected_by_column"] = dg.MetadataValue.json(rejected)
        yield dg.MaterializeResult(asset_key=table.name, metadata=metadata)
    if failure is not None:
        yield from quality_results.failed(failure)
    else:
        yield from quality_results.results(quality, now=datetime.now(UTC))


def _rejected_by_column(athena: AthenaResource, database: str, days: list[str]) -> dict[str, int]:
    """How many rows of these days each column's values were rejected in (only run when some
    were: the refresh's quality query counts them)."""
    rows = athena.run(rejected_by_column_query(database=database, event_days=days)).rows
    return {str(row["column_name"]): int(row["rejected_rows"]) for row in rows}
