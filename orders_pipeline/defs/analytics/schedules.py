"""The analytics' safety nets: an hourly refresh of the raw files of the days late data can
still reach that no run has read (the sensor may miss a delivery), a daily rewrite of
yesterday whole (it heals a run that failed halfway), and the daily whole-table checks."""

from datetime import timedelta

import dagster as dg

from orders_pipeline.lib.jobs import DAILY_CHECKS, INGEST_JOB, REFRESH_OP

# The hourly refresh registers the partitions of yesterday and today (the ingest job's
# defaults) and reads the raw files of those days that order_events does not hold yet.
hourly_refresh_schedule = dg.ScheduleDefinition(
    name="hourly_refresh_schedule",
    job_name=INGEST_JOB,
    cron_schedule="40 * * * *",
    execution_timezone="UTC",
    run_config={"ops": {REFRESH_OP: {"config": {"only_new_files": True}}}},
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description=(
        "Hourly: register yesterday's and today's partitions and read their raw files no run "
        "has read, whatever the sensor saw."
    ),
)


@dg.schedule(
    name="daily_refresh_schedule",
    job_name=INGEST_JOB,
    cron_schedule="15 1 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description=(
        "Daily 01:15 UTC: rewrite yesterday's analytics whole from its raw data (one read of a "
        "day, once): it heals a refresh that failed after appending to order_events."
    ),
)
def daily_refresh_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    yesterday = (context.scheduled_execution_time - timedelta(days=1)).date().isoformat()
    return dg.RunRequest(
        run_key=f"daily-refresh-{yesterday}",
        run_config={"ops": {REFRESH_OP: {"config": {"event_days": [yesterday]}}}},
        tags={"orders_pipeline/event_days": yesterday},
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
