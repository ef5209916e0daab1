"""DynamoDB Streams and Kinesis records on the local stack: what moto sends, read faster, in UTC."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

from orders_pipeline.local_stack import patching

VIEW_TYPES = ["NEW_AND_OLD_IMAGES", "NEW_IMAGE", "OLD_IMAGE", "KEYS_ONLY"]
EVERY_TYPE = {
    "s": {"S": 'text with "quotes", ünïcode and a \\ backslash'},
    "n": {"N": "12.50"},
    "b": {"B": b"\x00\xffbytes"},
    "ss": {"SS": ["a", "b"]},
    "ns": {"NS": ["1", "2.5"]},
    "bs": {"BS": [b"\x01", b"\x02"]},
    "bool": {"BOOL": True},
    "null": {"NULL": True},
    "list": {"L": [{"S": "x"}, {"N": "1"}, {"M": {"deep": {"B": b"\x03"}}}]},
    "map": {"M": {"price": {"N": "9.99"}, "tags": {"SS": ["t"]}}},
}


def _table(aws_client: Callable[[str], Any], view_type: str, range_key: bool = False) -> dict:
    schema = [{"AttributeName": "orderid", "KeyType": "HASH"}]
    attributes = [{"AttributeName": "orderid", "AttributeType": "S"}]
    if range_key:
        schema.append({"AttributeName": "version", "KeyType": "RANGE"})
        attributes.append({"AttributeName": "version", "AttributeType": "N"})
    return aws_client("dynamodb").create_table(
        TableName=f"stream-records-{uuid.uuid4().hex[:8]}",
        KeySchema=schema,
        AttributeDefinitions=attributes,
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": view_type},
    )["TableDescription"]


def _write_history(dynamodb: Any, table: str, key: dict[str, Any]) -> None:
    """An INSERT, a MODIFY by put, a MODIFY by update and a REMOVE of one item."""
    dynamodb.put_item(TableName=table, Item={**key, **EVERY_TYPE})
    dynamodb.put_item(TableName=table, Item={**key, "n": {"N": "13"}})
    dynamodb.update_item(
        TableName=table,
        Key=key,
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "SHIPPED"}},
    )
    dynamodb.delete_item(TableName=table, Key=key)


def _iterator(streams: Any, stream_arn: str, position: str = "TRIM_HORIZON") -> str:
    shard = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0]
    return streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard["ShardId"], ShardIteratorType=position
    )["ShardIterator"]


def _read_all(streams: Any, stream_arn: str) -> list[dict[str, Any]]:
    return streams.get_records(ShardIterator=_iterator(streams, stream_arn))["Records"]


@pytest.mark.parametrize("view_type", VIEW_TYPES)
def test_get_records_sends_what_motos_serializer_sends(
    aws_client: Callable[[str], Any], monkeypatch: pytest.MonkeyPatch, view_type: str
) -> None:
    dynamodb, streams = aws_client("dynamodb"), aws_client("dynamodbstreams")
    table = _table(aws_client, view_type, range_key=True)
    _write_history(dynamodb, table["TableName"], {"orderid": {"S": "o-1"}, "version": {"N": "3"}})

    ours = _read_all(streams, table["LatestStreamArn"])
    with monkeypatch.context() as patch:
        patch.setattr(
            DynamoDBStreamsHandler,
            "get_records",
            patching.moto_original(DynamoDBStreamsHandler, "get_records"),
        )
        motos = _read_all(streams, table["LatestStreamArn"])

    assert [r["eventName"] for r in ours] == ["INSERT", "MODIFY", "MODIFY", "REMOVE"]
    assert ours == motos


def test_images_keep_every_attribute_type(aws_client: Callable[[str], Any]) -> None:
    dynamodb, streams = aws_client("dynamodb"), aws_client("dynamodbstreams")
    table = _table(aws_client, "NEW_AND_OLD_IMAGES")
    _write_history(dynamodb, table["TableName"], {"orderid": {"S": "o-1"}})

    insert, put, update, remove = _read_all(streams, table["LatestStreamArn"])

    assert insert["dynamodb"]["NewImage"] == {"orderid": {"S": "o-1"}, **EVERY_TYPE}
    assert "OldImage" not in insert["dynamodb"]
    assert put["dynamodb"]["OldImage"] == insert["dynamodb"]["NewImage"]
    assert update["dynamodb"]["NewImage"]["status"] == {"S": "SHIPPED"}
    assert update["dynamodb"]["OldImage"] == put["dynamodb"]["NewImage"]
    assert remove["dynamodb"]["Keys"] == {"orderid": {"S": "o-1"}}
    assert "NewImage" not in remove["dynamodb"]


def test_size_bytes_is_the_records_json_length_and_the_same_on_every_read(
    aws_client: Callable[[str], Any],
) -> None:
    dynamodb, streams = aws_client("dynamodb"), aws_client("dynamodbstreams")
    bodies: list[bytes] = []
    streams.meta.events.register(
        "before-parse.dynamodb-streams.GetRecords",
        lambda response_dict, **_: bodies.append(response_dict["body"]),
    )
    table = _table(aws_client, "NEW_AND_OLD_IMAGES")
    dynamodb.put_item(TableName=table["TableName"], Item={"orderid": {"S": "small"}})
    dynamodb.put_item(TableName=table["TableName"], Item={"orderid": {"S": "big"}, **EVERY_TYPE})

    _read_all(streams, table["LatestStreamArn"])
    _read_all(streams, table["LatestStreamArn"])

    first, again = ([r["dynamodb"] for r in json.loads(body)["Records"]] for body in bodies)
    assert first == again
    for sent in first:
        rest = {name: value for name, value in sent.items() if name != "SizeBytes"}
        assert sent["SizeBytes"] == len(
            json.dumps(rest, separators=(",", ":"), ensure_ascii=False).encode()
        )
    assert first[1]["SizeBytes"] > first[0]["SizeBytes"]


def test_get_records_pages_by_limit_and_an_empty_read_keeps_its_place(
    aws_client: Callable[[str], Any],
) -> None:
    dynamodb, streams = aws_client("dynamodb"), aws_client("dynamodbstreams")
    table = _table(aws_client, "KEYS_ONLY")
    for i in range(5):
        dynamodb.put_item(TableName=table["TableName"], Item={"orderid": {"S": f"o-{i}"}})
    iterator = _iterator(streams, table["LatestStreamArn"])

    pages = []
    for _ in range(3):
        page = streams.get_records(ShardIterator=iterator, Limit=2)
        pages.append([r["dynamodb"]["Keys"]["orderid"]["S"] for r in page["Records"]])
        iterator = page["NextShardIterator"]
    empty = streams.get_records(ShardIterator=iterator)
    dynamodb.put_item(TableName=table["TableName"], Item={"orderid": {"S": "later"}})
    later = streams.get_records(ShardIterator=empty["NextShardIterator"])["Records"]

    assert pages == [["o-0", "o-1"], ["o-2", "o-3"], ["o-4"]]
    assert empty["Records"] == []
    assert [r["dynamodb"]["Keys"]["orderid"]["S"] for r in later] == ["later"]


def test_latest_iterator_reads_only_what_is_written_after_it(
    aws_client: Callable[[str], Any],
) -> None:
    dynamodb, streams = aws_client("dynamodb"), aws_client("dynamodbstreams")
    table = _table(aws_client, "NEW_IMAGE")
    dynamodb.put_item(TableName=table["TableName"], Item={"orderid": {"S": "before"}})
    iterator = _iterator(streams, table["LatestStreamArn"], "LATEST")
    dynamodb.put_item(
        TableName=table["TableName"], Item={"orderid": {"S": "after"}, "n": {"N": "1.5"}}
    )

    records = streams.get_records(ShardIterator=iterator)["Records"]

    assert [r["dynamodb"]["NewImage"] for r in records] == [
        {"orderid": {"S": "after"}, "n": {"N": "1.5"}}
    ]
    assert Decimal(records[0]["dynamodb"]["NewImage"]["n"]["N"]) == Decimal("1.5")


@pytest.fixture
def berlin_time(monkeypatch: pytest.MonkeyPatch):
    """The process's local time zone is UTC+1/+2, as on a laptop in Berlin."""
    monkeypatch.setenv("TZ", "Europe/Berlin")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_creation_time_is_utc_on_a_machine_in_another_time_zone(
    aws_client: Callable[[str], Any], berlin_time: None
) -> None:
    dynamodb, streams = aws_client("dynamodb"), aws_client("dynamodbstreams")
    table = _table(aws_client, "KEYS_ONLY")
    dynamodb.put_item(TableName=table["TableName"], Item={"orderid": {"S": "o-1"}})

    (record,) = _read_all(streams, table["LatestStreamArn"])

    created = record["dynamodb"]["ApproximateCreationDateTime"]
    assert abs((created - datetime.now(UTC)).total_seconds()) < 60


def test_kinesis_arrival_time_is_utc_on_a_machine_in_another_time_zone(
    aws_client: Callable[[str], Any], berlin_time: None
) -> None:
    kinesis, stream = aws_client("kinesis"), f"arrival-{uuid.uuid4().hex[:8]}"
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=stream)
    shard = kinesis.put_record(StreamName=stream, Data=b"x", PartitionKey="k")["ShardId"]
    iterator = kinesis.get_shard_iterator(
        StreamName=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]

    (record,) = kinesis.get_records(ShardIterator=iterator)["Records"]

    arrived = record["ApproximateArrivalTimestamp"]
    assert abs((arrived - datetime.now(UTC)).total_seconds()) < 60
