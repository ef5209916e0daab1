"""`orders-pipeline demo`: the pipeline once, headless (orders_pipeline/demo.py), and its tables."""

import os
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

import click

from orders_pipeline import tables
from orders_pipeline.commands.errors import aws_errors
from orders_pipeline.defs.resources import STACK_NAME_ENV_VAR, environment_from_outputs
from orders_pipeline.demo import DemoFailed, run_demo
from orders_pipeline.deploy import DEFAULT_STACK_NAME, DeployError, stack_outputs

# Tables printed at the end; the others are shown by their row counts.
PRINTED_TABLES = tuple(t.name for t in tables.DASHBOARD_TABLES)


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
    for name, frame in result.build.tables.items():
        click.echo(f"\n{name}: {len(frame)} rows")
        if name in PRINTED_TABLES and not frame.empty:
            click.echo(frame.to_string(index=False))
    if result.build.dashboard:
        click.echo(f"\ndashboard: {result.build.dashboard}")
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
