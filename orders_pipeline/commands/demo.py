"""`orders-pipeline demo`: the pipeline once, headless: generate, deliver, crawl, build, check."""

import functools
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import click
import dagster as dg
import pandas as pd

from orders_pipeline.commands.errors import aws_errors
from orders_pipeline.defs.analytics.partitions import require_daily_partitions
from orders_pipeline.defs.analytics.schedules import RANGE_END_TAG, RANGE_START_TAG
from orders_pipeline.defs.analytics.sql_templates import (
    AGGREGATE_TABLES,
    creation_days_query,
    select_table_query,
)
from orders_pipeline.defs.generation.assets import DEFAULT_ORDERS_PER_SECOND
from orders_pipeline.defs.generation.clock import start_ending_by, utc_now
from orders_pipeline.defs.resources import (
    STACK_NAME_ENV_VAR,
    DataLakeResource,
    build_resources,
    environment_from_outputs,
)
from orders_pipeline.deploy import DEFAULT_STACK_NAME, DeployError, stack_outputs
from orders_pipeline.orders import ChangeMix
from orders_pipeline.orders.model import format_timestamp

GENERATION_STAGE = dg.AssetSelection.assets("generated_orders")
CRAWL_STAGE = dg.AssetSelection.assets("raw_order_events", "orders_raw")
# Tables partitioned by event date (plus orders_current); the rest go by order-creation date,
# and so does anything another domain builds on top of them.
EVENT_STAGE = dg.AssetSelection.assets("order_events", "orders_current", "hourly_cdc_activity")
DAILY_STAGE = CRAWL_STAGE.downstream(include_self=False) - EVENT_STAGE
QUIET_LOGS = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
# Tables printed at the end; the others are shown by their row counts.
PRINTED_TABLES = ("daily_sales", "daily_status_funnel", "hourly_cdc_activity")


class DemoFailed(RuntimeError):
    """A stage of the demo failed; the message is the one-line reason."""


@dataclass
class BuildResult:
    """What a crawl-and-build pass produced: the event days, every table, failed checks."""

    event_days: list[str]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    failed_checks: list[str] = field(default_factory=list)


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


def _failed_checks(result: dg.ExecuteInProcessResult) -> list[str]:
    failures = []
    for evaluation in result.get_asset_check_evaluations():
        if not evaluation.passed:
            key = evaluation.asset_check_key
            detail = evaluation.description or dict(evaluation.metadata)
            failures.append(f"{key.asset_key.to_user_string()}:{key.name}: {detail}")
    return failures


def _day_range(days: list[str], what: str, now: datetime | None = None) -> dict[str, str]:
    """Run tags that make one run cover the daily partitions from the first to the last day.

    The days come from the data, so each is checked to be a partition first (DemoFailed if not).
    """
    try:
        require_daily_partitions(days, what, now=now)
    except ValueError as error:
        raise DemoFailed(str(error)) from None
    return {RANGE_START_TAG: min(days), RANGE_END_TAG: max(days)}


def _failure_reason(failure: Any) -> str:
    """One line: a Failure's description, else the innermost error (the user code's own)."""
    if failure.user_failure_data is not None and failure.user_failure_data.description:
        return failure.user_failure_data.description
    error = failure.error
    while error.cause is not None:
        error = error.cause
    return " ".join(error.message.split())


def _run(
    definitions: dg.Definitions,
    selection: dg.AssetSelection,
    *,
    instance: dg.DagsterInstance,
    stage: str,
    run_config: dict | None = None,
    tags: dict[str, str] | None = None,
) -> dg.ExecuteInProcessResult:
    job = definitions.resolve_implicit_global_asset_job_def()
    result = job.execute_in_process(
        instance=instance,
        asset_selection=list(selection.resolve(job.asset_layer.asset_graph)),
        raise_on_error=False,
        # The demo prints its own progress; Dagster's event log stays out of the way.
        run_config={**(run_config or {}), **QUIET_LOGS},
        tags=tags,
    )
    if not result.success:
        failures = [
            _failure_reason(event.step_failure_data)
            for event in result.all_events
            if event.is_step_failure
        ]
        raise DemoFailed(f"{stage} failed: {failures[0] if failures else 'see the run log'}")
    return result


@dataclass
class _Pipeline:
    """The loaded definitions, their resources usable outside runs, and one Dagster instance."""

    definitions: dg.Definitions
    live: Any
    instance: dg.DagsterInstance


@contextmanager
def _pipeline() -> Iterator[_Pipeline]:
    # Loaded here, after the caller has set the environment that names the resources.
    from orders_pipeline.definitions import defs as load_definitions

    definitions = load_definitions()
    resources = {key: definitions.resources[key] for key in build_resources()}
    with (
        dg.build_resources(resources) as live,  # EnvVars resolved, for use outside runs
        dg.DagsterInstance.ephemeral() as instance,
    ):
        yield _Pipeline(definitions, live, instance)


