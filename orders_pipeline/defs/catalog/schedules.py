"""The weekly crawl: schema discovery's safety net (new partitions need no crawl; a delivery
with a new column starts one itself)."""

import dagster as dg

from orders_pipeline.defs.catalog.assets import ORDERS_RAW

crawl_job = dg.define_asset_job(
    "crawl_job",
    selection=dg.AssetSelection.assets(ORDERS_RAW),
    description="Runs the Glue crawler over the landing zone.",
    config={"ops": {ORDERS_RAW.path[-1]: {"config": {"crawl": True}}}},
)

weekly_crawl_schedule = dg.ScheduleDefinition(
    name="weekly_crawl_schedule",
    job=crawl_job,
    cron_schedule="15 3 * * 0",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Sundays 03:15 UTC: a crawl finds what the sensor's sampling could miss.",
)
