"""Sensor ticks over a big lake: N objects (default 100,000) already under the raw and error
prefixes (half of older days, half earlier today and the two days before), then one new delivery
per tick. Prints, for the delivery and the error sensor, the S3 LIST calls of a tick and its
seconds (median and max of R ticks), after a first tick without a cursor.

Run from the repository root:
    PYTHONPATH=. .venv/bin/python benchmarks/sensor_tick.py [--objects N] [--ticks R]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import dagster as dg
from botocore.config import Config

from orders_pipeline.defs.ingestion.sensors import (
    REFRESH_SPACING_ENV_VAR,
    firehose_delivery_sensor,
    firehose_error_sensor,
)
from orders_pipeline.defs.resources import (
    DataLakeResource,
    build_resources,
    environment_from_outputs,
)
from orders_pipeline.deploy import deploy_stack
from orders_pipeline.local_stack.server import client_env, free_port
from orders_pipeline.local_stack.stack import LOCAL_DEPLOY_PARAMETERS

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from local_stack_end_to_end import start_stack, stop_stack  # noqa: E402

OLD_DAY = "2024-01-01"


def folder(prefix: str, days_ago: int) -> str:
    day = (datetime.now(UTC) - timedelta(days=days_ago)).date().isoformat()
    return f"{prefix}dt={day}/"


def fill(s3: Any, bucket: str, prefixes: list[str], stream: str, objects: int) -> float:
    """`objects` empty objects named as Firehose names them, an hour old; seconds taken."""
    earlier = datetime.now(UTC) - timedelta(hours=1)

    def key(number: int) -> str:
        prefix = prefixes[number % len(prefixes)]
        where = folder(prefix, number % 3) if number % 2 else f"{prefix}dt={OLD_DAY}/"
        return f"{where}{stream}-1-{earlier:%Y-%m-%d-%H-%M-%S}-{uuid.uuid4()}"

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=16) as pool:
        for done, _ in enumerate(
            pool.map(lambda n: s3.put_object(Bucket=bucket, Key=key(n), Body=b""), range(objects))
        ):
            if done and done % 10_000 == 0:
                print(f"  {done:,} objects written", flush=True)
    return time.monotonic() - started


LIST_CALLS = [0]


def _counting(list_after: Any) -> Any:
    """DataLakeResource.list_after, adding the LIST calls it reports to LIST_CALLS (the sensor
    builds its own resource copies, so a client's event hook would not see them)."""

    def wrapper(self: Any, prefix: str, start_after: str) -> Any:
        objects, calls = list_after(self, prefix, start_after)
        LIST_CALLS[0] += calls
        return objects, calls

    return wrapper


DataLakeResource.list_after = _counting(DataLakeResource.list_after)  # type: ignore[method-assign]


def tick(sensor: Any, resources: dict[str, Any], cursor: str | None) -> tuple[Any, int, float]:
    """One evaluation: its result, the LIST calls it made and its seconds."""
    LIST_CALLS[0] = 0
    started = time.monotonic()
    with (
        dg.DagsterInstance.ephemeral() as instance,
        dg.build_sensor_context(cursor=cursor, resources=resources, instance=instance) as context,
    ):
        result = sensor(context)
    return result, LIST_CALLS[0], time.monotonic() - started


def measure(sensor: Any, resources: dict[str, Any], put_new: Any, ticks: int) -> dict[str, Any]:
    first, first_calls, first_seconds = tick(sensor, resources, None)
    cursor, calls, seconds = first.cursor, [], []
    for _ in range(ticks):
        put_new()
        result, made, took = tick(sensor, resources, cursor)
        cursor = result.cursor or cursor
        calls.append(made)
        seconds.append(took)
    return {
        "first_tick": (first_calls, first_seconds),
        "list_calls": max(calls),
        "median_seconds": statistics.median(seconds),
        "max_seconds": max(seconds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, default=100_000)
    parser.add_argument("--ticks", type=int, default=5)
    args = parser.parse_args()

    port = free_port()
    with tempfile.TemporaryDirectory(prefix="sensor-tick-") as state_dir:
        process = start_stack(port, state_dir)
        try:
            os.environ.update(client_env(f"http://127.0.0.1:{port}", "us-east-1"))
            os.environ[REFRESH_SPACING_ENV_VAR] = "0"
            outputs = deploy_stack(parameters=dict(LOCAL_DEPLOY_PARAMETERS))
            os.environ.update(environment_from_outputs(outputs))
            s3 = boto3.client("s3", config=Config(max_pool_connections=16))
            bucket, stream = outputs["DataBucketName"], outputs["DeliveryStreamName"]
            with dg.build_resources(build_resources()) as live:
                lake = live.data_lake
                errors = f"{lake.error_prefix}processing-failed/"
                print(f"writing {args.objects:,} objects under {lake.raw_prefix} and {errors}")
                took = fill(s3, bucket, [lake.raw_prefix, errors], stream, args.objects)
                print(f"  done in {took:.0f} s")
                resources = {"data_lake": lake, "glue": live.glue, "streams": live.streams}

                def new_object(prefix: str) -> Any:
                    def put() -> None:
                        now = datetime.now(UTC)
                        name = f"{stream}-1-{now:%Y-%m-%d-%H-%M-%S}-{uuid.uuid4()}"
                        s3.put_object(Bucket=bucket, Key=folder(prefix, 0) + name, Body=b"{}\n")

                    return put

                figures = {
                    "firehose_delivery_sensor": measure(
                        firehose_delivery_sensor,
                        resources,
                        new_object(lake.raw_prefix),
                        args.ticks,
                    ),
                    "firehose_error_sensor": measure(
                        firehose_error_sensor,
                        {"data_lake": lake, "streams": live.streams},
                        new_object(errors),
                        args.ticks,
                    ),
                }
        finally:
            stop_stack(process)
    print(f"\n{args.objects:,} objects in the bucket, {args.ticks} ticks each with one new object")
    for name, figure in figures.items():
        first_calls, first_seconds = figure["first_tick"]
        print(
            f"{name}: {figure['list_calls']} LIST calls per tick, "
            f"{figure['median_seconds']:.3f} s median, {figure['max_seconds']:.3f} s max "
            f"(first tick, no cursor: {first_calls} calls, {first_seconds:.3f} s)"
        )


if __name__ == "__main__":
    main()
