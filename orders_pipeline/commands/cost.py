"""`orders-pipeline cost`: the local stack's meters priced at AWS list prices, and $/day.
The numbers come from orders_pipeline.costs; this module only finds the meters and prints.
"""

from __future__ import annotations

import json
from typing import IO, Any

import click

from orders_pipeline.costs.estimate import (
    Meters,
    estimate,
    load_prices,
    parse_meters,
    volume_scale,
)
from orders_pipeline.costs.report import render

POSITIVE = click.FloatRange(min=0, min_open=True)


@click.command()
@click.option(
    "--endpoint-url",
    envvar="AWS_ENDPOINT_URL",
    metavar="URL",
    help="The running local stack to read the meters from "
    "(default: $AWS_ENDPOINT_URL, else http://127.0.0.1:4566).",
)
@click.option(
    "--meters",
    "meters_file",
    type=click.File("r"),
    metavar="FILE",
    help="Read the meters document from FILE instead ('-': stdin); "
    "a saved `orders-pipeline local status --json` works too.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the numbers as JSON.")
@click.option(
    "--orders-per-day",
    type=POSITIVE,
    metavar="N",
    help="Project $/day to this volume: traffic meters scale, time meters stay as observed.",
)
@click.option(
    "--observed-orders-per-day",
    type=POSITIVE,
    metavar="N",
    help="The order rate the meters were taken at (default: the document's orders_per_day).",
)
@click.option(
    "--top",
    type=click.IntRange(min=0),
    default=5,
    show_default=True,
    help="How many of the dearest meters to list.",
)
def cost(
    endpoint_url: str | None,
    meters_file: IO[str] | None,
    as_json: bool,
    orders_per_day: float | None,
    observed_orders_per_day: float | None,
    top: int,
) -> None:
    """What the pipeline would cost on AWS, from the local stack's meters.

    The local stack counts every billable operation as AWS meters it. This prices those
    counts with us-east-1 on-demand list prices (orders_pipeline/costs/prices_us_east_1.yaml,
    free tiers not applied), prints the cost of the window observed by service, and projects
    it to $/day at the observed rate. With --orders-per-day the meters that follow traffic
    (writes, records, bytes) scale to that volume; those that follow time (shard-hours,
    storage, polling, buffer flushes, schedules) stay as observed.

    \b
    Examples:
      orders-pipeline cost
      orders-pipeline cost --orders-per-day 100000 --observed-orders-per-day 7200
      orders-pipeline local status --json > status.json
      orders-pipeline cost --meters status.json --json
    """
    prices = load_prices()
    if meters_file is not None:
        document, source = _read_file(meters_file), f"meters file {meters_file.name}"
    else:
        document, source = _read_stack(endpoint_url)
    try:
        meters = parse_meters(document, prices)
        observed = observed_orders_per_day or meters.orders_per_day
        scale = _scale(meters, orders_per_day, observed)
        result = estimate(meters, prices, scale=scale)
    except ValueError as error:
        raise click.ClickException(f"{error} (read from {source})") from error
    if as_json:
        payload = {
            "source": source,
            **result.to_dict(),
            "orders_per_day": orders_per_day,
            "observed_orders_per_day": observed,
            "prices": {
                "file": prices.source,
                "region": prices.region,
                "date": prices.date,
                "unverified": prices.unverified,
            },
        }
        click.echo(json.dumps(payload, indent=2))
        return
    projection = None
    if orders_per_day is not None:
        projection = (
            f"$/day projected to {orders_per_day:,.0f} orders/day from {observed:,.0f} observed "
            f"(x{scale:.3g}): traffic meters scaled, time meters as observed"
        )
    for line in render(result, prices, source, projection=projection, top=top):
        click.echo(line)


def _scale(meters: Meters, orders_per_day: float | None, observed: float | None) -> float:
    if orders_per_day is None:
        return 1.0
    if observed is None:
        raise click.UsageError(
            "--orders-per-day needs the observed rate: pass --observed-orders-per-day "
            "(the meters document has no orders_per_day)"
        )
    return volume_scale(orders_per_day, observed)


def _read_file(stream: IO[str]) -> Any:
    try:
        document = json.load(stream)
    except json.JSONDecodeError as error:
        raise click.ClickException(f"{stream.name} is not a JSON document: {error}") from error
    # A saved status document carries the meters document under its `meters` key.
    inner = document.get("meters") if isinstance(document, dict) else None
    if isinstance(inner, dict) and "meters" in inner:
        return inner
    return document


def _read_stack(endpoint_url: str | None) -> tuple[Any, str]:
    # Imported here: the local stack's modules load moto (seconds), which --meters never needs.
    from orders_pipeline.commands.local import DEFAULT_ENDPOINT_URL, fetch_status

    endpoint = endpoint_url or DEFAULT_ENDPOINT_URL
    status = fetch_status(endpoint)
    document = status.get("meters") if isinstance(status, dict) else None
    if document is None:
        raise click.ClickException(
            f"the local stack at {endpoint} reports no meters: it predates the metered stack; "
            "restart it with `orders-pipeline local up` (or `make run`)"
        )
    return document, f"local stack {endpoint}"
