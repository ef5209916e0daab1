"""Keeping aggregates fresh: refresh after upstream updates, and an hourly late-data refresh."""

from datetime import timedelta

import dagster as dg

ANALYTICS = dg.AssetSelection.groups("analytics")
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def late_data_range(scheduled: dg.ScheduleEvaluationContext) -> tuple[str, str]:
    """Yesterday and today (UTC) of the tick: events for yesterday can still arrive late."""
    today = scheduled.scheduled_execution_time.date()
    return (today - timedelta(days=1)).isoformat(), today.isoformat()


@dg.schedule(
    name="aggregation_schedule",
    cron_schedule="40 * * * *",
    execution_timezone="UTC",
    target=ANALYTICS,
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Hourly: rebuild every analytics table for yesterday and today in one run.",
)
def aggregation_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    start, end = late_data_range(context)
    return dg.RunRequest(
        run_key=f"aggregates-{context.scheduled_execution_time.isoformat()}",
        tags={RANGE_START_TAG: start, RANGE_END_TAG: end},
    )


analytics_automation_sensor = dg.AutomationConditionSensorDefinition(
    "analytics_automation_sensor",
    target=ANALYTICS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Materializes analytics tables after a successful crawl updates their inputs.",
)
