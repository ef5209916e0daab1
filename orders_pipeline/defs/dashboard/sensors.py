"""Evaluates the dashboard's automation condition, so the page refreshes after the aggregates."""

import dagster as dg

from orders_pipeline.defs.dashboard.assets import ORDERS_DASHBOARD

# The analytics sensor targets only its own group; this one is running from the start too.
dashboard_automation_sensor = dg.AutomationConditionSensorDefinition(
    "dashboard_automation_sensor",
    target=dg.AssetSelection.assets(ORDERS_DASHBOARD),
    default_status=dg.DefaultSensorStatus.RUNNING,
    minimum_interval_seconds=30,
    description="Re-renders the dashboard after any aggregate table it reads is refreshed.",
)
