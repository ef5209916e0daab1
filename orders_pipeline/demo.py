"""The pipeline once, headless, in this process: generate orders, wait for Firehose to deliver
them, catalog them, refresh every analytics table, run every check, render the dashboard.
The `demo` command and the replay tests drive it; the stages are the Dagster assets."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
import pandas as pd

from orders_pipeline import tables
from orders_pipeline.defs.analytics.sql_templates import select_table_query
from orders_pipeline.defs.generation.assets import DEFAULT_ORDERS_PER_SECOND
from orders_pipeline.defs.generation.clock import start_ending_by, utc_now
from orders_pipeline.defs.resources import DataLakeResource, build_resources
from orders_pipeline.lib.jobs import DAILY_CHECKS
from orders_pipeline.orders import ChangeMix
from orders_pipeline.orders.model import format_timestamp

GENERATION = ("generated_orders",)
CATALOG = (tables.RAW.name,)
REFRESH = tuple(t.name for t in tables.ANALYTICS_TABLES)
DASHBOARD = ("orders_dashboard",)
QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}


class DemoFailed(RuntimeError):
    """A stage of the demo failed; the message is the one-line reason."""


@dataclass
class BuildResult:
    """What a catalog-and-refresh pass produced: the event days, every table, failed checks."""

    event_days: list[str]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    failed_checks: list[str] = field(default_factory=list)
    dashboard: str | None = None


@dataclass
class DemoResult:
    seed: int
    start: str
    changes_written: int
    records_delivered: int
    build: BuildResult


def count_new_records(
    data_lake: DataLakeResource, prefixes: Iterable[str], seen: dict[str, int]
) -> int:
    """Records (JSON lines) in objects under `prefixes`; `seen` caches counts per key.

    Objects present before the demo are in `seen` with a count of 0, so they are not counted.
    """
    for prefix in prefixes:
        for obj in data_lake.list_objects(prefix):
            if obj["Key"] not in seen:
                body = data_lake.read(obj["Key"])
                seen[obj["Key"]] = sum(1 for line in body.splitlines() if line.strip())
    return sum(seen.values())


def wait_for_delivery(
    data_lake: DataLakeResource,
    expected_records: int,
    seen: dict[str, int],
    *,
    timeout_seconds: float,
    poll_seconds: float = 1.0,
) -> int:
    """Poll S3 until Firehose has delivered `expected_records` (data or error records)."""
    prefixes = (data_lake.raw_prefix, data_lake.error_prefix)
    deadline = time.monotonic() + timeout_seconds
    while True:
        delivered = count_new_records(data_lake, prefixes, seen)
        if delivered >= expected_records:
            return delivered
        if time.monotonic() >= deadline:
            raise DemoFailed(
                f"Firehose delivered {delivered} of {expected_records} change records to "
                f"s3://{data_lake.bucket}/{data_lake.raw_prefix} within {timeout_seconds:.0f} s"
            )
        time.sleep(poll_seconds)


def _failure_reason(failure: Any) -> str:
    """One line: a Failure's description, else the innermost error (the user code's own)."""
    if failure.user_failure_data is not None and failure.user_failure_data.description:
        return failure.user_failure_data.description
    error = failure.error
    while error.cause is not None:
        error = error.cause
    return " ".join(error.message.split())


def failed_checks(result: dg.ExecuteInProcessResult) -> list[str]:
    failures = []
    for evaluation in result.get_asset_check_evaluations():
        if not evaluation.passed:
            key = evaluation.asset_check_key
            detail = evaluation.description or dict(evaluation.metadata)
            failures.append(f"{key.asset_key.to_user_string()}:{key.name}: {detail}")
    return failures


@dataclass
class Pipeline:
    """The loaded definitions, their resources usable outside runs, and one Dagster instance."""

    definitions: dg.Definitions
    live: Any
    instance: dg.DagsterInstance

    def run(
        self,
        assets: tuple[str, ...],
        *,
        stage: str,
        config: dict[str, Any] | None = None,
        checks: tuple[dg.AssetCheckKey, ...] = (),
    ) -> dg.ExecuteInProcessResult:
        """Materialize `assets` (and their checks), plus the standalone `checks`, in one run."""
        job = self.definitions.resolve_implicit_global_asset_job_def()
        selected = {dg.AssetKey(name) for name in assets}
        own_checks = [
            key for key in job.asset_layer.asset_graph.asset_check_keys if key.asset_key in selected
        ]
        if checks:
            job = job.get_subset(
                asset_selection=selected, asset_check_selection={*own_checks, *checks}
            )
        result = job.execute_in_process(
            instance=self.instance,
            asset_selection=None if checks else sorted(selected),
            raise_on_error=False,
            # The demo prints its own progress; Dagster's event log stays out of the way.
            run_config={**(config or {}), **QUIET_LOGS},
        )
        if not result.success:
            failures = [
                _failure_reason(event.step_failure_data)
                for event in result.all_events
                if event.is_step_failure
            ]
            raise DemoFailed(f"{stage} failed: {failures[0] if failures else 'see the run log'}")
        return result


@contextmanager
def pipeline() -> Iterator[Pipeline]:
    # Loaded here, after the caller has set the environment that names the resources.
    from orders_pipeline.definitions import defs as load_definitions

    definitions = load_definitions()
    resources = {key: definitions.resources[key] for key in build_resources()}
    with (
        dg.build_resources(resources) as live,  # EnvVars resolved, for use outside runs
        dg.DagsterInstance.ephemeral() as instance,
    ):
        yield Pipeline(definitions, live, instance)


def catalog_and_refresh(
    pipe: Pipeline, say: Callable[[str], None], event_days: list[str] | None = None
) -> BuildResult:
    """Catalog and refresh, run every check, draw the dashboard. `event_days` None: crawl and
    rebuild every table from every raw day; else register those days and refresh what their
    changes touch (the ingest run's incremental path)."""
    glue, athena = pipe.live.glue, pipe.live.athena
    if event_days is None:
        catalog = {"crawl": True}
        refresh: dict[str, Any] = {"all_days": True}
    else:
        catalog, refresh = {"partitions": event_days}, {"event_days": event_days}
    crawl = pipe.run(CATALOG, stage="catalog", config={"ops": {CATALOG[0]: {"config": catalog}}})
    days = glue.partition_values(glue.raw_table) if event_days is None else event_days
    if not days:
        raise DemoFailed(f"the crawler found no partitions in {glue.database}.{glue.raw_table}")
    say(f"refreshing the tables for {days[0]} .. {days[-1]}")
    refreshed = pipe.run(
        REFRESH,
        stage="analytics refresh",
        config={"ops": {"analytics_refresh": {"config": refresh}}},
        checks=DAILY_CHECKS,
    )
    dashboard = pipe.run(DASHBOARD, stage="dashboard")
    path = None
    for event in dashboard.get_asset_materialization_events():
        meta = event.materialization.metadata
        if "path" in meta:
            path = str(meta["path"].value)
    return BuildResult(
        event_days=days,
        tables={
            table.name: pd.DataFrame(
                athena.run(select_table_query(table, database=glue.database)).rows
            )
            for table in tables.ANALYTICS_TABLES
            if glue.table_exists(table.name)
        },
        failed_checks=[f for result in (crawl, refreshed) for f in failed_checks(result)],
        dashboard=path,
    )


def refresh_tables(
    event_days: list[str] | None = None, say: Callable[[str], None] = print
) -> BuildResult:
    """Catalog and refresh from what S3 holds now (no new orders): every day rebuilt, or the
    changes of `event_days` refreshed."""
    with pipeline() as pipe:
        return catalog_and_refresh(pipe, say, event_days)


def run_demo(
    orders: int,
    *,
    seed: int = 0,
    start: str | None = None,
    delivery_timeout: float = 300,
    say: Callable[[str], None] = print,
) -> DemoResult:
    """Run every stage once against the stack the environment names; raises DemoFailed."""
    # Unset: the stream ends now, so no order is dated in the future (tomorrow, near midnight).
    start = start or format_timestamp(
        start_ending_by(
            utc_now(),
            orders,
            seed=seed,
            orders_per_second=DEFAULT_ORDERS_PER_SECOND,
            mix=ChangeMix(),
        )
    )
    with pipeline() as pipe:
        data_lake = pipe.live.data_lake
        # Objects already there count as seen with no records: only this run's are awaited.
        seen = {
            obj["Key"]: 0
            for prefix in (data_lake.raw_prefix, data_lake.error_prefix)
            for obj in data_lake.list_objects(prefix)
        }
        say(f"generating {orders} orders (seed {seed}, start {start})")
        config = {"count": orders, "seed": seed, "start": start}
        generated = pipe.run(
            GENERATION,
            stage="generation",
            config={"ops": {"generated_orders": {"config": config}}},
        )
        metadata = generated.asset_materializations_for_node("generated_orders")[0].metadata
        written = metadata["dagster/row_count"].value
        say(f"wrote {written} changes; waiting for Firehose delivery")
        delivered = wait_for_delivery(data_lake, written, seen, timeout_seconds=delivery_timeout)
        say(f"delivered {delivered} records; cataloging")
        build = catalog_and_refresh(pipe, say)
    return DemoResult(
        seed=seed, start=start, changes_written=written, records_delivered=delivered, build=build
    )
