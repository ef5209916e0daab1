"""The code location loads, and every asset, check, sensor and schedule is declared as specified."""

import subprocess
import sys
from datetime import datetime
from pathlib import Path

import dagster as dg
import pytest

from orders_pipeline import tables
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


@pytest.mark.parametrize("table", tables.ANALYTICS_TABLES, ids=lambda t: t.name)
def test_each_analytics_table_is_an_asset_of_the_one_refresh_step_with_its_declared_columns(
    repository, table
):
    node = repository.asset_graph.get(dg.AssetKey(table.name))
    assert node.partitions_def is None  # the refresh picks its days, not a Dagster partition
    assert defs().get_assets_def(table.name).node_def.name == "analytics_refresh"
    schema = node.metadata["dagster/column_schema"]
    assert tuple(c.name for c in schema.columns) == table.column_names


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
    assert checks == {
        ("raw_order_events", "no_processing_failures"),
        *(("order_events", name) for name in (
            "valid_cdc_event_type", "price_not_negative", "quantity_positive",
            "orderid_not_null", "no_rejected_values", "creation_day_known", "unique_event_id",
            "newest_event_fresh", "all_days_quality",
        )),
        ("orders_current", "unique_orderid"),
        ("orders_current", "all_days_unique_orderid"),
        ("orders_current", "matches_dynamodb"),
    }  # fmt: skip


@pytest.mark.parametrize(
    "name", ["firehose_delivery_sensor", "firehose_error_sensor", "dashboard_automation_sensor"]
)
def test_sensors_are_on_by_default(repository, name):
    assert repository.get_sensor_def(name).default_status == dg.DefaultSensorStatus.RUNNING


@pytest.mark.parametrize(
    "name",
    [
        "hourly_refresh_schedule",
        "daily_refresh_schedule",
        "daily_quality_schedule",
        "weekly_crawl_schedule",
    ],
)
def test_schedules_are_on_by_default(repository, name):
    assert repository.get_schedule_def(name).default_status == dg.DefaultScheduleStatus.RUNNING


def test_the_hourly_refresh_reads_the_default_days_new_files(repository):
    schedule = repository.get_schedule_def("hourly_refresh_schedule")
    context = dg.build_schedule_context(scheduled_execution_time=datetime(2025, 3, 2, 0, 40))
    (request,) = schedule.evaluate_tick(context).run_requests
    assert schedule.job_name == "ingest_job"
    assert request.run_config == {
        "ops": {"analytics_refresh": {"config": {"only_new_files": True}}}
    }


def test_the_daily_refresh_rewrites_yesterday_whole(repository):
    schedule = repository.get_schedule_def("daily_refresh_schedule")
    context = dg.build_schedule_context(scheduled_execution_time=datetime(2025, 3, 2, 1, 15))
    (request,) = schedule.evaluate_tick(context).run_requests
    assert schedule.job_name == "ingest_job"
    assert request.run_config == {
        "ops": {"analytics_refresh": {"config": {"event_days": ["2025-03-01"]}}}
    }


def test_the_weekly_crawl_asks_the_catalog_step_to_crawl(repository):
    schedule = repository.get_schedule_def("weekly_crawl_schedule")
    job = repository.get_job(schedule.job_name)
    assert job.run_config == {"ops": {"orders_raw": {"config": {"crawl": True}}}}


def test_the_daily_checks_are_not_run_by_the_ingest_job(repository):
    checks = {
        k.name for k in repository.get_job("ingest_job").asset_layer.asset_graph.asset_check_keys
    }
    assert "unique_event_id" in checks
    assert not checks & {"all_days_quality", "all_days_unique_orderid", "matches_dynamodb"}


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
