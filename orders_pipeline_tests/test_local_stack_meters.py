"""The local stack's meters count what AWS would bill, in AWS's units and with its rounding and
minimums; they survive a restart, and `local status` prices the running total."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from click.testing import CliRunner

from orders_pipeline.cli import main
from orders_pipeline.local_stack.metering import units
from orders_pipeline.local_stack.metering.meters import Meters
from orders_pipeline.local_stack.server import free_port
from orders_pipeline.local_stack.stack import LocalStack
from orders_pipeline_tests.owned_lake import OwnedLake, change
from orders_pipeline_tests.polling import wait_for

KB = 1024


@contextmanager
def billed(stack: LocalStack) -> Iterator[dict[str, float]]:
    """The meters' growth while the block runs (the workers' polling of other streams aside)."""
    before = stack.meters.counts()
    grown: dict[str, float] = {}
    yield grown
    after = stack.meters.counts()
    grown.update({k: v - before.get(k, 0.0) for k, v in after.items() if v != before.get(k)})


@pytest.fixture
def table(aws_client) -> str:
    name = f"meters-{uuid.uuid4().hex[:8]}"
    aws_client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "orderid", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "orderid", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def item(orderid: str, note_bytes: int) -> dict:
    return {"orderid": {"S": orderid}, "note": {"S": "x" * note_bytes}}


# --- the units, as AWS documents them -------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "size"),
    [
        ({"S": "héllo"}, 6),
        ({"N": "123.450"}, 4),  # 5 significant digits: 3 bytes, plus 1
        ({"BOOL": True}, 1),
        ({"NULL": True}, 1),
        ({"B": base64.b64encode(b"abcd").decode()}, 4),
        ({"L": [{"S": "ab"}, {"N": "1"}]}, 3 + 2 + 2),
        ({"M": {"k": {"S": "ab"}}}, 3 + 1 + 2),
        ({"SS": ["a", "bc"]}, 3),
    ],
)
def test_a_value_is_sized_as_dynamodb_sizes_it(value, size):
    assert units.value_size(value) == size


def test_athena_bills_at_least_10_mb_and_rounds_up_to_the_megabyte():
    assert units.athena_billed_bytes(0) == 10 * units.MB
    assert units.athena_billed_bytes(11 * units.MB + 1) == 12 * units.MB


# --- what the stack meters -------------------------------------------------------------------


def test_a_write_bills_a_unit_per_kb_of_the_larger_item_before_or_after(
    local_stack, aws_client, table
):
    dynamodb = aws_client("dynamodb")
    with billed(local_stack) as put:
        dynamodb.put_item(TableName=table, Item=item("o1", 3 * KB))  # a little over 3 KB
    with billed(local_stack) as shrink:
        dynamodb.put_item(TableName=table, Item=item("o1", 100))
    with billed(local_stack) as delete:
        dynamodb.delete_item(TableName=table, Key={"orderid": {"S": "o1"}})
    assert put["dynamodb.write_request_units"] == 4
    assert shrink["dynamodb.write_request_units"] == 4  # the item before was the larger
    assert delete["dynamodb.write_request_units"] == 1


def test_a_stack_started_and_stopped_inside_leaves_the_outer_stacks_meters_counting(
    local_stack, aws_client, table
):
    inner = LocalStack(port=free_port(), poll_interval=0.1)
    inner.start(workers=False)
    inner.stop()
    with billed(local_stack) as put:
        aws_client("dynamodb").put_item(TableName=table, Item=item("o9", 100))
    assert put["dynamodb.write_request_units"] == 1


def test_a_transactional_write_bills_twice(local_stack, aws_client, table):
    with billed(local_stack) as grown:
        aws_client("dynamodb").transact_write_items(
            TransactItems=[{"Put": {"TableName": table, "Item": item("o2", 100)}}]
        )
    assert grown["dynamodb.write_request_units"] == 2


def test_a_read_bills_per_4_kb_and_half_when_eventually_consistent(local_stack, aws_client, table):
    dynamodb = aws_client("dynamodb")
    dynamodb.put_item(TableName=table, Item=item("o3", 5 * KB))
    key = {"orderid": {"S": "o3"}}
    with billed(local_stack) as eventual:
        dynamodb.get_item(TableName=table, Key=key)
    with billed(local_stack) as strong:
        dynamodb.get_item(TableName=table, Key=key, ConsistentRead=True)
    assert eventual["dynamodb.read_request_units"] == 1.0  # two 4 KB blocks, halved
    assert strong["dynamodb.read_request_units"] == 2.0


def test_s3_bills_puts_and_lists_as_tier_1_gets_as_tier_2_and_deletes_not_at_all(
    local_stack, aws_client
):
    s3, bucket = aws_client("s3"), f"meters-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    with billed(local_stack) as put:
        s3.put_object(Bucket=bucket, Key="a", Body=b"x")
    with billed(local_stack) as get:
        s3.get_object(Bucket=bucket, Key="a")["Body"].read()
    with billed(local_stack) as listing:
        s3.list_objects_v2(Bucket=bucket, Prefix="a")
    with billed(local_stack) as delete:
        s3.delete_object(Bucket=bucket, Key="a")
    assert put.get("s3.tier1_requests") == 1 and "s3.tier2_requests" not in put
    assert get.get("s3.tier2_requests") == 1 and "s3.tier1_requests" not in get
    assert listing.get("s3.tier1_requests") == 1
    assert "s3.tier1_requests" not in delete and "s3.tier2_requests" not in delete


def test_kinesis_bills_a_put_payload_unit_per_25_kb_of_each_record(local_stack, aws_client):
    kinesis, stream = aws_client("kinesis"), f"meters-{uuid.uuid4().hex[:8]}"
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    records = [{"Data": b"x" * (30 * KB), "PartitionKey": "k"}, {"Data": b"y", "PartitionKey": "k"}]
    with billed(local_stack) as grown:
        kinesis.put_records(StreamName=stream, Records=records)
    assert grown["kinesis.put_payload_units"] == 3


def test_an_athena_query_bills_at_least_10_mb_and_ddl_nothing(local_stack, aws_client):
    lake = OwnedLake(local_stack, aws_client, "meters")
    with billed(local_stack) as query:
        lake.athena.run("SELECT 1 AS one")
    with billed(local_stack) as ddl:
        lake.athena.run(f"CREATE VIEW {lake.database}.v AS SELECT 1 AS one")
    assert query["athena.bytes_scanned_billed"] == 10 * units.MB
    assert query["athena.queries"] == 1
    assert "athena.bytes_scanned_billed" not in ddl


def test_a_crawl_bills_its_10_minute_minimum_and_the_catalog_its_requests(local_stack, aws_client):
    lake = OwnedLake(local_stack, aws_client, "meters")
    with billed(local_stack) as crawl:
        lake.deliver([change("o1", "e1", "1", "2025-03-01T10:00:00Z")])
    with billed(local_stack) as lookup:
        aws_client("glue").get_table(DatabaseName=lake.database, Name="orders_raw")
    assert crawl["glue.crawler_dpu_seconds"] == 600 * 2
    assert lookup["glue.catalog_requests"] == 1


def test_the_pipeline_bills_firehose_by_5_kb_records_and_lambda_by_invocation(
    local_stack, deployed_stack, aws_client
):
    dynamodb = aws_client("dynamodb")
    before = local_stack.meters.counts()
    dynamodb.put_item(
        TableName=deployed_stack["OrdersTableName"],
        Item={"orderid": {"S": f"m-{uuid.uuid4().hex[:8]}"}, "status": {"S": "PLACED"}},
    )

    def grown(meter: str) -> float:
        return local_stack.meters.counts().get(meter, 0.0) - before.get(meter, 0.0)

    wait_for(lambda: grown("firehose.dynamic_partitioning_objects") >= 1, 60, "a delivery")
    # one small record: ingested as 5 KB
    assert grown("firehose.ingested_gb") * units.GB == pytest.approx(5 * KB)
    assert grown("lambda.requests") >= 1 and grown("lambda.gb_seconds") > 0
    assert grown("kinesis.put_payload_units") >= 1  # the Pipe's write to the stream
    assert grown("pipes.requests") >= 1


def test_status_calls_are_not_billed(local_stack):
    # Storage billed up to now: status() samples it when a period has passed, which is time
    # billed, not its calls.
    local_stack._sampling.sample(force=True)
    with billed(local_stack) as grown:
        local_stack.status()
    assert not {k for k in grown if k.startswith(("s3.", "glue.", "dynamodb."))}


def test_storage_and_shards_are_billed_by_the_hour(local_stack):
    local_stack._sampling.sample(force=True)
    with billed(local_stack) as grown:
        local_stack._sampling.sample(local_stack._sampling._last[0] + 3600, force=True)
    assert grown["kinesis.shard_hours"] >= 1  # the deployed stream's shard, for an hour
    assert grown["s3.storage_gb_hours"] > 0


def test_meters_survive_a_restart_and_count_only_the_time_run(tmp_path):
    meters = Meters(tmp_path / "meters.json")
    meters.add("s3.tier1_requests", 3)
    meters.count_orders(10)
    meters.save()
    again = Meters(tmp_path / "meters.json")
    assert again.counts() == {"s3.tier1_requests": 3.0}
    document = again.document()
    assert 0 < document["now"] - document["started"] < 60
    assert document["orders_per_day"] > 0


def test_an_unreadable_meters_file_is_a_clear_error(tmp_path):
    (tmp_path / "meters.json").write_text("{not json")
    with pytest.raises(ValueError, match="meters file .*meters.json is unreadable"):
        Meters(tmp_path / "meters.json")


def test_local_status_prints_the_running_total(local_stack):
    status = ["local", "status", "--endpoint-url", local_stack.endpoint_url]
    result = CliRunner().invoke(main, status)
    as_json = CliRunner().invoke(main, [*status, "--json"])
    assert result.exit_code == 0, result.output
    assert "metered: $" in result.output and "/day at this rate" in result.output
    assert set(json.loads(as_json.output)["meters"]) >= {"started", "now", "meters"}


def test_local_reset_wipes_the_meters_with_the_state(tmp_path):
    meters = Meters(tmp_path / "aws" / "meters.json")
    meters.add("s3.tier1_requests", 5)
    meters.save()
    result = CliRunner().invoke(main, ["local", "reset", "--state-dir", str(tmp_path), "--yes"])
    assert result.exit_code == 0, result.output
    assert Meters(tmp_path / "aws" / "meters.json").counts() == {}


def test_meters_reset_to_nothing_and_a_fresh_clock():
    meters = Meters()
    meters.add("s3.tier1_requests", 5)
    meters.reset()
    assert meters.counts() == {} and meters.running_seconds() < 5


def test_the_cost_command_prices_the_running_stacks_meters(local_stack, aws_client):
    s3, bucket = aws_client("s3"), f"meters-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="a", Body=b"x")
    command = ["cost", "--endpoint-url", local_stack.endpoint_url, "--json"]
    result = CliRunner().invoke(main, command)
    assert result.exit_code == 0, result.output
    printed = json.loads(result.output)
    assert printed["usd"] > 0
    assert "s3" in {s["service"] for s in printed["services"] if s["usd"] > 0}
