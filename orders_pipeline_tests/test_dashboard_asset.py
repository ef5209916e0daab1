"""The `orders_dashboard` asset and the CLI: real local-stack aggregates in, page and KPIs out."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
import pytest
from click.testing import CliRunner
from pyathena import connect

from orders_pipeline import tables as registry
from orders_pipeline.cli import main
from orders_pipeline.dashboard.charts import CHART_TITLES
from orders_pipeline.dashboard.health import LastCrawl, PipelineHealth
from orders_pipeline.dashboard.kpis import KPI_LABELS, compute_kpis, kpi_values
from orders_pipeline.defs.dashboard.assets import ORDERS_DASHBOARD, orders_dashboard
from orders_pipeline.defs.dashboard.metadata import dashboard_metadata
from orders_pipeline.defs.dashboard.resources import DashboardOutputResource
from orders_pipeline_tests.polling import wait_for
from orders_pipeline_tests.test_dashboard_render import (
    NOW,
    PageElements,
    funnel_frame,
    pandas_oracle,
    sales_frame,
)

DASHBOARD_TABLES = [t.name for t in registry.DASHBOARD_TABLES]

ORDERS = 200
SEED = 11
DELIVERY_TIMEOUT = 120


def lines_under(s3: Any, bucket: str, prefix: str) -> int:
    count = 0
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            count += len(s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read().splitlines())
    return count


def raw_partitions(s3: Any, bucket: str, prefix: str) -> list[str]:
    listing = s3.list_objects_v2(Bucket=bucket, Prefix=prefix + "dt=", Delimiter="/")
    return sorted(p["Prefix"][len(prefix) + 3 : -1] for p in listing.get("CommonPrefixes", []))


@dataclass
class LocalDashboard:
    """One materialization of the dashboard over aggregates the local pipeline built."""

    resources: dict[str, Any]
    outputs: dict[str, str]
    metadata: dict[str, Any]
    started: datetime
    path: Path

    def materialize(self) -> dict[str, Any]:
        result = dg.materialize([orders_dashboard], resources=self.resources)
        (materialization,) = result.asset_materializations_for_node(orders_dashboard.op.name)
        return {key: value.value for key, value in materialization.metadata.items()}

    def athena_tables(self) -> dict[str, pd.DataFrame]:
        """The aggregate tables read straight through pyathena, as an analyst would."""
        frames = {}
        with connect(
            work_group=self.outputs["AthenaWorkGroupName"],
            schema_name=self.outputs["GlueDatabaseName"],
        ) as connection:
            cursor = connection.cursor()
            for table in DASHBOARD_TABLES:
                cursor.execute(f"SELECT * FROM {table}")
                names = [column[0] for column in cursor.description]
                frames[table] = pd.DataFrame.from_records(cursor.fetchall(), columns=names)
        return frames


@pytest.fixture(scope="module")
def local_dashboard(
    deployed_stack: dict[str, str],
    aws_client: Callable[[str], Any],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LocalDashboard]:
    """Generate orders, let them flow, crawl, build the aggregates, then the dashboard."""
    from orders_pipeline.defs.analytics import assets as analytics
    from orders_pipeline.defs.catalog.assets import orders_raw
    from orders_pipeline.defs.generation.assets import generated_orders
    from orders_pipeline.defs.resources import build_resources, environment_from_outputs

    s3 = aws_client("s3")
    bucket, raw_prefix = deployed_stack["DataBucketName"], deployed_stack["RawDataPrefix"]
    path = tmp_path_factory.mktemp("dashboard") / "orders.html"
    with pytest.MonkeyPatch.context() as env:
        for name, value in environment_from_outputs(deployed_stack).items():
            env.setenv(name, value)
        resources = {
            **build_resources(),
            "dashboard_output": DashboardOutputResource(local_path=str(path)),
        }
        started = datetime.now(UTC)
        delivered_before = lines_under(s3, bucket, raw_prefix)
        generated = dg.materialize(
            [generated_orders],
            resources=resources,
            run_config={"ops": {"generated_orders": {"config": {"count": ORDERS, "seed": SEED}}}},
        )
        (written,) = generated.asset_materializations_for_node("generated_orders")
        changes = written.metadata["dagster/row_count"].value
        wait_for(
            lambda: lines_under(s3, bucket, raw_prefix) >= delivered_before + changes,
            DELIVERY_TIMEOUT,
            f"{changes} changes delivered under s3://{bucket}/{raw_prefix}",
        )
        days = raw_partitions(s3, bucket, raw_prefix)
        dg.materialize(
            [orders_raw, analytics.analytics_refresh],
            resources=resources,
            run_config={
                "ops": {
                    "orders_raw": {"config": {"partitions": days}},
                    "analytics_refresh": {"config": {"event_days": days}},
                }
            },
        )
        dashboard = LocalDashboard(resources, deployed_stack, {}, started, path)
        dashboard.metadata = dashboard.materialize()
        yield dashboard


# ---- Wiring (no AWS) -------------------------------------------------------------------


@pytest.fixture(scope="module")
def definitions() -> dg.Definitions:
    from orders_pipeline.definitions import defs

    return defs()


def test_the_asset_reads_the_aggregates(definitions: dg.Definitions) -> None:
    node = definitions.resolve_asset_graph().get(ORDERS_DASHBOARD)
    assert {key.to_user_string() for key in node.parent_keys} == {
        "order_events",
        "daily_sales",
        "daily_status_funnel",
        "hourly_cdc_activity",
    }


UPSTREAM = ["order_events", "daily_sales", "daily_status_funnel", "hourly_cdc_activity"]


def next_tick(moment: datetime) -> datetime:
    """The dashboard's next cron tick (every ten minutes) after `moment`."""
    base = moment.replace(second=0, microsecond=0)
    return base + timedelta(minutes=10 - base.minute % 10)


