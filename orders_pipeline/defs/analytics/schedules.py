"""The analytics' safety nets: an hourly refresh of the days late data can still reach (the
sensor may miss a delivery), and the daily whole-table checks."""

import dagster as dg

from orders_pipeline.lib.jobs import DAILY_CHECKS, INGEST_JOB

# The hourly refresh runs the ingest job with its defaults: partitions and analytics of today
# and the days before it that late changes can reach.
hourly_refresh_schedule = dg.ScheduleDefinition(
    name="hourly_refresh_schedule",
    job_name=INGEST_JOB,
    cron_schedule="40 * * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Hourly: register and refresh the last days' partitions, whatever the sensor saw.",
)


daily_quality_job = dg.define_asset_job(
    "daily_quality_job",
    selection=dg.AssetSelection.checks(*DAILY_CHECKS),
    description="Whole-table quality and the reconciliation with DynamoDB.",
)

daily_quality_schedule = dg.ScheduleDefinition(
    name="daily_quality_schedule",
    job=daily_quality_job,
    cron_schedule="30 4 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Daily 04:30 UTC: every check over every day, and DynamoDB against the tables.",
)