def _crawl_and_build(pipeline: _Pipeline, say: Callable[[str], None]) -> BuildResult:
    """Crawl, then build every table and run every check for all the days in the data."""
    glue, athena = pipeline.live.glue, pipeline.live.athena
    run = functools.partial(_run, pipeline.definitions, instance=pipeline.instance)
    crawl = run(CRAWL_STAGE, stage="crawl")
    event_days = glue.partition_values(glue.raw_table)
    if not event_days:
        raise DemoFailed(f"the crawler found no partitions in {glue.database}.{glue.raw_table}")
    say(f"building event tables for {event_days[0]} .. {event_days[-1]}")
    events = run(EVENT_STAGE, stage="event tables", tags=_day_range(event_days, "event day"))
    creation_days = [
        row["dt"] for row in athena.run(creation_days_query(database=glue.database)).rows
    ]
    say(f"building daily tables for {creation_days[0]} .. {creation_days[-1]}")
    daily = run(
        DAILY_STAGE, stage="daily tables", tags=_day_range(creation_days, "order-creation day")
    )
    return BuildResult(
        event_days=event_days,
        tables={
            table: pd.DataFrame(athena.run(select_table_query(table, database=glue.database)).rows)
            for table in AGGREGATE_TABLES
        },
        failed_checks=[f for result in (crawl, events, daily) for f in _failed_checks(result)],
    )


def rebuild_tables(say: Callable[[str], None] = click.echo) -> BuildResult:
    """Crawl and rebuild every table from what S3 holds now (no new orders)."""
    with _pipeline() as pipeline:
        return _crawl_and_build(pipeline, say)


def run_demo(
    orders: int,
    *,
    seed: int = 0,
    start: str | None = None,
    delivery_timeout: float = 300,
    say: Callable[[str], None] = click.echo,
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
    with _pipeline() as pipeline:
        data_lake = pipeline.live.data_lake
        # Objects already there count as seen with no records: only this run's are awaited.
        seen = {
            obj["Key"]: 0
            for prefix in (data_lake.raw_prefix, data_lake.error_prefix)
            for obj in data_lake.list_objects(prefix)
        }
        say(f"generating {orders} orders (seed {seed}, start {start})")
        config = {"count": orders, "seed": seed, "start": start}
        generated = _run(
            pipeline.definitions,
            GENERATION_STAGE,
            instance=pipeline.instance,
            stage="generation",
            run_config={"ops": {"generated_orders": {"config": config}}},
        )
        metadata = generated.asset_materializations_for_node("generated_orders")[0].metadata
        written = metadata["dagster/row_count"].value
        say(f"wrote {written} changes; waiting for Firehose delivery")
        delivered = wait_for_delivery(data_lake, written, seen, timeout_seconds=delivery_timeout)
        say(f"delivered {delivered} records; crawling")
        build = _crawl_and_build(pipeline, say)
    return DemoResult(
        seed=seed,
        start=start,
        changes_written=written,
        records_delivered=delivered,
        build=build,
    )


@contextmanager
def _local_stack(say: Callable[[str], None]) -> Iterator[dict[str, str]]:
    """An in-process LocalStack on a free port with the pipeline stack deployed; its Outputs."""
    from orders_pipeline.deploy import deploy_stack
    from orders_pipeline.local_stack.server import free_port
    from orders_pipeline.local_stack.stack import LOCAL_DEPLOY_PARAMETERS, LocalStack

    with tempfile.TemporaryDirectory(prefix="orders-demo-") as state_dir:
        stack = LocalStack(port=free_port(), state_dir=state_dir, poll_interval=0.2)
        stack.start()
        saved = dict(os.environ)
        os.environ.update(stack.env())
        try:
            say(f"local stack on {stack.endpoint_url}; deploying")
            yield deploy_stack(parameters=dict(LOCAL_DEPLOY_PARAMETERS))
        finally:
            stack.stop()
            os.environ.clear()
            os.environ.update(saved)


@click.command()
@click.option(
    "--orders",
    type=click.IntRange(min=1),
    default=2000,
    show_default=True,
    help="New orders to generate (their later changes follow).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Generator seed.")
@click.option(
    "--start",
    help=(
        "Simulated clock origin, ISO 8601 UTC (e.g. 2025-01-31T09:00:00Z); default: early "
        "enough that the last change is now."
    ),
)
@click.option(
    "--local/--no-local",
    default=False,
    show_default=True,
    help="Start an in-process local stack on a free port and deploy to it first.",
)
@click.option(
    "--stack-name",
    default=DEFAULT_STACK_NAME,
    show_default=True,
    help="CloudFormation stack whose Outputs name the resources (without --local).",
)
@click.option(
    "--delivery-timeout",
    type=click.FloatRange(min=1),
    default=300.0,
    show_default=True,
    help="Seconds to wait for Firehose to deliver every change.",
)
def demo(
    orders: int,
    seed: int,
    start: str | None,
    local: bool,
    stack_name: str,
    delivery_timeout: float,
) -> None:
    """Run the pipeline once: generate orders, wait for delivery, crawl, build every table and
    check, then print the aggregates. Exits non-zero with the reason if any check fails."""
    with ExitStack() as stack, aws_errors():
        if local:
            outputs = stack.enter_context(_local_stack(click.echo))
        else:
            try:
                outputs = stack_outputs(os.environ.get(STACK_NAME_ENV_VAR, stack_name))
            except DeployError as error:
                raise click.ClickException(str(error)) from None
        stack.enter_context(_environment(environment_from_outputs(outputs)))
        try:
            result = run_demo(orders, seed=seed, start=start, delivery_timeout=delivery_timeout)
        except DemoFailed as error:
            raise click.ClickException(str(error)) from None
    for table in AGGREGATE_TABLES:
        frame = result.build.tables[table]
        click.echo(f"\n{table}: {len(frame)} rows")
        if table in PRINTED_TABLES and not frame.empty:
            click.echo(frame.to_string(index=False))
    failed = result.build.failed_checks
    if failed:
        raise click.ClickException(f"{len(failed)} checks failed: " + "; ".join(failed))
    click.echo(f"\nall checks passed ({result.changes_written} changes, seed {result.seed})")


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the block (resources read their names from them)."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