def dashboard_requests(definitions, instance, times, reports=()) -> list[int]:
    """Evaluate the dashboard's condition at each time (one evaluation after the other, as the
    automation sensor does); report `reports[i]` refreshed before time i."""
    selection = dg.AssetSelection.assets(ORDERS_DASHBOARD)
    requested, cursor = [], None
    for number, when in enumerate(times):
        for upstream in reports[number] if number < len(reports) else ():
            instance.report_runless_asset_event(dg.AssetMaterialization(upstream))
        tick = dg.evaluate_automation_conditions(
            defs=definitions,
            instance=instance,
            asset_selection=selection,
            cursor=cursor,
            evaluation_time=when,
        )
        cursor = tick.cursor
        requested.append(tick.get_num_requested(ORDERS_DASHBOARD))
    return requested


@pytest.mark.parametrize("upstream", UPSTREAM)
def test_the_page_is_drawn_once_per_tick_after_a_table_it_reads_is_refreshed(
    definitions: dg.Definitions, upstream: str
) -> None:
    now = datetime.now(UTC)
    tick = next_tick(now)
    times = [now, tick + timedelta(minutes=1), tick + timedelta(minutes=2),
             tick + timedelta(minutes=12)]  # fmt: skip
    with dg.instance_for_test() as instance:
        for table in UPSTREAM:
            instance.report_runless_asset_event(dg.AssetMaterialization(table))
        # One table refreshed: drawn after the next tick, once; not again without a change.
        requested = dashboard_requests(definitions, instance, times, reports=[[], [upstream]])
    assert requested == [0, 1, 0, 0]


def test_the_page_is_not_drawn_before_every_table_it_reads_exists(
    definitions: dg.Definitions,
) -> None:
    now = datetime.now(UTC)
    with dg.instance_for_test() as instance:
        requested = dashboard_requests(
            definitions,
            instance,
            [now, next_tick(now) + timedelta(minutes=1)],
            reports=[[], ["order_events"]],
        )
    assert requested == [0, 0]


