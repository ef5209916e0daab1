"""The Glue table over the landing zone, kept current by the crawler, and its quality checks."""

import dagster as dg
from pydantic import Field

from orders_pipeline.defs.analytics.checks import check_outcome
from orders_pipeline.defs.analytics.sql_templates import check_query
from orders_pipeline.defs.catalog.crawler import CrawlFailedError, run_crawler
from orders_pipeline.defs.resources import AthenaResource, GlueCatalogResource, failing_clearly

ORDERS_RAW = dg.AssetKey("orders_raw")

# (check name, query under sql/checks/, what a passing table guarantees)
RAW_TABLE_CHECKS = (
    (
        "valid_cdc_event_type",
        "raw_invalid_cdc_event_type",
        "cdc_event_type is INSERT/MODIFY/REMOVE",
    ),
    ("price_not_negative", "raw_negative_price", "price >= 0"),
    ("quantity_positive", "raw_non_positive_quantity", "quantity > 0"),
    ("orderid_not_null", "raw_null_orderid", "every record has an orderid"),
)


class CrawlConfig(dg.Config):
    timeout_seconds: float = Field(
        default=600, gt=0, description="How long to wait for the crawl before failing the run."
    )


def _catalog_snapshot(glue: GlueCatalogResource) -> tuple[set[str], int]:
    client = glue.client()
    tables = {
        table["Name"]
        for page in client.get_paginator("get_tables").paginate(DatabaseName=glue.database)
        for table in page["TableList"]
    }
    partitions = len(glue.partition_values(glue.raw_table)) if glue.raw_table in tables else 0
    return tables, partitions


@dg.asset(
    key=ORDERS_RAW,
    deps=["raw_order_events"],
    description=(
        "Glue table over the Firehose landing zone (one partition per event date), created and "
        "updated by the Glue crawler."
    ),
    kinds={"glue", "s3"},
    group_name="catalog",
)
def orders_raw(config: CrawlConfig, glue: GlueCatalogResource) -> dg.MaterializeResult:
    with failing_clearly():
        tables_before, partitions_before = _catalog_snapshot(glue)
        try:
            crawl = run_crawler(
                glue.client(), glue.crawler_name, timeout_seconds=config.timeout_seconds
            )
        except CrawlFailedError as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from exc
        tables_after, partitions_after = _catalog_snapshot(glue)
    return dg.MaterializeResult(
        metadata={
            "crawler": dg.MetadataValue.text(crawl.crawler),
            "crawl_seconds": dg.MetadataValue.float(round(crawl.seconds, 1)),
            "joined_running_crawl": dg.MetadataValue.bool(crawl.joined_running_crawl),
            "tables_added": dg.MetadataValue.json(sorted(tables_after - tables_before)),
            "partitions": dg.MetadataValue.int(partitions_after),
            "partitions_added": dg.MetadataValue.int(partitions_after - partitions_before),
        }
    )


@dg.multi_asset_check(
    specs=[
        dg.AssetCheckSpec(name, asset=ORDERS_RAW, description=guarantee)
        for name, _, guarantee in RAW_TABLE_CHECKS
    ],
    name="orders_raw_checks",
)
def orders_raw_checks(athena: AthenaResource, glue: GlueCatalogResource):
    for name, query, guarantee in RAW_TABLE_CHECKS:
        with failing_clearly():
            result = athena.run(
                check_query(query, database=glue.database, raw_table=glue.raw_table)
            )
        yield check_outcome(result.rows[0], guarantee, name=name)
