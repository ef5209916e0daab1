"""`orders-pipeline generate`: write a seeded stream of mock order changes to the orders table."""

from __future__ import annotations

import os
import random
import sys
from datetime import UTC, datetime
from pathlib import Path

import boto3
import click
from tqdm import tqdm

from orders_pipeline.aws import client_config as aws_client_config
from orders_pipeline.commands.errors import reports_aws_errors
from orders_pipeline.dynamodb_writer import WriteSummary, write_changes
from orders_pipeline.orders.catalogue import DEFAULT_CATALOGUE, load_catalogue
from orders_pipeline.orders.changes import ChangeMix, EventType, OrderChange, generate_changes
from orders_pipeline.orders.model import InvalidOrderError

DEFAULT_TABLE = "OrdersRawTable"
_PROBABILITY = click.FloatRange(0.0, 1.0)
_POSITIVE = click.FloatRange(min=0.0, min_open=True)
_DEFAULT_MIX = ChangeMix()


def _summary_lines(table: str, seed: int, summary: WriteSummary) -> list[str]:
    lines = [
        f"table     {table}",
        f"seed      {seed}",
        f"written   {summary.written} changes",
    ]
    lines += [f"  {event:<7} {summary.by_event_type[event]}" for event in EventType]
    lines += [
        f"elapsed   {summary.elapsed:.2f} s",
        f"rate      {summary.rate:.1f} changes/s, {summary.order_rate:.1f} orders/s",
    ]
    return lines


@click.command()
@click.option("--count", type=click.IntRange(min=1), help="Number of new orders to place.")
@click.option(
    "--duration",
    type=_POSITIVE,
    help="Stop after this many seconds (alone: place new orders until then).",
)
@click.option(
    "--rate",
    type=_POSITIVE,
    help="New orders per second, also the simulated clock's pace.  [default: as fast as possible]",
)
@click.option("--seed", type=int, help="Random seed; the summary prints the one used.")
@click.option(
    "--start",
    type=click.DateTime(["%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"]),
    help="Start of the simulated clock, UTC (same seed + start = same stream).  [default: now]",
)
@click.option(
    "--table",
    envvar="ORDERS_TABLE_NAME",
    default=DEFAULT_TABLE,
    show_default=True,
    help="DynamoDB table (env ORDERS_TABLE_NAME).",
)
@click.option("--region", help="AWS region.  [default: from the AWS configuration]")
@click.option(
    "--cancel-rate",
    type=_PROBABILITY,
    default=_DEFAULT_MIX.cancel_rate,
    show_default=True,
    help="Chance an order is cancelled at each of PLACED and PAID.",
)
@click.option(
    "--return-rate",
    type=_PROBABILITY,
    default=_DEFAULT_MIX.return_rate,
    show_default=True,
    help="Chance a delivered order is returned.",
)
@click.option(
    "--delete-rate",
    type=_PROBABILITY,
    default=_DEFAULT_MIX.delete_rate,
    show_default=True,
    help="Chance a finished order is later deleted.",
)
@click.option(
    "--discount-rate",
    type=_PROBABILITY,
    default=_DEFAULT_MIX.discount_rate,
    show_default=True,
    help="Chance a new order carries a discount.",
)
@click.option(
    "--catalogue",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="CSV of products (product_id,product_name,category,price).  [default: built-in]",
)
@click.option(
    "--finish/--no-finish",
    default=True,
    show_default=True,
    help="After the last new order, keep writing until every order's lifecycle is complete.",
)
@click.option("--no-progress", is_flag=True, help="Hide the progress bar.")
@reports_aws_errors
def generate(
    count: int | None,
    duration: float | None,
    rate: float | None,
    seed: int | None,
    start: datetime | None,
    table: str,
    region: str | None,
    cancel_rate: float,
    return_rate: float,
    delete_rate: float,
    discount_rate: float,
    catalogue: Path | None,
    finish: bool,
    no_progress: bool,
) -> None:
    """Write mock orders and their later changes (INSERT/MODIFY/REMOVE) to DynamoDB.

    Orders move PLACED -> PAID -> SHIPPED -> DELIVERED, with cancellations and returns, on a
    simulated clock. Talks to real AWS, or to whatever AWS_ENDPOINT_URL names.
    """
    if count is None and duration is None:
        raise click.UsageError("give --count (new orders) or --duration (seconds), or both")
    if seed is None:
        seed = random.SystemRandom().randrange(2**32)
    try:
        mix = ChangeMix(
            cancel_rate=cancel_rate,
            return_rate=return_rate,
            delete_rate=delete_rate,
            discount_rate=discount_rate,
        )
        products = load_catalogue(catalogue) if catalogue else DEFAULT_CATALOGUE
    except InvalidOrderError as error:
        raise click.BadParameter(str(error)) from None
    try:
        session = boto3.session.Session(region_name=region)
        dynamodb = session.resource("dynamodb", config=aws_client_config())
    except ValueError as error:  # botocore's "Invalid endpoint: ..." for a malformed URL
        raise click.ClickException(
            f"{error} (AWS_ENDPOINT_URL={os.environ.get('AWS_ENDPOINT_URL')})"
        ) from None
    # Fail before any output if the table is missing or the endpoint unreachable.
    dynamodb.Table(table).load()

    changes = generate_changes(
        count,
        seed=seed,
        start=start.replace(tzinfo=UTC) if start else None,
        orders_per_second=rate or 10.0,
        mix=mix,
        catalogue=products,
        finish_lifecycles=finish,
    )
    with tqdm(
        desc="orders", unit=" changes", file=sys.stderr, disable=no_progress, dynamic_ncols=True
    ) as bar:
        orders = 0

        def advance(change: OrderChange) -> None:
            nonlocal orders
            orders += change.event_type is EventType.INSERT
            bar.update()
            bar.set_postfix(orders=orders, refresh=False)

        summary = write_changes(
            table,
            changes,
            rate=rate,
            duration=duration,
            progress=advance,
            dynamodb_resource=dynamodb,
        )
    click.echo("\n".join(_summary_lines(table, seed, summary)))
