"""The code location loads, and every asset, check, sensor and schedule is declared as specified."""

import os
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import dagster as dg
import pytest

from orders_pipeline.definitions import defs
from orders_pipeline.defs.resources import SETTINGS, environment_from_outputs, setting

ROOT = Path(__file__).resolve().parent.parent
PIPELINE_ASSETS = {
    "generated_orders": ("generation", {"dynamodb", "python"}),
    "raw_order_events": ("ingestion", {"s3", "json"}),
    "orders_raw": ("catalog", {"glue", "s3"}),
    "order_events": ("analytics", {"athena", "parquet", "s3"}),
    "orders_current": ("analytics", {"athena", "parquet", "s3"}),
    "daily_sales": ("analytics", {"athena", "parquet", "s3"}),
    "daily_status_funnel": ("analytics", {"athena", "parquet", "s3"}),
    "hourly_cdc_activity": ("analytics", {"athena", "parquet", "s3"}),
}
DAILY = {"order_events", "daily_sales", "daily_status_funnel", "hourly_cdc_activity"}


@pytest.fixture(scope="module")
def repository() -> dg.RepositoryDefinition:
    return defs().get_repository_def()


def test_dagster_validates_the_workspace():
    completed = subprocess.run(
        [
            str(Path(sys.executable).parent / "dagster"),
            "definitions",
            "validate",
            "-w",
            "workspace.yaml",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr


@pytest.mark.parametrize(("key", "expected"), PIPELINE_ASSETS.items())
def test_asset_has_its_group_kinds_and_description(repository, key, expected):
    graph = repository.asset_graph
    node = graph.get(dg.AssetKey(key))
    group, kinds = expected
    assert node.group_name == group
    assert set(node.kinds) >= kinds
    assert node.description


@pytest.mark.parametrize("key", sorted(DAILY))
def test_daily_tables_are_partitioned_by_utc_day_including_today(repository, key):
    partitions = repository.asset_graph.get(dg.AssetKey(key)).partitions_def
    assert isinstance(partitions, dg.DailyPartitionsDefinition)
    assert partitions.timezone == "UTC"
    assert partitions.end_offset == 1


def test_lineage_runs_from_generation_to_the_aggregates(repository):
    graph = repository.asset_graph
    parents = {
        key: {p.to_user_string() for p in graph.get(dg.AssetKey(key)).parent_keys}
        for key in PIPELINE_ASSETS
    }
    assert parents["raw_order_events"] == {"generated_orders"}
    assert parents["orders_raw"] == {"raw_order_events"}
    assert parents["order_events"] == {"orders_raw"}
    assert parents["orders_current"] == {"order_events"}
    assert parents["daily_sales"] == {"orders_current"}
    assert parents["daily_status_funnel"] == {"order_events"}
    assert parents["hourly_cdc_activity"] == {"order_events"}


def test_quality_checks_are_attached_to_their_tables(repository):
    checks = {
        (k.asset_key.to_user_string(), k.name) for k in repository.asset_graph.asset_check_keys
    }
    assert checks >= {
        ("raw_order_events", "no_processing_failures"),
        ("orders_raw", "valid_cdc_event_type"),
        ("orders_raw", "price_not_negative"),
        ("orders_raw", "quantity_positive"),
        ("orders_raw", "orderid_not_null"),
        ("order_events", "unique_event_id"),
        ("order_events", "newest_event_fresh"),
        ("orders_current", "unique_orderid"),
        ("orders_current", "matches_dynamodb"),
    }


@pytest.mark.parametrize(
    "name", ["firehose_delivery_sensor", "firehose_error_sensor", "analytics_automation_sensor"]
)
def test_sensors_are_on_by_default(repository, name):
    assert repository.get_sensor_def(name).default_status == dg.DefaultSensorStatus.RUNNING


@pytest.mark.parametrize("name", ["hourly_crawl_schedule", "aggregation_schedule"])
def test_schedules_are_on_by_default(repository, name):
    assert repository.get_schedule_def(name).default_status == dg.DefaultScheduleStatus.RUNNING


def test_aggregation_schedule_refreshes_yesterday_and_today_in_one_run(repository):
    schedule = repository.get_schedule_def("aggregation_schedule")
    context = dg.build_schedule_context(scheduled_execution_time=datetime(2025, 3, 2, 0, 40))
    (request,) = schedule.evaluate_tick(context).run_requests
    assert request.tags["dagster/asset_partition_range_start"] == "2025-03-01"
    assert request.tags["dagster/asset_partition_range_end"] == "2025-03-02"


def test_every_setting_maps_from_a_stack_output():
    outputs = {s.stack_output: f"value-of-{s.env_var}" for s in SETTINGS}
    assert environment_from_outputs(outputs) == {
        s.env_var: f"value-of-{s.env_var}" for s in SETTINGS
    }


def test_a_set_environment_variable_stays_an_env_var_for_the_ui(monkeypatch):
    monkeypatch.setenv("ORDERS_GLUE_DATABASE", "sales_db")
    assert setting("ORDERS_GLUE_DATABASE") == dg.EnvVar("ORDERS_GLUE_DATABASE")


def test_an_unset_setting_with_a_fixed_name_takes_the_developer_default(monkeypatch):
    monkeypatch.delenv("ORDERS_GLUE_CRAWLER", raising=False)
    monkeypatch.delenv("ORDERS_STACK_NAME", raising=False)
    assert setting("ORDERS_GLUE_CRAWLER") == "orders-raw-crawler"


def test_the_bucket_has_no_default_so_an_unset_one_stays_a_required_env_var(monkeypatch):
    monkeypatch.delenv("ORDERS_DATA_BUCKET", raising=False)
    monkeypatch.delenv("ORDERS_STACK_NAME", raising=False)
    assert setting("ORDERS_DATA_BUCKET") == dg.EnvVar("ORDERS_DATA_BUCKET")


@pytest.mark.parametrize(
    ("env_var", "stack_output", "default"),
    [
        ("ORDERS_KINESIS_STREAM", "KinesisStreamName", "kinesis-for-sales-data"),
        ("ORDERS_DELIVERY_STREAM", "DeliveryStreamName", "firehose-sales-data-to-s3"),
    ],
)
def test_stream_names_are_settings_from_the_stack_outputs(
    monkeypatch, env_var, stack_output, default
):
    monkeypatch.delenv(env_var, raising=False)
    monkeypatch.delenv("ORDERS_STACK_NAME", raising=False)
    assert setting(env_var) == default
    assert environment_from_outputs({stack_output: "from-stack"}) == {env_var: "from-stack"}
    template = (ROOT / "infra" / "template.yaml").read_text()
    assert f"\n  {stack_output}:\n" in template


def test_importing_the_definitions_prints_no_backfill_policy_warning():
    completed = subprocess.run(
        [
            sys.executable,
            "-W",
            "always",
            "-c",
            "from orders_pipeline.definitions import defs; defs()",
        ],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert completed.returncode == 0, completed.stderr
    assert "backfill_policy" not in completed.stderr


def test_the_backfill_policy_warning_is_silenced_only_where_the_daily_assets_are_declared():
    import orders_pipeline.defs.analytics.assets  # noqa: F401  (its declarations ran)

    with pytest.warns(dg.BetaWarning, match="backfill_policy"):
        dg.asset(name="elsewhere", backfill_policy=dg.BackfillPolicy.single_run())(lambda: None)
