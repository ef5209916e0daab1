"""The Glue table over the landing zone: new dt partitions registered directly (no crawl), the
crawler run only when the table is missing, a delivery brings a column it lacks, or the weekly
schedule asks (a crawl is billed by the DPU-second with a minimum per run)."""

from datetime import UTC, datetime

import dagster as dg
from pydantic import Field, field_validator

from orders_pipeline import tables
from orders_pipeline.defs.catalog.crawler import CrawlFailedError, run_crawler
from orders_pipeline.defs.resources import DataLakeResource, GlueCatalogResource, failing_clearly
from orders_pipeline.lib.days import recent_days
from orders_pipeline.lib.sql import validate_day

ORDERS_RAW = dg.AssetKey(tables.RAW.name)


class CatalogConfig(dg.Config):
    partitions: list[str] = Field(
        default_factory=list,
        description=(
            "Event days (YYYY-MM-DD) with new deliveries; empty: the days a late delivery can "
            "still open (today and the two before)."
        ),
    )
    new_columns: list[str] = Field(
        default_factory=list,
        description="Attributes the new records carry that the table lacks: the crawler adds them.",
    )
    crawl: bool = Field(default=False, description="Crawl whatever else (the weekly schedule).")
    timeout_seconds: float = Field(
        default=600, gt=0, description="How long to wait for a crawl before failing the run."
    )

    @field_validator("partitions")
    @classmethod
    def _days(cls, days: list[str]) -> list[str]:
        return [validate_day(day, "partitions") for day in days]


def crawl_reason(config: CatalogConfig, table_exists: bool) -> str | None:
    """Why this run must crawl, or None: registering partitions is enough."""
    if not table_exists:
        return "the raw table does not exist yet"
    if config.new_columns:
        return f"records carry new columns: {', '.join(sorted(config.new_columns))}"
    if config.crawl:
        return "asked for (schema discovery schedule)"
    return None


@dg.asset(
    key=ORDERS_RAW,
    deps=["raw_order_events"],
    description=tables.RAW.description,
    kinds={"glue", "s3"},
    group_name="catalog",
)
def orders_raw(
    config: CatalogConfig, glue: GlueCatalogResource, data_lake: DataLakeResource
) -> dg.MaterializeResult:
    with failing_clearly():
        reason = crawl_reason(config, glue.table_exists(glue.raw_table))
        if reason is not None:
            try:
                crawl = run_crawler(
                    glue.client(), glue.crawler_name, timeout_seconds=config.timeout_seconds
                )
            except CrawlFailedError as exc:
                raise dg.Failure(description=str(exc), allow_retries=False) from exc
            as_text = glue.read_scalars_as_text(glue.raw_table)
            return dg.MaterializeResult(
                metadata={
                    "crawled": dg.MetadataValue.bool(True),
                    "columns_read_as_text": dg.MetadataValue.json(as_text),
                    "crawl_reason": dg.MetadataValue.text(reason),
                    "crawler": dg.MetadataValue.text(crawl.crawler),
                    "crawl_seconds": dg.MetadataValue.float(round(crawl.seconds, 1)),
                    "joined_running_crawl": dg.MetadataValue.bool(crawl.joined_running_crawl),
                    "partitions": dg.MetadataValue.int(
                        len(glue.partition_values(glue.raw_table))
                        if glue.table_exists(glue.raw_table)
                        else 0
                    ),
                }
            )
        if config.partitions:
            present = sorted(set(config.partitions))  # the sensor saw deliveries there
        else:
            # Only days whose folder holds data become partitions (a day may have none yet).
            present = [
                day
                for day in recent_days(datetime.now(UTC))
                if data_lake.has_objects(f"{data_lake.raw_prefix}dt={day}/")
            ]
        added = glue.add_partitions(glue.raw_table, present)
    return dg.MaterializeResult(
        metadata={
            "crawled": dg.MetadataValue.bool(False),
            "crawl_reason": dg.MetadataValue.text("none: new partitions registered directly"),
            "partitions_added": dg.MetadataValue.json(added),
            "partitions_checked": dg.MetadataValue.json(present),
        }
    )
