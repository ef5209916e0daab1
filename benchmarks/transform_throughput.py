"""Throughput of the Firehose transform against the original project's handler, side by side.
Run from the repository root: `PYTHONPATH=. .venv/bin/python benchmarks/transform_throughput.py`.

Both handlers get the same invocations: 20,000 generated order changes (INSERT, MODIFY and
REMOVE) as the Pipe puts them on Kinesis (compact JSON, non-ASCII text as UTF-8), cut into
Firehose invocations of at most 6 MiB (Lambda's request limit), so the response budget is the
real one. In each run the two take turns on every invocation; the figures are the medians over
the runs (wall clock, and CPU time, which other load on the machine disturbs less). The same
again on the records as json.dumps writes them by default (spaces, \\u escapes), which take
our general path.
"""

from __future__ import annotations

import argparse
import base64
import json
import logging
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from boto3.dynamodb.types import TypeSerializer

from orders_pipeline.lambdas.firehose_transform import RESPONSE_LIMIT_BYTES, lambda_handler
from orders_pipeline.orders import ChangeMix, EventType, LifecycleTiming, generate_changes

STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/OrdersRawTable/stream/2024-06-10"
START = datetime(2024, 6, 10, 8, 0, tzinfo=UTC)
# Finished orders are deleted sooner than the generator's default so that REMOVEs, which
# a 20,000-change window of the default stream barely reaches, are about 5% of the mix.
TIMING = LifecycleTiming(finished=120.0)
Handler = Callable[[dict[str, Any], Any], dict[str, Any]]


