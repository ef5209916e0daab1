"""Restarting the Pipes and Firehose workers loses no change (replays may duplicate): the
checkpoint store they resume from, and a restart mid-stream on the deployed pipeline."""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from orders_pipeline.dynamodb_writer import write_changes
from orders_pipeline.local_stack.workers.checkpoints import CheckpointStore
from orders_pipeline.orders import generate_changes
from orders_pipeline_tests.polling import wait_for

ORDERS = 150


def test_file_checkpoints_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "state" / "checkpoints.json"
    store = CheckpointStore(path)
    store.put_many({"pipe/p/shard-1": "110", "firehose/f/shard-0": "7"})
    store.flush(force=True)

    assert CheckpointStore(path).items() == {"pipe/p/shard-1": "110", "firehose/f/shard-0": "7"}
    assert [p.name for p in path.parent.iterdir()] == ["checkpoints.json"]  # no temp file left


def test_coalesced_writes_reach_the_file_on_flush(tmp_path: Path) -> None:
    path = tmp_path / "checkpoints.json"
    store = CheckpointStore(path, write_interval=3600)
    store.put("pipe/p/shard-1", "1")  # the first write goes through at once
    store.put("pipe/p/shard-1", "2")
    assert CheckpointStore(path).get("pipe/p/shard-1") == "1"

    store.flush(force=True)
    assert CheckpointStore(path).get("pipe/p/shard-1") == "2"


def test_positions_of_a_recreated_source_are_forgotten() -> None:
    store = CheckpointStore(None)
    store.bind("pipe/p", "arn:stream/2024-01-01")
    store.put_many({"pipe/p/shard-1": "110", "pipe/q/shard-1": "5"})

    assert store.bind("pipe/p", "arn:stream/2024-01-01") is False
    assert store.bind("pipe/p", "arn:stream/2024-02-02") is True
    assert store.items() == {"pipe/q/shard-1": "5"}


@pytest.mark.parametrize(
    ("content", "complaint"),
    [("{not json", "is not valid JSON"), ('{"checkpoints": {"k": 1}}', "'checkpoints' must map")],
)
def test_unreadable_checkpoint_file_is_named(tmp_path: Path, content: str, complaint: str) -> None:
    path = tmp_path / "checkpoints.json"
    path.write_text(content)
    with pytest.raises(ValueError, match=complaint) as error:
        CheckpointStore(path)
    assert str(path) in str(error.value)


def stream_event_ids(streams: Any, stream_arn: str, orderids: set[str]) -> set[str]:
    """eventIDs of the DynamoDB stream records that changed one of `orderids`."""
    found = set()
    for shard in streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = streams.get_records(ShardIterator=iterator, Limit=1000)
            found |= {
                r["eventID"]
                for r in page["Records"]
                if r["dynamodb"]["Keys"]["orderid"]["S"] in orderids
            }
            if not page["Records"]:
                break
            iterator = page.get("NextShardIterator")
    return found


class DeliveredLines:
    """Reads the delivered JSON lines under a prefix; each object is read once (immutable)."""

    def __init__(self, s3: Any, bucket: str, prefix: str) -> None:
        self.s3, self.bucket, self.prefix = s3, bucket, prefix
        self._lines: dict[str, list[dict[str, Any]]] = {}

    def event_ids(self, orderids: set[str]) -> Counter[str]:
        for page in self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=self.prefix
        ):
            for item in page.get("Contents", []):
                if item["Key"] not in self._lines:
                    body = self.s3.get_object(Bucket=self.bucket, Key=item["Key"])["Body"].read()
                    self._lines[item["Key"]] = [json.loads(line) for line in body.splitlines()]
        return Counter(
            line["event_id"]
            for lines in self._lines.values()
            for line in lines
            if line.get("orderid") in orderids
        )


@pytest.mark.slow
def test_restarting_the_workers_mid_stream_delivers_every_change(
    local_stack: Any, deployed_stack: dict[str, str], aws_client: Callable[[str], Any]
) -> None:
    changes = list(generate_changes(ORDERS, seed=random.randrange(2**32), orders_per_second=50))
    orderids = {change.orderid for change in changes}
    written = Counter[str]()
    writer = threading.Thread(
        target=write_changes,
        args=(deployed_stack["OrdersTableName"], changes),
        kwargs={
            "rate": 100,
            "progress": lambda change: written.update(["changes"]),
            "dynamodb_resource": boto3.resource(
                "dynamodb", endpoint_url=local_stack.endpoint_url, region_name=local_stack.region
            ),
        },
    )
    writer.start()
    try:
        wait_for(lambda: written["changes"] >= len(changes) // 3, 60, "a third of the writes")
        local_stack.stop_workers()
        wait_for(lambda: written["changes"] >= 2 * len(changes) // 3, 60, "two thirds written")
        local_stack.start_workers()
    finally:
        writer.join()

    expected = stream_event_ids(
        aws_client("dynamodbstreams"), deployed_stack["OrdersTableStreamArn"], orderids
    )
    assert len(expected) == len(changes)
    delivered = DeliveredLines(
        aws_client("s3"), deployed_stack["DataBucketName"], deployed_stack["RawDataPrefix"]
    )
    counts = wait_for(
        lambda: (seen := delivered.event_ids(orderids)) and set(seen) >= expected and seen,
        120,
        f"all {len(expected)} changes in S3",
    )
    assert set(counts) == expected
