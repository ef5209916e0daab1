"""The hourly crawl: a safety net for deliveries the arrival sensor did not see."""

import dagster as dg

from orders_pipeline.defs.catalog.assets import ORDERS_RAW

crawl_job = dg.define_asset_job(
    "crawl_job",
    selection=dg.AssetSelection.assets("raw_order_events", ORDERS_RAW),
    description="Observes the landing zone and runs the Glue crawler over it.",
)

hourly_crawl_schedule = dg.ScheduleDefinition(
    name="hourly_crawl_schedule",
    job=crawl_job,
    cron_schedule="15 * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
)
