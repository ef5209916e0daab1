"""The Pipes worker: DynamoDB stream records reach Kinesis as AWS Pipes puts them."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from orders_pipeline.local_stack.pipes.worker import (
    STREAM_RETENTION_SECONDS,
    dead_letter_message,
    evaluate_jsonpath,
    give_up_condition,
    parse_jsonpath,
    pipe_event,
    pipe_run_from_description,
)
from orders_pipeline_tests.polling import wait_for

ORDER_KEY_PATH = "$.dynamodb.Keys.orderid.S"
STREAM_RECORD_FIELDS = {
    "eventID",
    "eventName",
    "eventVersion",
    "eventSource",
    "awsRegion",
    "dynamodb",
    "eventSourceARN",
}
ROLE_ARN = "arn:aws:iam::123456789012:role/pipe-role"


# -- pure rules ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("$.dynamodb.Keys.orderid.S", ("dynamodb", "Keys", "orderid", "S")),
        ("$.eventID", ("eventID",)),
        ("$.a_b.c-d", ("a_b", "c-d")),
    ],
)
def test_dotted_jsonpath_is_split_into_fields(path: str, fields: tuple[str, ...]) -> None:
    assert parse_jsonpath(path) == fields


@pytest.mark.parametrize("path", ["dynamodb.Keys", "$", "$..orderid", "$.a[0]", "$['a']", "$.a.*"])
def test_other_jsonpath_forms_are_rejected_naming_the_path(path: str) -> None:
    with pytest.raises(ValueError, match="PartitionKey") as error:
        parse_jsonpath(path)
    assert repr(path) in str(error.value)


def test_jsonpath_evaluates_to_the_string_at_the_path() -> None:
    record = {"dynamodb": {"Keys": {"orderid": {"S": "o-1"}}}}
    assert evaluate_jsonpath(parse_jsonpath(ORDER_KEY_PATH), record) == "o-1"


def test_jsonpath_missing_in_record_names_the_path() -> None:
    with pytest.raises(KeyError, match=r"\$\.dynamodb\.Keys\.orderid\.S"):
        evaluate_jsonpath(parse_jsonpath(ORDER_KEY_PATH), {"dynamodb": {"Keys": {}}})


def test_pipe_event_is_the_wire_record_with_its_source_arn_and_whole_seconds() -> None:
    image = {"amount": {"N": "12.30"}, "blob": {"B": "AAE="}}
    record = {
        "eventID": "e1",
        "eventName": "INSERT",
        "dynamodb": {"ApproximateCreationDateTime": 1714566615.25, "NewImage": image},
    }
    event = pipe_event(record, "arn:aws:dynamodb:us-east-1:1:table/t/stream/s")

    assert event == {
        "eventID": "e1",
        "eventName": "INSERT",
        "dynamodb": {"ApproximateCreationDateTime": 1714566615, "NewImage": image},
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:1:table/t/stream/s",
    }


def _description(**overrides: Any) -> dict[str, Any]:
    description = {
        "Name": "p",
        "Source": "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2024-01-01T00:00:00",
        "Target": "arn:aws:kinesis:us-east-1:123456789012:stream/k",
        "SourceParameters": {
            "DynamoDBStreamParameters": {"StartingPosition": "TRIM_HORIZON", "BatchSize": 50}
        },
        "TargetParameters": {"KinesisStreamParameters": {"PartitionKey": ORDER_KEY_PATH}},
    }
    description.update(overrides)
    return description


def test_pipe_description_gives_source_target_batch_and_position() -> None:
    run = pipe_run_from_description(_description())
    assert run is not None
    assert (run.kinesis_stream, run.batch_size, run.starting_position) == ("k", 50, "TRIM_HORIZON")
    assert run.partition_key == ("dynamodb", "Keys", "orderid", "S")


def test_pipe_from_another_kind_of_source_is_not_served() -> None:
    assert pipe_run_from_description(_description(Source="arn:aws:sqs:us-east-1:1:q")) is None


def test_pipe_with_unknown_starting_position_is_rejected_naming_it() -> None:
    params = {"DynamoDBStreamParameters": {"StartingPosition": "AT_TIMESTAMP"}}
    with pytest.raises(ValueError, match="StartingPosition 'AT_TIMESTAMP'"):
        pipe_run_from_description(_description(SourceParameters=params))


def test_pipe_description_gives_retries_bisect_and_dead_letter_queue() -> None:
    params = {
        "DynamoDBStreamParameters": {
            "StartingPosition": "LATEST",
            "MaximumRetryAttempts": 3,
            "MaximumRecordAgeInSeconds": 600,
            "OnPartialBatchItemFailure": "AUTOMATIC_BISECT",
            "DeadLetterConfig": {"Arn": "arn:aws:sqs:us-east-1:123456789012:pipe-dlq"},
        }
    }
    run = pipe_run_from_description(_description(SourceParameters=params))
    assert run is not None
    assert (run.max_retries, run.max_record_age, run.bisect) == (3, 600, True)
    assert run.dead_letter_arn == "arn:aws:sqs:us-east-1:123456789012:pipe-dlq"


def test_pipe_description_defaults_to_aws_unlimited_retries_without_bisect() -> None:
    run = pipe_run_from_description(_description())
    assert run is not None
    assert (run.max_retries, run.max_record_age, run.bisect) == (-1, -1, False)
    assert run.dead_letter_arn is None


@pytest.mark.parametrize(
    ("parameter", "value", "complaint"),
    [
        ("MaximumRetryAttempts", -2, "MaximumRetryAttempts -2"),
        ("MaximumRetryAttempts", "3", "MaximumRetryAttempts '3'"),
        ("MaximumRecordAgeInSeconds", 604_801, "MaximumRecordAgeInSeconds 604801"),
        ("DeadLetterConfig", {"Arn": "arn:aws:s3:::bucket"}, "DeadLetterConfig.Arn"),
    ],
)
def test_pipe_with_invalid_failure_settings_is_rejected_naming_them(
    parameter: str, value: Any, complaint: str
) -> None:
    params = {"DynamoDBStreamParameters": {"StartingPosition": "LATEST", parameter: value}}
    with pytest.raises(ValueError, match=f"pipe p: {complaint}"):
        pipe_run_from_description(_description(SourceParameters=params))


@pytest.mark.parametrize(
    ("retries", "max_retries", "age", "max_age", "verdict"),
    [
        (0, 0, 1.0, -1, "RetryAttemptsExhausted"),  # no retries allowed
        (1, 2, 1.0, -1, None),
        (2, 2, 1.0, -1, "RetryAttemptsExhausted"),
        (10_000, -1, 1.0, -1, None),  # unlimited: retried while the record is in the stream
        (3, -1, STREAM_RETENTION_SECONDS + 1.0, -1, "RecordAgeExceeded"),
        (0, 5, 61.0, 60, "RecordAgeExceeded"),
        (0, -1, 59.0, 60, None),
    ],
)
def test_failing_batch_is_retried_until_its_retries_or_its_age_run_out(
    retries: int, max_retries: int, age: float, max_age: int, verdict: str | None
) -> None:
    assert give_up_condition(retries, max_retries, age, max_age) == verdict


def test_dead_letter_message_describes_the_batch_as_aws_pipes_does() -> None:
    records = [
        {"dynamodb": {"SequenceNumber": "100", "ApproximateCreationDateTime": 1714566615.9}},
        {"dynamodb": {"SequenceNumber": "102", "ApproximateCreationDateTime": 1714566617}},
    ]
    message = dead_letter_message(
        "arn:aws:pipes:us-east-1:123456789012:pipe/p",
        "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/2024-05-01T12:30:00.000",
        "shardId-1",
        records,
        "RetryAttemptsExhausted",
        datetime(2024, 5, 1, 12, 31, 2, 345000, tzinfo=UTC),
    )

    assert message == {
        "context": {
            "partnerResourceArn": "arn:aws:pipes:us-east-1:123456789012:pipe/p",
            "condition": "RetryAttemptsExhausted",
        },
        "version": "1.0",
        "timestamp": "2024-05-01T12:31:02.345Z",
        "DDBStreamBatchInfo": {
            "shardId": "shardId-1",
            "startSequenceNumber": "100",
            "endSequenceNumber": "102",
            "approximateArrivalOfFirstRecord": "2024-05-01T12:30:15Z",
            "approximateArrivalOfLastRecord": "2024-05-01T12:30:17Z",
            "batchSize": 2,
            "streamArn": "arn:aws:dynamodb:us-east-1:123456789012:table/t/stream/"
            "2024-05-01T12:30:00.000",
        },
    }


# -- the worker, through the AWS APIs ------------------------------------------------------


@pytest.fixture
def source_and_target(aws_client: Callable[[str], Any]) -> dict[str, str]:
    """A fresh DynamoDB table with a stream and a one-shard Kinesis stream."""
    suffix = uuid.uuid4().hex[:8]
    dynamodb, kinesis = aws_client("dynamodb"), aws_client("kinesis")
    table = dynamodb.create_table(
        TableName=f"orders-{suffix}",
        KeySchema=[{"AttributeName": "orderid", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "orderid", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]
    kinesis.create_stream(StreamName=f"sales-{suffix}", ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=f"sales-{suffix}")
    stream = kinesis.describe_stream_summary(StreamName=f"sales-{suffix}")
    return {
        "suffix": suffix,
        "table": table["TableName"],
        "stream_arn": table["LatestStreamArn"],
        "kinesis": f"sales-{suffix}",
        "kinesis_arn": stream["StreamDescriptionSummary"]["StreamARN"],
    }


def _create_pipe(
    pipes: Any,
    names: dict[str, str],
    position: str = "TRIM_HORIZON",
    key: str = ORDER_KEY_PATH,
    **source: Any,
) -> str:
    name = f"pipe-{names['suffix']}"
    pipes.create_pipe(
        Name=name,
        RoleArn=ROLE_ARN,
        Source=names["stream_arn"],
        SourceParameters={
            "DynamoDBStreamParameters": {"StartingPosition": position, "BatchSize": 10, **source}
        },
        Target=names["kinesis_arn"],
        TargetParameters={"KinesisStreamParameters": {"PartitionKey": key}},
    )
    return name


def _kinesis_records(kinesis: Any, stream: str) -> list[dict[str, Any]]:
    records = []
    for shard in kinesis.list_shards(StreamName=stream)["Shards"]:
        iterator = kinesis.get_shard_iterator(
            StreamName=stream, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = kinesis.get_records(ShardIterator=iterator, Limit=10000)
            records.extend(page["Records"])
            if not page["Records"]:
                break
            iterator = page.get("NextShardIterator")
    return records


def _wait_for_records(kinesis: Any, stream: str, count: int) -> list[dict[str, Any]]:
    return wait_for(
        lambda: (
            (records := _kinesis_records(kinesis, stream)) and len(records) >= count and records
        ),
        what=f"{count} records in Kinesis stream {stream}",
    )


def _pipe_status(local_stack: Any, name: str) -> dict[str, Any] | None:
    return local_stack.status()["stages"]["pipes"]["pipes"].get(name)


def test_each_change_is_put_in_the_shape_aws_pipes_puts_it(
    local_stack: Any, aws_client: Callable[[str], Any], source_and_target: dict[str, str]
) -> None:
    dynamodb, kinesis = aws_client("dynamodb"), aws_client("kinesis")
    _create_pipe(aws_client("pipes"), source_and_target)
    table = source_and_target["table"]
    dynamodb.put_item(TableName=table, Item={"orderid": {"S": "o-1"}, "amount": {"N": "10.10"}})
    dynamodb.update_item(
        TableName=table,
        Key={"orderid": {"S": "o-1"}},
        UpdateExpression="SET amount = :t",
        ExpressionAttributeValues={":t": {"N": "20.20"}},
    )
    dynamodb.delete_item(TableName=table, Key={"orderid": {"S": "o-1"}})

    records = _wait_for_records(kinesis, source_and_target["kinesis"], 3)
    events = [json.loads(record["Data"]) for record in records]

    assert [e["eventName"] for e in events] == ["INSERT", "MODIFY", "REMOVE"]
    assert all(set(e) == STREAM_RECORD_FIELDS for e in events)
    assert {record["PartitionKey"] for record in records} == {"o-1"}
    assert {e["eventSourceARN"] for e in events} == {source_and_target["stream_arn"]}
    assert events[1]["dynamodb"]["OldImage"]["amount"] == {"N": "10.10"}
    assert events[1]["dynamodb"]["NewImage"]["amount"] == {"N": "20.20"}
    assert isinstance(events[0]["dynamodb"]["ApproximateCreationDateTime"], int)


@pytest.mark.parametrize(
    ("position", "expected"), [("TRIM_HORIZON", {"before", "after"}), ("LATEST", {"after"})]
)
def test_starting_position_decides_whether_earlier_changes_are_sent(
    local_stack: Any,
    aws_client: Callable[[str], Any],
    source_and_target: dict[str, str],
    position: str,
    expected: set[str],
) -> None:
    dynamodb, kinesis = aws_client("dynamodb"), aws_client("kinesis")
    table = source_and_target["table"]
    dynamodb.put_item(TableName=table, Item={"orderid": {"S": "before"}})
    name = _create_pipe(aws_client("pipes"), source_and_target, position=position)
    wait_for(lambda: _pipe_status(local_stack, name), what=f"worker to serve pipe {name}")
    dynamodb.put_item(TableName=table, Item={"orderid": {"S": "after"}})

    _wait_for_records(kinesis, source_and_target["kinesis"], len(expected))
    status = wait_for(
        lambda: (s := _pipe_status(local_stack, name)) and s["lag_ms"] == 0 and s,
        what="the pipe to catch up",
    )
    keys = {r["PartitionKey"] for r in _kinesis_records(kinesis, source_and_target["kinesis"])}
    assert keys == expected
    assert status["records_put"] == len(expected)


def test_stopped_pipe_sends_nothing_and_resumes_where_it_stopped(
    local_stack: Any, aws_client: Callable[[str], Any], source_and_target: dict[str, str]
) -> None:
    dynamodb, kinesis, pipes = aws_client("dynamodb"), aws_client("kinesis"), aws_client("pipes")
    table, stream = source_and_target["table"], source_and_target["kinesis"]
    name = _create_pipe(pipes, source_and_target)
    dynamodb.put_item(TableName=table, Item={"orderid": {"S": "first"}})
    _wait_for_records(kinesis, stream, 1)

    pipes.stop_pipe(Name=name)
    wait_for(lambda: _pipe_status(local_stack, name) is None, what=f"worker to drop pipe {name}")
    dynamodb.put_item(TableName=table, Item={"orderid": {"S": "while-stopped"}})
    time.sleep(10 * local_stack.poll_interval)  # many poll cycles in which nothing may move
    assert len(_kinesis_records(kinesis, stream)) == 1

    pipes.start_pipe(Name=name)
    records = _wait_for_records(kinesis, stream, 2)
    assert [r["PartitionKey"] for r in records] == ["first", "while-stopped"]


CUSTOMER_KEY_PATH = "$.dynamodb.NewImage.customer.S"


@pytest.fixture
def dead_letter_queue(aws_client: Callable[[str], Any]) -> dict[str, str]:
    sqs = aws_client("sqs")
    url = sqs.create_queue(QueueName=f"pipe-dlq-{uuid.uuid4().hex[:8]}")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
    return {"url": url, "arn": arn["QueueArn"]}


def _dead_letters(sqs: Any, url: str, count: int) -> list[dict[str, Any]]:
    """Receive `count` DLQ messages (failing after a deadline), then check no more arrive."""
    messages: list[dict[str, Any]] = []

    def receive() -> bool:
        for message in sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get(
            "Messages", []
        ):
            messages.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return len(messages) >= count

    wait_for(receive, what=f"{count} dead-letter messages")
    assert not sqs.receive_message(QueueUrl=url, WaitTimeSeconds=0).get("Messages")
    return messages


def _write_orders(dynamodb: Any, table: str, customers: list[str | None]) -> None:
    """One INSERT per entry, order ids o-0, o-1, ...; None: an order without a customer."""
    for i, customer in enumerate(customers):
        item = {"orderid": {"S": f"o-{i}"}}
        if customer is not None:
            item["customer"] = {"S": customer}
        dynamodb.put_item(TableName=table, Item=item)


def _stream_sequence_numbers(aws_client: Callable[[str], Any], stream_arn: str) -> list[str]:
    streams = aws_client("dynamodbstreams")
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator, Limit=1000)["Records"]
    return [r["dynamodb"]["SequenceNumber"] for r in records]


@pytest.mark.parametrize(
    ("bisect", "delivered", "dead_lettered"),
    [
        # Bisected down to the one bad record: its neighbours still reach Kinesis, in order.
        (True, ["a", "b", "d", "e"], [2]),
        # Without bisect the whole batch fails and is described in the DLQ.
        (False, [], [0, 1, 2, 3, 4]),
    ],
)
def test_batch_that_keeps_failing_goes_to_the_dead_letter_queue_after_its_retries(
    local_stack: Any,
    aws_client: Callable[[str], Any],
    source_and_target: dict[str, str],
    dead_letter_queue: dict[str, str],
    bisect: bool,
    delivered: list[str],
    dead_lettered: list[int],
) -> None:
    dynamodb, kinesis = aws_client("dynamodb"), aws_client("kinesis")
    _write_orders(dynamodb, source_and_target["table"], ["a", "b", None, "d", "e"])
    sequence_numbers = _stream_sequence_numbers(aws_client, source_and_target["stream_arn"])
    failure_settings: dict[str, Any] = {
        "MaximumRetryAttempts": 2,
        "DeadLetterConfig": {"Arn": dead_letter_queue["arn"]},
    }
    if bisect:
        failure_settings["OnPartialBatchItemFailure"] = "AUTOMATIC_BISECT"
    name = _create_pipe(
        aws_client("pipes"), source_and_target, key=CUSTOMER_KEY_PATH, **failure_settings
    )

    status = wait_for(
        lambda: (
            (s := _pipe_status(local_stack, name)) and s["records_put"] + s["failed"] == 5 and s
        ),
        what="every record put or failed",
    )
    [message] = _dead_letters(aws_client("sqs"), dead_letter_queue["url"], 1)
    keys = [r["PartitionKey"] for r in _kinesis_records(kinesis, source_and_target["kinesis"])]

    assert keys == delivered
    pipe_arn = aws_client("pipes").describe_pipe(Name=name)["Arn"]
    assert message["context"] == {
        "partnerResourceArn": pipe_arn,
        "condition": "RetryAttemptsExhausted",
    }
    info = message["DDBStreamBatchInfo"]
    assert info["startSequenceNumber"] == sequence_numbers[dead_lettered[0]]
    assert info["endSequenceNumber"] == sequence_numbers[dead_lettered[-1]]
    assert info["batchSize"] == len(dead_lettered)
    assert info["streamArn"] == source_and_target["stream_arn"]
    assert (status["failed"], status["dead_lettered"]) == (len(dead_lettered),) * 2
    assert status["records_put"] == len(delivered)
    assert status["retries"] == 2  # the one failing (sub)batch, retried MaximumRetryAttempts
    assert CUSTOMER_KEY_PATH in status["last_error"]


def test_failed_batch_without_a_dead_letter_queue_is_counted_and_named(
    local_stack: Any, aws_client: Callable[[str], Any], source_and_target: dict[str, str]
) -> None:
    name = _create_pipe(
        aws_client("pipes"), source_and_target, key="$.dynamodb.Keys.sku.S", MaximumRetryAttempts=0
    )
    aws_client("dynamodb").put_item(
        TableName=source_and_target["table"], Item={"orderid": {"S": "o-9"}}
    )

    status = wait_for(
        lambda: (s := _pipe_status(local_stack, name)) and s["failed"] == 1 and s,
        what="the record to be counted failed",
    )
    assert "RetryAttemptsExhausted" in status["last_error"]
    assert "$.dynamodb.Keys.sku.S" in status["last_error"]
    assert (status["records_put"], status["dead_lettered"], status["retries"]) == (0, 0, 0)


def test_unlimited_retries_hold_the_batch_until_the_pipe_is_fixed(
    local_stack: Any,
    aws_client: Callable[[str], Any],
    source_and_target: dict[str, str],
    dead_letter_queue: dict[str, str],
) -> None:
    dynamodb, kinesis, pipes = aws_client("dynamodb"), aws_client("kinesis"), aws_client("pipes")
    name = _create_pipe(
        pipes,
        source_and_target,
        key=CUSTOMER_KEY_PATH,
        MaximumRetryAttempts=-1,
        DeadLetterConfig={"Arn": dead_letter_queue["arn"]},
    )
    _write_orders(dynamodb, source_and_target["table"], [None, "b"])

    status = wait_for(
        lambda: (s := _pipe_status(local_stack, name)) and s["retries"] >= 3 and s,
        what="the failing batch to be retried",
    )
    assert (status["failed"], status["records_put"]) == (0, 0)
    assert _kinesis_records(kinesis, source_and_target["kinesis"]) == []

    pipes.update_pipe(
        Name=name,
        RoleArn=ROLE_ARN,
        TargetParameters={"KinesisStreamParameters": {"PartitionKey": ORDER_KEY_PATH}},
    )
    records = _wait_for_records(kinesis, source_and_target["kinesis"], 2)
    assert [r["PartitionKey"] for r in records] == ["o-0", "o-1"]
    assert _pipe_status(local_stack, name)["failed"] == 0
    sqs = aws_client("sqs")
    assert not sqs.receive_message(QueueUrl=dead_letter_queue["url"]).get("Messages")


@pytest.mark.parametrize("earlier_change", [True, False], ids=["shard-with-records", "empty"])
def test_latest_pipe_restarted_sends_what_was_written_while_it_was_down(
    local_stack: Any,
    aws_client: Callable[[str], Any],
    source_and_target: dict[str, str],
    earlier_change: bool,
) -> None:
    dynamodb, kinesis = aws_client("dynamodb"), aws_client("kinesis")
    table = source_and_target["table"]
    if earlier_change:
        dynamodb.put_item(TableName=table, Item={"orderid": {"S": "before"}})
    name = _create_pipe(aws_client("pipes"), source_and_target, position="LATEST")
    wait_for(lambda: _pipe_status(local_stack, name), what=f"worker to serve pipe {name}")

    local_stack.stop_workers()
    try:
        dynamodb.put_item(TableName=table, Item={"orderid": {"S": "while-down"}})
    finally:
        local_stack.start_workers()
    dynamodb.put_item(TableName=table, Item={"orderid": {"S": "after"}})

    records = _wait_for_records(kinesis, source_and_target["kinesis"], 2)
    assert [r["PartitionKey"] for r in records] == ["while-down", "after"]


def test_pipe_with_an_unsupported_partition_key_path_reports_it(
    local_stack: Any, aws_client: Callable[[str], Any], source_and_target: dict[str, str]
) -> None:
    name = _create_pipe(aws_client("pipes"), source_and_target, key="$.dynamodb.Keys[0]")

    status = wait_for(lambda: _pipe_status(local_stack, name), what="the pipe's status")
    assert "'$.dynamodb.Keys[0]'" in status["last_error"]


def test_stream_get_records_returns_typed_records_in_write_order(
    aws_client: Callable[[str], Any], source_and_target: dict[str, str]
) -> None:
    # The local stack answers Streams GetRecords itself (dynamodb/patches.py).
    dynamodb, streams = aws_client("dynamodb"), aws_client("dynamodbstreams")
    for i in range(3):
        dynamodb.put_item(
            TableName=source_and_target["table"],
            Item={"orderid": {"S": f"o-{i}"}, "amount": {"N": "1.10"}, "raw": {"B": b"\x00"}},
        )
    stream_arn = source_and_target["stream_arn"]
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]

    records = streams.get_records(ShardIterator=iterator, Limit=10)["Records"]

    assert [r["dynamodb"]["Keys"]["orderid"]["S"] for r in records] == ["o-0", "o-1", "o-2"]
    image = records[0]["dynamodb"]["NewImage"]
    assert (image["amount"], image["raw"]) == ({"N": "1.10"}, {"B": b"\x00"})
    assert isinstance(records[0]["dynamodb"]["ApproximateCreationDateTime"], datetime)
