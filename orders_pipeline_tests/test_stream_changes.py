"""Which writes put a record on a table's DynamoDB stream, and what AWS puts in the record.

AWS writes one record per item a request changes, and none for a write that changes nothing
(developerguide/Streams.html); the fields are those of GetRecords (APIReference
API_streams_Record.html, API_streams_StreamRecord.html) as the Lambda tutorial shows a real one
(developerguide/Streams.Lambda.Tutorial.html).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from orders_pipeline_tests.conftest import TEST_CLIENT_CONFIG

# Not the local stack's us-east-1: a record must name its own table's region.
REGION = "eu-west-1"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
KEY = {"orderid": {"S": "o-1"}}


@pytest.fixture(scope="module")
def client(moto_endpoint: str) -> Callable[[str], Any]:
    def make(service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=moto_endpoint,
            region_name=REGION,
            config=TEST_CLIENT_CONFIG,
            **CREDENTIALS,
        )

    return make


def _new_table(client: Callable[[str], Any]) -> dict[str, Any]:
    """A fresh table of the pipeline's shape (key `orderid`, new and old images)."""
    return client("dynamodb").create_table(
        TableName=f"stream-changes-{uuid.uuid4().hex[:8]}",
        KeySchema=[{"AttributeName": "orderid", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "orderid", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]


@pytest.fixture
def table(client: Callable[[str], Any]) -> dict[str, Any]:
    return _new_table(client)


def _iterator(client: Callable[[str], Any], table: dict[str, Any], position: str) -> str:
    streams, arn = client("dynamodbstreams"), table["LatestStreamArn"]
    shard = streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"][0]
    return streams.get_shard_iterator(
        StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType=position
    )["ShardIterator"]


def _records(client: Callable[[str], Any], table: dict[str, Any]) -> list[dict[str, Any]]:
    """Every record on the table's stream, as GetRecords sends them (JSON, before boto3)."""
    streams = client("dynamodbstreams")
    bodies: list[bytes] = []
    streams.meta.events.register(
        "before-parse.dynamodb-streams.GetRecords",
        lambda response_dict, **_: bodies.append(response_dict["body"]),
    )
    streams.get_records(ShardIterator=_iterator(client, table, "TRIM_HORIZON"))
    return json.loads(bodies[0])["Records"]


def _changes(records: list[dict[str, Any]]) -> list[tuple[str, str | None, str | None]]:
    """(eventName, orderid, status of the new image) per record."""
    found = []
    for record in records:
        new = record["dynamodb"].get("NewImage")
        status = new.get("status", {}).get("S") if new else None
        found.append((record["eventName"], record["dynamodb"]["Keys"]["orderid"]["S"], status))
    return found


def _put(dynamodb: Any, table: dict[str, Any], orderid: str, status: str) -> None:
    dynamodb.put_item(
        TableName=table["TableName"],
        Item={"orderid": {"S": orderid}, "status": {"S": status}, "total": {"N": "12.5"}},
    )


def _set_status(orderid: str, status: str) -> dict[str, Any]:
    return {
        "Key": {"orderid": {"S": orderid}},
        "UpdateExpression": "SET #s = :s, #t = :t",
        "ExpressionAttributeNames": {"#s": "status", "#t": "total"},
        "ExpressionAttributeValues": {":s": {"S": status}, ":t": {"N": "12.5"}},
    }


# -- one record per change, none without one ----------------------------------------------------


def test_update_item_that_creates_an_item_sends_one_insert_with_the_whole_new_item(
    client: Callable[[str], Any], table: dict[str, Any]
) -> None:
    client("dynamodb").update_item(TableName=table["TableName"], **_set_status("o-1", "PLACED"))

    (record,) = _records(client, table)

    assert record["eventName"] == "INSERT"
    assert record["dynamodb"]["NewImage"] == {
        **KEY,
        "status": {"S": "PLACED"},
        "total": {"N": "12.5"},
    }
    assert "OldImage" not in record["dynamodb"]


def test_put_item_of_the_item_already_stored_sends_no_record(
    client: Callable[[str], Any], table: dict[str, Any]
) -> None:
    dynamodb = client("dynamodb")
    _put(dynamodb, table, "o-1", "PLACED")
    _put(dynamodb, table, "o-1", "PLACED")

    assert _changes(_records(client, table)) == [("INSERT", "o-1", "PLACED")]


def test_update_item_that_sets_the_values_already_stored_sends_no_record(
    client: Callable[[str], Any], table: dict[str, Any]
) -> None:
    dynamodb = client("dynamodb")
    _put(dynamodb, table, "o-1", "PLACED")
    dynamodb.update_item(TableName=table["TableName"], **_set_status("o-1", "PLACED"))

    assert _changes(_records(client, table)) == [("INSERT", "o-1", "PLACED")]


def test_a_number_or_set_written_in_another_form_is_no_change(
    client: Callable[[str], Any], table: dict[str, Any]
) -> None:
    dynamodb = client("dynamodb")
    item = {**KEY, "total": {"N": "12.5"}, "tags": {"SS": ["gift", "fragile"]}}
    same = {**KEY, "total": {"N": "12.50"}, "tags": {"SS": ["fragile", "gift"]}}
    dynamodb.put_item(TableName=table["TableName"], Item=item)
    dynamodb.put_item(TableName=table["TableName"], Item=same)

    assert [r["eventName"] for r in _records(client, table)] == ["INSERT"]


def test_a_nested_number_changed_beyond_a_floats_precision_is_a_change(
    client: Callable[[str], Any], table: dict[str, Any]
) -> None:
    dynamodb = client("dynamodb")
    digits = "0.1234567890123456789012345678901234"
    item = {**KEY, "lines": {"L": [{"M": {"price": {"N": digits}}}]}}
    changed = {**KEY, "lines": {"L": [{"M": {"price": {"N": digits[:-1] + "5"}}}]}}
    dynamodb.put_item(TableName=table["TableName"], Item=item)
    dynamodb.put_item(TableName=table["TableName"], Item=changed)

    assert [r["eventName"] for r in _records(client, table)] == ["INSERT", "MODIFY"]


def test_delete_item_of_a_missing_key_sends_no_record(
    client: Callable[[str], Any], table: dict[str, Any]
) -> None:
    client("dynamodb").delete_item(TableName=table["TableName"], Key=KEY)

    assert _records(client, table) == []


def test_batch_write_item_sends_one_record_per_item_it_changes(
    client: Callable[[str], Any], table: dict[str, Any]
) -> None:
    dynamodb = client("dynamodb")
    _put(dynamodb, table, "kept", "PLACED")
    _put(dynamodb, table, "deleted", "PLACED")
    unchanged = {"orderid": {"S": "kept"}, "status": {"S": "PLACED"}, "total": {"N": "12.5"}}

    dynamodb.batch_write_item(
        RequestItems={
            table["TableName"]: [
                {"PutRequest": {"Item": {"orderid": {"S": "new"}, "status": {"S": "PLACED"}}}},
                {"PutRequest": {"Item": unchanged}},
                {"DeleteRequest": {"Key": {"orderid": {"S": "deleted"}}}},
                {"DeleteRequest": {"Key": {"orderid": {"S": "never-written"}}}},
            ]
        }
    )

    assert _changes(_records(client, table))[2:] == [
        ("INSERT", "new", "PLACED"),
        ("REMOVE", "deleted", None),
    ]


def test_transact_write_items_sends_one_record_per_item_it_changes(
    client: Callable[[str], Any], table: dict[str, Any]
) -> None:
    dynamodb, name = client("dynamodb"), table["TableName"]
    for orderid in ("checked", "updated", "deleted"):
        _put(dynamodb, table, orderid, "PLACED")
    put = {"orderid": {"S": "put"}, "status": {"S": "PAID"}}

    dynamodb.transact_write_items(
        TransactItems=[
            {"Put": {"TableName": name, "Item": put}},
            {"Update": {"TableName": name, **_set_status("created", "PLACED")}},
            {"Update": {"TableName": name, **_set_status("updated", "SHIPPED")}},
            {"Delete": {"TableName": name, "Key": {"orderid": {"S": "deleted"}}}},
            {
                "ConditionCheck": {
                    "TableName": name,
                    "Key": {"orderid": {"S": "checked"}},
                    "ConditionExpression": "attribute_exists(orderid)",
                }
            },
        ]
    )

    assert sorted(_changes(_records(client, table))[3:], key=lambda c: c[:2]) == [
        ("INSERT", "created", "PLACED"),
        ("INSERT", "put", "PAID"),
        ("MODIFY", "updated", "SHIPPED"),
        ("REMOVE", "deleted", None),
    ]


def _cancelled_transaction(dynamodb: Any, table: dict[str, Any]) -> None:
    """A Put that would succeed, then an Update whose condition fails: AWS cancels both."""
    name = table["TableName"]
    with pytest.raises(ClientError, match="TransactionCanceledException"):
        dynamodb.transact_write_items(
            TransactItems=[
                {"Put": {"TableName": name, "Item": {"orderid": {"S": "o-2"}}}},
                {
                    "Update": {
                        "TableName": name,
                        **_set_status("o-1", "PAID"),
                        "ConditionExpression": "#s = :shipped",
                        "ExpressionAttributeValues": {
                            ":s": {"S": "PAID"},
                            ":t": {"N": "12.5"},
                            ":shipped": {"S": "SHIPPED"},
                        },
                    }
                },
            ]
        )


def test_a_cancelled_transaction_sends_no_record(
    client: Callable[[str], Any], table: dict[str, Any]
) -> None:
    dynamodb = client("dynamodb")
    _put(dynamodb, table, "o-1", "PLACED")

    _cancelled_transaction(dynamodb, table)

    assert _changes(_records(client, table)) == [("INSERT", "o-1", "PLACED")]


def test_the_stream_goes_on_after_a_cancelled_transaction(
    client: Callable[[str], Any], table: dict[str, Any]
) -> None:
    dynamodb, streams = client("dynamodb"), client("dynamodbstreams")
    _put(dynamodb, table, "o-1", "PLACED")
    reader = _iterator(client, table, "LATEST")

    _cancelled_transaction(dynamodb, table)
    _put(dynamodb, table, "o-3", "PLACED")

    records = _records(client, table)
    assert _changes(records) == [("INSERT", "o-1", "PLACED"), ("INSERT", "o-3", "PLACED")]
    numbers = [int(r["dynamodb"]["SequenceNumber"]) for r in records]
    assert numbers[0] < numbers[1]
    read = streams.get_records(ShardIterator=reader)["Records"]
    assert [r["dynamodb"]["Keys"]["orderid"]["S"] for r in read] == ["o-3"]


def test_a_stream_logged_on_disk_is_read_whole_after_a_cancelled_transaction(
    aws_client: Callable[[str], Any],
) -> None:
    dynamodb, table = aws_client("dynamodb"), _new_table(aws_client)
    _put(dynamodb, table, "o-1", "PLACED")

    _cancelled_transaction(dynamodb, table)
    _put(dynamodb, table, "o-3", "PLACED")

    assert _changes(_records(aws_client, table)) == [
        ("INSERT", "o-1", "PLACED"),
        ("INSERT", "o-3", "PLACED"),
    ]


# -- the fields of a record ---------------------------------------------------------------------


def test_a_record_names_the_region_of_its_table(
    client: Callable[[str], Any], table: dict[str, Any]
) -> None:
    _put(client("dynamodb"), table, "o-1", "PLACED")

    (record,) = _records(client, table)

    assert record["awsRegion"] == REGION


def test_a_record_has_event_version_1_1(
    client: Callable[[str], Any], table: dict[str, Any]
) -> None:
    _put(client("dynamodb"), table, "o-1", "PLACED")

    (record,) = _records(client, table)

    assert (record["eventSource"], record["eventVersion"]) == ("aws:dynamodb", "1.1")


def test_approximate_creation_time_is_in_whole_epoch_seconds_rounded_down(
    client: Callable[[str], Any], table: dict[str, Any]
) -> None:
    before = time.time()
    _put(client("dynamodb"), table, "o-1", "PLACED")
    after = time.time()

    (record,) = _records(client, table)

    created = record["dynamodb"]["ApproximateCreationDateTime"]
    assert isinstance(created, int)
    assert int(before) <= created <= after


def test_sequence_numbers_are_increasing_strings_of_21_to_40_digits(
    client: Callable[[str], Any], table: dict[str, Any]
) -> None:
    dynamodb = client("dynamodb")
    for status in ("PLACED", "PAID", "SHIPPED"):
        _put(dynamodb, table, "o-1", status)

    numbers = [r["dynamodb"]["SequenceNumber"] for r in _records(client, table)]

    assert all(re.fullmatch(r"\d{21,40}", number) for number in numbers)
    assert [int(n) for n in numbers] == sorted({int(n) for n in numbers})