def test_a_running_sensor_evaluates_the_dashboard_condition(definitions: dg.Definitions) -> None:
    graph = definitions.resolve_asset_graph()
    sensors = [
        sensor
        for sensor in definitions.sensors
        if isinstance(sensor, dg.AutomationConditionSensorDefinition)
        and ORDERS_DASHBOARD in sensor.asset_selection.resolve(graph)
    ]
    assert [sensor.default_status for sensor in sensors] == [dg.DefaultSensorStatus.RUNNING]


def test_metadata_carries_each_kpi_as_a_number_and_a_summary_table() -> None:
    tables = {
        "daily_sales": sales_frame(
            [("2026-03-01", "Books", "Atlas", 3, 5, "100.00", "5.00", "95.00")]
        ),
        "daily_status_funnel": funnel_frame([("2026-03-01", 4, 3, 2, 1, 1, 0)]),
        "hourly_cdc_activity": pd.DataFrame(
            columns=list(registry.table("hourly_cdc_activity").dashboard_columns)
        ),
    }
    kpis = compute_kpis(tables)
    health = PipelineHealth(
        checked_at=NOW,
        newest_event_time=NOW - timedelta(seconds=90),
        firehose_failures={"Lambda.FunctionError": 4},
        crawler_state="READY",
        last_crawl=LastCrawl("SUCCEEDED", NOW),
    )
    metadata = dashboard_metadata(kpis, health, path=Path("/tmp/x.html"), s3_uri="s3://b/k")
    values = {name: metadata[name].value for name, _ in KPI_LABELS}
    assert values == {
        "orders": 3,
        "units": 5,
        "gross_revenue": 100.0,
        "net_revenue": 95.0,
        "avg_order_value": 31.67,
        "cancellation_rate": 0.25,
        "return_rate": 0.0,
    }
    assert metadata["newest_event_age_seconds"].value == 90
    assert metadata["firehose_failed_records"].value == 4
    summary = metadata["summary"].value
    assert [line.split(" | ")[0].lstrip("| ") for line in summary.splitlines()[2:]] == [
        *(label for _, label in KPI_LABELS),
        "Newest event age",
        "Firehose processing failures",
        "Last crawl",
    ]
    assert "| Average order value | 31.67 |" in summary


def test_a_kpi_with_no_denominator_is_recorded_as_null() -> None:
    empty = {
        name: pd.DataFrame(columns=list(registry.table(name).dashboard_columns))
        for name in DASHBOARD_TABLES
    }
    metadata = dashboard_metadata(
        compute_kpis(empty), PipelineHealth(NOW, None), path=Path("x.html"), s3_uri="s3://b/k"
    )
    assert metadata["avg_order_value"] == dg.MetadataValue.null()
    assert metadata["newest_event_age_seconds"] == dg.MetadataValue.null()
    assert metadata["orders"] == dg.MetadataValue.int(0)


# ---- On the local stack ----------------------------------------------------------------


@pytest.mark.slow
def test_metadata_kpis_equal_the_pandas_oracle_over_the_athena_tables(
    local_dashboard: LocalDashboard,
) -> None:
    oracle = pandas_oracle(local_dashboard.athena_tables())
    assert oracle["orders"] > 0
    recorded = {name: local_dashboard.metadata[name] for name in oracle}
    assert recorded == {
        name: (float(value) if isinstance(value, Decimal) else value)
        for name, value in oracle.items()
    }


@pytest.mark.slow
def test_the_page_shows_every_chart_and_the_oracle_kpis(local_dashboard: LocalDashboard) -> None:
    tables = local_dashboard.athena_tables()
    page = PageElements(local_dashboard.path.read_text(encoding="utf-8"))
    assert page.plot_divs == [f"chart-{name}" for name, _ in CHART_TITLES]
    shown = {
        name: element["attributes"]["data-value"]
        for (marker, name), element in page.elements.items()
        if marker == "data-kpi"
    }
    assert shown == {name: str(value) for name, value in pandas_oracle(tables).items()}
    assert kpi_values(compute_kpis(tables)) == pandas_oracle(tables)