def baseline_handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The original project's handler, as described: base64-decode, json.loads, pick four
    NewImage fields, json.dumps a six-field dict, base64-encode. Every REMOVE fails."""
    output = []
    for record in event["records"]:
        try:
            change = json.loads(base64.b64decode(record["data"]))
            image = change["dynamodb"]["NewImage"]
            flat = {
                "orderid": image["orderid"]["S"],
                "product_name": image["product_name"]["S"],
                "quantity": int(image["quantity"]["N"]),
                "price": float(image["price"]["N"]),
                "cdc_event_type": change["eventName"],
                "creation_datetime": datetime.fromtimestamp(
                    change["dynamodb"]["ApproximateCreationDateTime"], UTC
                ).isoformat(),
            }
            data = base64.b64encode((json.dumps(flat) + "\n").encode("utf-8")).decode("utf-8")
            output.append({"recordId": record["recordId"], "result": "Ok", "data": data})
        except (KeyError, TypeError, ValueError):
            output.append(
                {
                    "recordId": record["recordId"],
                    "result": "ProcessingFailed",
                    "data": record["data"],
                }
            )
    return {"records": output}


def stream_records(count: int, seed: int, delete_rate: float) -> list[dict[str, Any]]:
    """`count` DynamoDB stream records, shaped as the Pipe puts them on Kinesis."""
    serializer = TypeSerializer()
    images: dict[str, dict[str, Any]] = {}
    records = []
    mix = ChangeMix(delete_rate=delete_rate)
    changes = generate_changes(None, seed=seed, start=START, mix=mix, timing=TIMING)
    created = START.timestamp()
    for sequence, change in enumerate(islice(changes, count), start=1):
        old_image = images.pop(change.orderid, None)
        dynamodb: dict[str, Any] = {
            "Keys": {"orderid": {"S": change.orderid}},
            "SequenceNumber": f"{sequence:021d}",
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        }
        if change.event_type is not EventType.REMOVE:
            item = change.order.to_item()
            images[change.orderid] = {k: serializer.serialize(v) for k, v in item.items()}
            dynamodb["NewImage"] = images[change.orderid]
            created = change.order.updated_at.timestamp()
        if old_image is not None:
            dynamodb["OldImage"] = old_image
        # A REMOVE carries no order, so it takes the time of the stream's latest change.
        dynamodb["ApproximateCreationDateTime"] = int(created)
        dynamodb["SizeBytes"] = len(json.dumps(dynamodb))
        records.append(
            {
                "eventID": f"{sequence:032x}",
                "eventName": change.event_type.value,
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": "us-east-1",
                "dynamodb": dynamodb,
                "eventSourceARN": STREAM_ARN,
            }
        )
    return records


def pipe_json(record: dict[str, Any]) -> bytes:
    """The record as the Pipe writes it: compact, non-ASCII as UTF-8."""
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def default_json(record: dict[str, Any]) -> bytes:
    """The record as json.dumps writes it by default: spaces after separators, \\u escapes."""
    return json.dumps(record).encode("ascii")


def firehose_invocations(
    records: list[dict[str, Any]], encode: Callable[[dict[str, Any]], bytes]
) -> list[dict[str, Any]]:
    """The records as consecutive Firehose invocations, each at most RESPONSE_LIMIT_BYTES."""
    arrival = int(START.timestamp() * 1000)
    invocations: list[dict[str, Any]] = []
    batch: list[dict[str, Any]] = []
    envelope = len(json.dumps(invocation([], arrival)))
    size = envelope
    for index, record in enumerate(records):
        entry = {
            "recordId": f"{index:056d}",
            "approximateArrivalTimestamp": arrival,
            "data": base64.b64encode(encode(record)).decode("ascii"),
            "kinesisRecordMetadata": {
                "shardId": "shardId-000000000000",
                "partitionKey": record["dynamodb"]["Keys"]["orderid"]["S"],
                "approximateArrivalTimestamp": arrival,
                "sequenceNumber": str(index),
                "subsequenceNumber": "",
            },
        }
        entry_size = len(json.dumps(entry)) + 2
        if batch and size + entry_size > RESPONSE_LIMIT_BYTES:
            invocations.append(invocation(batch, arrival))
            batch, size = [], envelope
        batch.append(entry)
        size += entry_size
    if batch:
        invocations.append(invocation(batch, arrival))
    return invocations


def invocation(records: list[dict[str, Any]], arrival: int) -> dict[str, Any]:
    return {
        "invocationId": f"benchmark-{arrival}-{len(records)}",
        "deliveryStreamArn": "arn:aws:firehose:us-east-1:123456789012:deliverystream/bench",
        "sourceKinesisStreamArn": "arn:aws:kinesis:us-east-1:123456789012:stream/bench",
        "region": "us-east-1",
        "records": records,
    }


def time_handlers(
    handlers: dict[str, Handler], invocations: list[dict[str, Any]], runs: int
) -> dict[str, tuple[list[float], list[float], Counter]]:
    """Per handler: wall and CPU seconds of each run over every invocation, and its results.

    Within a run the handlers take turns on each invocation (which goes first alternates), so
    both see the same moments of whatever else the machine is doing.
    """
    timings = {name: ([0.0] * runs, [0.0] * runs, Counter()) for name in handlers}
    for run in range(runs):
        for index, event in enumerate(invocations):
            names = list(handlers)
            for name in names if (run + index) % 2 == 0 else reversed(names):
                wall, cpu = time.perf_counter(), time.process_time()
                response = handlers[name](event, None)
                timings[name][0][run] += time.perf_counter() - wall
                timings[name][1][run] += time.process_time() - cpu
                sent = [record["recordId"] for record in event["records"]]
                if [entry["recordId"] for entry in response["records"]] != sent:
                    raise SystemExit(f"error: {name} did not answer every recordId once, in order")
                if run == 0:
                    timings[name][2].update(entry["result"] for entry in response["records"])
    return timings


def report(
    label: str, count: int, timings: dict[str, tuple[list[float], list[float], Counter]]
) -> float:
    """Print records/s of each handler and their ratio; return the wall-clock ratio."""
    rates = {}
    for name, (wall, cpu, results) in timings.items():
        rates[name] = count / statistics.median(wall)
        outcome = ", ".join(f"{n:,} {result}" for result, n in sorted(results.items()))
        print(
            f"{label}{name:>8}: {rates[name]:>9,.0f} records/s (median of {len(wall)} run(s); "
            f"{count / statistics.median(cpu):,.0f} per CPU second; {outcome})"
        )
    wall_ratios = [b / o for o, b in zip(timings["ours"][0], timings["baseline"][0], strict=True)]
    cpu_ratio = statistics.median(timings["baseline"][1]) / statistics.median(timings["ours"][1])
    ratio = rates["ours"] / rates["baseline"]
    print(
        f"{label}   ratio: {ratio:.2f}x (ours / baseline, records/s; per CPU second "
        f"{cpu_ratio:.2f}x; runs {min(wall_ratios):.2f}-{max(wall_ratios):.2f}x)"
    )
    return ratio


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000, help="records in the workload")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each handler")
    parser.add_argument("--seed", type=int, default=7, help="seed of the order generator")
    parser.add_argument(
        "--delete-rate",
        type=float,
        default=0.5,
        help="share of finished orders later deleted (the generator's default is 0.02)",
    )
    args = parser.parse_args()
    # Our handler logs one line per invocation; the timing is of the transform, not the logs.
    logging.getLogger("orders_pipeline.lambdas.firehose_transform").setLevel(logging.WARNING)

    records = stream_records(args.records, args.seed, args.delete_rate)
    invocations = firehose_invocations(records, pipe_json)
    request_bytes = sum(len(json.dumps(event)) for event in invocations)
    mix = Counter(record["eventName"] for record in records)
    print(
        f"invocation: {len(records):,} records "
        f"({', '.join(f'{name} {mix[name]:,}' for name in ('INSERT', 'MODIFY', 'REMOVE'))}), "
        f"{request_bytes / 1e6:.1f} MB of request in {len(invocations)} Firehose "
        f"invocation{'s' if len(invocations) > 1 else ''} of at most "
        f"{RESPONSE_LIMIT_BYTES / 2**20:.0f} MiB"
    )

    handlers: dict[str, Handler] = {"baseline": baseline_handler, "ours": lambda_handler}
    timings = time_handlers(handlers, invocations, args.runs)
    if timings["ours"][2]["Ok"] != len(records):
        print(f"error: expected every record Ok, got {dict(timings['ours'][2])}", file=sys.stderr)
        return 1
    if timings["baseline"][2]["ProcessingFailed"] != mix["REMOVE"]:
        print(f"error: the baseline should fail each REMOVE, got {dict(timings['baseline'][2])}")
        return 1
    report("", len(records), timings)

    print("the same records as json.dumps writes them by default (our general path):")
    general = firehose_invocations(records, default_json)
    report("  ", len(records), time_handlers(handlers, general, args.runs))
    return 0


if __name__ == "__main__":
    sys.exit(main())
