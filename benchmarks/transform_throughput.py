"""Throughput of the Firehose transform on one 20,000-record invocation of generated order changes.
Run from the repository root: `PYTHONPATH=. .venv/bin/python benchmarks/transform_throughput.py`.
"""

from __future__ import annotations

import argparse
import base64
import json
import statistics
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from boto3.dynamodb.types import TypeSerializer

from orders_pipeline.lambdas.firehose_transform import RESPONSE_LIMIT_BYTES, transform_records
from orders_pipeline.orders import ChangeMix, EventType, LifecycleTiming, generate_changes

STREAM_ARN = "arn:aws:dynamodb:us-east-1:123456789012:table/OrdersRawTable/stream/2024-06-10"
START = datetime(2024, 6, 10, 8, 0, tzinfo=UTC)
# Finished orders are deleted sooner than the generator's default so that REMOVEs, which
# a 20,000-change window of the default stream barely reaches, are about 5% of the mix.
TIMING = LifecycleTiming(finished=120.0)


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


def firehose_invocation(records: list[dict[str, Any]]) -> dict[str, Any]:
    arrival = int(START.timestamp() * 1000)
    return {
        "invocationId": "benchmark",
        "deliveryStreamArn": "arn:aws:firehose:us-east-1:123456789012:deliverystream/bench",
        "sourceKinesisStreamArn": "arn:aws:kinesis:us-east-1:123456789012:stream/bench",
        "region": "us-east-1",
        "records": [
            {
                "recordId": f"{index:056d}",
                "approximateArrivalTimestamp": arrival,
                "data": base64.b64encode(json.dumps(record).encode("utf-8")).decode("ascii"),
                "kinesisRecordMetadata": {
                    "shardId": "shardId-000000000000",
                    "partitionKey": record["dynamodb"]["Keys"]["orderid"]["S"],
                    "approximateArrivalTimestamp": arrival,
                    "sequenceNumber": str(index),
                    "subsequenceNumber": "",
                },
            }
            for index, record in enumerate(records)
        ],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000, help="records in the invocation")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of the transform")
    parser.add_argument("--seed", type=int, default=7, help="seed of the order generator")
    parser.add_argument(
        "--delete-rate",
        type=float,
        default=0.5,
        help="share of finished orders later deleted (the generator's default is 0.02)",
    )
    args = parser.parse_args()

    records = stream_records(args.records, args.seed, args.delete_rate)
    event = firehose_invocation(records)
    request_bytes = len(json.dumps(event))
    mix = Counter(record["eventName"] for record in records)
    print(
        f"invocation: {len(records):,} records "
        f"({', '.join(f'{name} {mix[name]:,}' for name in ('INSERT', 'MODIFY', 'REMOVE'))}), "
        f"{request_bytes / 1e6:.1f} MB request"
    )
    if request_bytes > RESPONSE_LIMIT_BYTES:
        print(
            "note: real Firehose never sends this much in one invocation (6 MB Lambda limit, "
            "3 MB buffer); the response budget is lifted so every record is transformed"
        )

    seconds = []
    for _ in range(args.runs):
        began = time.perf_counter()
        response = transform_records(event, response_limit_bytes=sys.maxsize)
        seconds.append(time.perf_counter() - began)
    results = Counter(entry["result"] for entry in response["records"])
    if results["Ok"] != len(records):
        print(f"error: expected every record Ok, got {dict(results)}", file=sys.stderr)
        return 1

    median, best = statistics.median(seconds), min(seconds)
    print(f"runs: {args.runs}, median {median:.3f} s, best {best:.3f} s")
    print(
        f"throughput (median): {len(records) / median:,.0f} records/s, "
        f"{request_bytes / 1e6 / median:.1f} MB/s of request"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