@pytest.mark.slow
def test_the_page_in_s3_is_the_local_file(
    local_dashboard: LocalDashboard, aws_client: Callable[[str], Any]
) -> None:
    assert local_dashboard.metadata["path"] == str(local_dashboard.path)
    bucket = local_dashboard.outputs["DataBucketName"]
    assert local_dashboard.metadata["s3_uri"] == f"s3://{bucket}/dashboards/orders.html"
    stored = aws_client("s3").get_object(Bucket=bucket, Key="dashboards/orders.html")
    assert stored["ContentType"] == "text/html; charset=utf-8"
    assert stored["Body"].read() == local_dashboard.path.read_bytes()


@pytest.mark.slow
def test_health_reports_a_fresh_event_a_clean_landing_zone_and_the_crawl(
    local_dashboard: LocalDashboard,
) -> None:
    since_start = (datetime.now(UTC) - local_dashboard.started).total_seconds()
    assert 0 <= local_dashboard.metadata["newest_event_age_seconds"] <= since_start
    assert local_dashboard.metadata["firehose_failed_records"] == 0
    assert local_dashboard.metadata["last_crawl"] == "SUCCEEDED"


@pytest.mark.slow
def test_firehose_error_records_are_counted(
    local_dashboard: LocalDashboard, aws_client: Callable[[str], Any]
) -> None:
    s3 = aws_client("s3")
    bucket = local_dashboard.outputs["DataBucketName"]
    key = (
        f"{local_dashboard.outputs['ErrorDataPrefix']}processing-failed/"
        f"dt={datetime.now(UTC):%Y-%m-%d}/dashboard-test-errors"
    )
    record = {"errorCode": "Lambda.FunctionError", "errorMessage": "boom", "rawData": "e30="}
    s3.put_object(Bucket=bucket, Key=key, Body="\n".join(json.dumps(record) for _ in range(3)))
    try:
        assert local_dashboard.materialize()["firehose_failed_records"] == 3
    finally:
        s3.delete_object(Bucket=bucket, Key=key)


@pytest.mark.slow
def test_the_cli_writes_the_page_and_prints_its_path(
    local_dashboard: LocalDashboard, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:

    from orders_pipeline.defs.resources import environment_from_outputs

    for name, value in environment_from_outputs(local_dashboard.outputs).items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    output = tmp_path / "nested" / "page.html"
    result = CliRunner().invoke(main, ["dashboard", "--output", str(output)])
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines()[-1] == str(output)
    assert 'data-chart="top_products"' in output.read_text(encoding="utf-8")


# Last in the module: it adds a partition to the shared daily_sales.
@pytest.mark.slow
def test_a_day_before_the_last_30_days_of_data_is_not_drawn(
    local_dashboard: LocalDashboard,
) -> None:
    before = local_dashboard.materialize()
    newest = max(local_dashboard.athena_tables()["daily_sales"]["dt"])
    old = (datetime.fromisoformat(newest) - timedelta(days=30)).date().isoformat()
    columns = ", ".join(c.name for c in registry.DAILY_SALES.columns)
    with connect(
        work_group=local_dashboard.outputs["AthenaWorkGroupName"],
        schema_name=local_dashboard.outputs["GlueDatabaseName"],
    ) as connection:
        connection.cursor().execute(
            f"INSERT INTO daily_sales SELECT {columns}, '{old}' FROM daily_sales "
            f"WHERE dt = '{newest}'"
        )
    assert old in set(local_dashboard.athena_tables()["daily_sales"]["dt"])
    after = local_dashboard.materialize()
    assert {k: after[k] for k in pandas_oracle(local_dashboard.athena_tables())} == {
        k: before[k] for k in pandas_oracle(local_dashboard.athena_tables())
    }
