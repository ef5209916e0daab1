"""Replaying the whole Kinesis stream delivers every change twice, and changes no table."""

import pandas as pd
import pytest
from dagster_aws.s3 import S3Resource

from orders_pipeline import tables as registry
from orders_pipeline.defs.resources import DataLakeResource, environment_from_outputs
from orders_pipeline.demo import refresh_tables, run_demo, wait_for_delivery
from orders_pipeline_tests.isolated_stack import deploy_isolated_stack, read_table

ANALYTICS_TABLES = [t.name for t in registry.ANALYTICS_TABLES]
pytestmark = pytest.mark.slow


def replay_stream(kinesis, stream: str) -> int:
    """Read every record of every shard from the start and put it back: a full re-delivery."""
    records = []
    for shard in kinesis.list_shards(StreamName=stream)["Shards"]:
        iterator = kinesis.get_shard_iterator(
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = kinesis.get_records(ShardIterator=iterator, Limit=1000)
            records += [
                {"Data": r["Data"], "PartitionKey": r["PartitionKey"]} for r in page["Records"]
            ]
            if not page["Records"] and page.get("MillisBehindLatest", 0) == 0:
                break
            iterator = page.get("NextShardIterator")
    for start in range(0, len(records), 500):
        kinesis.put_records(StreamName=stream, Records=records[start : start + 500])
    return len(records)


def canonical(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows in a fixed order, so two reads of one table compare equal."""
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


@pytest.fixture(scope="module")
def replayed(local_stack, aws_client):
    _, outputs = deploy_isolated_stack("replay")
    with pytest.MonkeyPatch.context() as env:
        for name, value in environment_from_outputs(outputs).items():
            env.setenv(name, value)
        before = run_demo(300, seed=11, say=lambda _: None)
        lake = DataLakeResource(
            s3=S3Resource(region_name=local_stack.region, max_attempts=2),
            bucket=outputs["DataBucketName"],
        )
        seen = {obj["Key"]: 0 for obj in lake.list_objects(lake.raw_prefix)}
        replayed = replay_stream(aws_client("kinesis"), outputs["KinesisStreamName"])
        redelivered = wait_for_delivery(lake, replayed, seen, timeout_seconds=120)
        # The replayed changes land on their own event days: the incremental refresh of those.
        after = refresh_tables(before.build.event_days, say=lambda _: None)
    return before, replayed, redelivered, after, outputs


def test_the_replay_re_delivers_every_change(replayed):
    before, replayed_records, redelivered, _, outputs = replayed
    assert replayed_records == before.changes_written
    assert redelivered == before.changes_written
    # The raw table really holds every change twice, so the aggregates had duplicates to drop.
    assert len(read_table(outputs, "orders_raw")) == 2 * before.changes_written


@pytest.mark.parametrize("table", ANALYTICS_TABLES)
def test_the_replay_leaves_the_table_unchanged(replayed, table):
    before, _, _, after, _ = replayed
    assert not before.build.tables[table].empty
    pd.testing.assert_frame_equal(
        canonical(after.tables[table]), canonical(before.build.tables[table])
    )


def test_every_check_still_passes_after_the_replay(replayed):
    before, _, _, after, _ = replayed
    assert before.build.failed_checks == []
    assert after.failed_checks == []
