"""Specs of the Firehose transform Lambda: DynamoDB stream records in, flat JSON lines out."""

from __future__ import annotations

import base64
import json
import logging
import uuid
from decimal import Decimal
from typing import Any

import boto3
import pytest

from orders_pipeline.lambdas.firehose_transform import (
    flatten_stream_record,
    lambda_handler,
    serialize_flat_record,
    transform_records,
)

CREATED_SECONDS = 1718000000  # 2024-06-10T06:13:20Z
DEFAULT = object()


def order_image(**attributes: dict[str, Any]) -> dict[str, Any]:
    """An order as DynamoDB JSON; keyword arguments replace or add attributes."""
    image = {
        "orderid": {"S": "ord-0001"},
        "product_name": {"S": "Desk Lamp"},
        "quantity": {"N": "2"},
        "price": {"N": "19.990"},
        "customer_id": {"S": "cust-42"},
        "status": {"S": "PLACED"},
    }
    image.update(attributes)
    return image


def stream_record(
    event_name: str = "INSERT",
    *,
    new_image: Any = DEFAULT,
    old_image: Any = DEFAULT,
    created: Any = CREATED_SECONDS,
    sequence_number: Any = "4100000000000000000001",
    event_id: str = "c81e728d9d4c2f636f067f89cc14862c",
) -> dict[str, Any]:
    """What the Pipe puts on Kinesis: one DynamoDB stream record (None leaves a field out)."""
    if new_image is DEFAULT:
        new_image = None if event_name == "REMOVE" else order_image()
    if old_image is DEFAULT:
        old_image = None if event_name == "INSERT" else order_image(status={"S": "OLD"})
    dynamodb: dict[str, Any] = {
        "ApproximateCreationDateTime": created,
        "Keys": {"orderid": {"S": "ord-0001"}},
        "NewImage": new_image,
        "OldImage": old_image,
        "SequenceNumber": sequence_number,
        "SizeBytes": 180,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    return {
        "eventID": event_id,
        "eventName": event_name,
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {key: value for key, value in dynamodb.items() if value is not None},
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:123456789012:table/OrdersRawTable/stream/x",
    }


def b64(payload: dict[str, Any] | list[Any] | bytes | str) -> str:
    if isinstance(payload, dict | list):
        payload = json.dumps(payload, ensure_ascii=False)
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    return base64.b64encode(payload).decode("ascii")


def firehose_event(*datas: str) -> dict[str, Any]:
    """A Firehose invocation from a Kinesis source; each argument is a record's base64 data."""
    return {
        "invocationId": "inv-1",
        "deliveryStreamArn": "arn:aws:firehose:us-east-1:123456789012:deliverystream/x",
        "sourceKinesisStreamArn": "arn:aws:kinesis:us-east-1:123456789012:stream/x",
        "region": "us-east-1",
        "records": [
            {
                "recordId": f"rec-{index:05d}",
                "approximateArrivalTimestamp": 1718000001000,
                "data": data,
                "kinesisRecordMetadata": {
                    "shardId": "shardId-000000000000",
                    "partitionKey": "ord-0001",
                    "approximateArrivalTimestamp": 1718000001000,
                    "sequenceNumber": str(49000 + index),
                    "subsequenceNumber": "",
                },
            }
            for index, data in enumerate(datas)
        ],
    }


def transform_one(record: dict[str, Any]) -> dict[str, Any]:
    (entry,) = lambda_handler(firehose_event(b64(record)), None)["records"]
    return entry


def line_of(entry: dict[str, Any]) -> str:
    return base64.b64decode(entry["data"]).decode("utf-8")


def flat_of(entry: dict[str, Any]) -> dict[str, Any]:
    assert entry["result"] == "Ok", entry
    return json.loads(line_of(entry), parse_float=Decimal)


@pytest.mark.parametrize("event_name", ["INSERT", "MODIFY"])
def test_insert_and_modify_are_flattened_from_the_new_image(event_name: str) -> None:
    flat = flat_of(transform_one(stream_record(event_name)))

    assert flat == {
        "orderid": "ord-0001",
        "product_name": "Desk Lamp",
        "quantity": 2,
        "price": Decimal("19.990"),
        "customer_id": "cust-42",
        "status": "PLACED",
        "cdc_event_type": event_name,
        "event_id": "c81e728d9d4c2f636f067f89cc14862c",
        "sequence_number": "4100000000000000000001",
        "creation_datetime": "2024-06-10T06:13:20.000Z",
        "is_deleted": False,
    }


def test_remove_is_kept_from_the_old_image_and_flagged_deleted() -> None:
    flat = flat_of(transform_one(stream_record("REMOVE")))

    assert (flat["cdc_event_type"], flat["status"], flat["is_deleted"]) == ("REMOVE", "OLD", True)


def test_output_is_one_newline_terminated_json_object() -> None:
    line = line_of(transform_one(stream_record()))

    assert line.endswith("\n") and line.count("\n") == 1
    assert isinstance(json.loads(line), dict)


def test_partition_key_is_not_a_column() -> None:
    entry = transform_one(stream_record())

    assert entry["metadata"] == {"partitionKeys": {"dt": "2024-06-10"}}
    assert "dt" not in flat_of(entry)


@pytest.mark.parametrize(
    ("number_text", "written"),
    [
        ("19.990", "19.990"),
        ("0.10", "0.10"),
        ("-3.50", "-3.50"),
        ("123456789012345678901234567890", "123456789012345678901234567890"),
        ("0.1000000000000000055511151231257827", "0.1000000000000000055511151231257827"),
        ("1e3", "1E+3"),
        (".5", "0.5"),
    ],
)
def test_numbers_keep_their_exact_digits(number_text: str, written: str) -> None:
    line = line_of(transform_one(stream_record(new_image=order_image(price={"N": number_text}))))

    assert f'"price":{written},' in line
    assert Decimal(str(json.loads(line, parse_float=Decimal)["price"])) == Decimal(number_text)


@pytest.mark.parametrize(
    ("attribute", "plain"),
    [
        ({"S": "gift wrap"}, "gift wrap"),
        ({"N": "7"}, 7),
        ({"BOOL": True}, True),
        ({"NULL": True}, None),
        ({"M": {"city": {"S": "Lyon"}, "zip": {"N": "69001"}}}, {"city": "Lyon", "zip": 69001}),
        ({"L": [{"S": "a"}, {"N": "1.50"}]}, ["a", Decimal("1.50")]),
        ({"SS": ["red", "blue"]}, ["red", "blue"]),
        ({"NS": ["1", "2.5"]}, [1, Decimal("2.5")]),
        ({"B": "aGk="}, "aGk="),
        ({"BS": ["aGk=", "eW8="]}, ["aGk=", "eW8="]),
    ],
    ids=lambda value: next(iter(value)) if isinstance(value, dict) else "",
)
def test_dynamodb_types_become_plain_json(attribute: dict[str, Any], plain: Any) -> None:
    flat = flat_of(transform_one(stream_record(new_image=order_image(extra=attribute))))

    assert flat["extra"] == plain


@pytest.mark.parametrize(
    "product_name",
    [
        "Café crème 250 g",
        "ノートパソコン スタンド",
        "Kopfhörer 🎧",
        "Ελληνικό μέλι",
        'Lamp "Deluxe" \\ 2',
    ],
)
def test_unicode_product_names_round_trip(product_name: str) -> None:
    record = stream_record(new_image=order_image(product_name={"S": product_name}))

    assert flat_of(transform_one(record))["product_name"] == product_name


def test_non_ascii_text_is_written_as_utf8_not_escaped() -> None:
    record = stream_record(new_image=order_image(product_name={"S": "Kopfhörer 🎧"}))

    assert '"product_name":"Kopfhörer 🎧"' in line_of(transform_one(record))


@pytest.mark.parametrize(
    ("approximate_creation", "creation_datetime"),
    [
        (1718000000, "2024-06-10T06:13:20.000Z"),
        (1718000000.5, "2024-06-10T06:13:20.500Z"),
        (1718000000.123456, "2024-06-10T06:13:20.123Z"),
        (1718000000123, "2024-06-10T06:13:20.123Z"),
        (1718000000123.0, "2024-06-10T06:13:20.123Z"),
    ],
    ids=["seconds", "fractional-seconds", "microseconds", "milliseconds", "float-milliseconds"],
)
def test_creation_datetime_from_seconds_or_milliseconds(
    approximate_creation: float, creation_datetime: str
) -> None:
    flat = flat_of(transform_one(stream_record(created=approximate_creation)))

    assert flat["creation_datetime"] == creation_datetime


@pytest.mark.parametrize(
    ("approximate_creation", "dt"),
    [(1718063999.999, "2024-06-10"), (1718064000, "2024-06-11"), (1718063999999, "2024-06-10")],
)
def test_partition_date_is_the_utc_event_date(approximate_creation: float, dt: str) -> None:
    entry = transform_one(stream_record(created=approximate_creation))

    assert entry["metadata"]["partitionKeys"]["dt"] == dt


MALFORMED = {
    "not-base64": ("%%% not base64 %%%", "data: not valid base64"),
    "not-json": (b64("order ord-0001 shipped"), "data: not a JSON document"),
    "not-utf8": (b64(b"\x80\x81\x82"), "data: not a JSON document"),
    "json-array": (b64([stream_record()]), "record: expected a JSON object"),
    "insert-without-new-image": (b64(stream_record(new_image=None)), "dynamodb.NewImage"),
    "remove-without-old-image": (b64(stream_record("REMOVE", old_image=None)), "dynamodb.OldImage"),
    "empty-new-image": (b64(stream_record(new_image={})), "dynamodb.NewImage"),
    "unknown-event-name": (b64(stream_record("TRUNCATE")), "eventName: expected INSERT"),
    "missing-sequence-number": (
        b64(stream_record(sequence_number=None)),
        "dynamodb.SequenceNumber",
    ),
    "timestamp-as-text": (
        b64(stream_record(created="2024-06-10")),
        "dynamodb.ApproximateCreationDateTime",
    ),
    "negative-timestamp": (b64(stream_record(created=-5)), "dynamodb.ApproximateCreationDateTime"),
    "number-with-comma": (
        b64(stream_record(new_image=order_image(price={"N": "19,99"}))),
        "dynamodb.NewImage.price: N value '19,99'",
    ),
    "number-nan": (
        b64(stream_record(new_image=order_image(price={"N": "NaN"}))),
        "dynamodb.NewImage.price: N value 'NaN'",
    ),
    "unknown-type": (
        b64(stream_record(new_image=order_image(status={"X": "PLACED"}))),
        "dynamodb.NewImage.status: unknown DynamoDB type 'X'",
    ),
    "untyped-attribute": (
        b64(stream_record(new_image=order_image(status="PLACED"))),
        "dynamodb.NewImage.status: expected a DynamoDB attribute value",
    ),
    "nested-bad-number": (
        b64(stream_record(new_image=order_image(address={"M": {"zip": {"N": "six"}}}))),
        "dynamodb.NewImage.address.zip: N value 'six'",
    ),
    "reserved-attribute": (
        b64(stream_record(new_image=order_image(dt={"S": "2024-01-01"}))),
        "dynamodb.NewImage.dt: attribute name is reserved",
    ),
    "lone-surrogate": (
        b64(json.dumps(stream_record(new_image=order_image(product_name={"S": "\ud800"})))),
        "attribute 'product_name': text is not valid Unicode",
    ),
}


@pytest.mark.parametrize(("data", "reason"), MALFORMED.values(), ids=MALFORMED.keys())
def test_unparseable_record_comes_back_failed_with_its_original_data(
    data: str, reason: str
) -> None:
    (entry,) = lambda_handler(firehose_event(data), None)["records"]

    assert entry == {"recordId": "rec-00000", "result": "ProcessingFailed", "data": data}


@pytest.mark.parametrize(("data", "reason"), MALFORMED.values(), ids=MALFORMED.keys())
def test_unparseable_record_is_logged_with_its_record_id_and_reason(
    data: str, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    lambda_handler(firehose_event(data), None)

    (failure,) = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert failure.getMessage().startswith("recordId rec-00000 ProcessingFailed: " + reason)
    assert "\n" not in failure.getMessage()


def test_every_record_id_comes_back_exactly_once_in_order() -> None:
    event = firehose_event(
        b64(stream_record("INSERT")),
        "not base64!",
        b64(stream_record("MODIFY")),
        b64("not json"),
        b64(stream_record("REMOVE")),
        b64(stream_record(new_image=None)),
    )

    response = lambda_handler(event, None)

    assert [entry["recordId"] for entry in response["records"]] == [
        record["recordId"] for record in event["records"]
    ]
    assert [entry["result"] for entry in response["records"]] == [
        "Ok",
        "ProcessingFailed",
        "Ok",
        "ProcessingFailed",
        "Ok",
        "ProcessingFailed",
    ]


def test_invocation_summary_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    event = firehose_event(b64(stream_record()), "%%%", b64(stream_record("REMOVE")))

    response = lambda_handler(event, None)

    summaries = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert summaries == [
        "invocation inv-1: 3 records, 2 Ok, 1 ProcessingFailed (0 past the response budget), "
        f"response {len(json.dumps(response))} bytes"
    ]


def tiny_stream_record(index: int) -> dict[str, Any]:
    """A stream record with no optional fields: its flat line is larger than its data."""
    return {
        "eventID": str(index),
        "eventName": "INSERT",
        "dynamodb": {
            "ApproximateCreationDateTime": CREATED_SECONDS,
            "NewImage": {"orderid": {"S": f"o{index}"}},
            "SequenceNumber": str(index),
        },
    }


@pytest.fixture
def growing_event() -> dict[str, Any]:
    """An invocation whose all-Ok response is larger than its all-failed response."""
    return firehose_event(*(b64(tiny_stream_record(index)) for index in range(40)))


def all_failed_size(event: dict[str, Any]) -> int:
    failed = [
        {"recordId": record["recordId"], "result": "ProcessingFailed", "data": record["data"]}
        for record in event["records"]
    ]
    return len(json.dumps({"records": failed}))


def all_ok_size(event: dict[str, Any]) -> int:
    return len(json.dumps(transform_records(event, response_limit_bytes=10**9)))


@pytest.mark.parametrize("fraction", [0.0, 0.25, 0.5, 0.99, 1.0])
def test_response_stays_within_the_response_limit(
    growing_event: dict[str, Any], fraction: float
) -> None:
    low, high = all_failed_size(growing_event), all_ok_size(growing_event)
    assert high > low, "the fixture must grow when transformed"
    limit = low + int((high - low) * fraction)

    response = transform_records(growing_event, response_limit_bytes=limit)

    assert len(json.dumps(response)) <= limit
    assert len(response["records"]) == len(growing_event["records"])


def test_records_past_the_response_limit_come_back_failed_with_original_data(
    growing_event: dict[str, Any],
) -> None:
    limit = (all_failed_size(growing_event) + all_ok_size(growing_event)) // 2

    response = transform_records(growing_event, response_limit_bytes=limit)

    results = [entry["result"] for entry in response["records"]]
    assert "Ok" in results and "ProcessingFailed" in results
    for entry, record in zip(response["records"], growing_event["records"], strict=True):
        assert entry["recordId"] == record["recordId"]
        if entry["result"] == "ProcessingFailed":
            assert entry["data"] == record["data"]


def test_records_past_the_response_limit_are_logged(
    growing_event: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    transform_records(growing_event, response_limit_bytes=all_failed_size(growing_event))

    failures = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(failures) == len(growing_event["records"])
    assert all("ProcessingFailed: response budget:" in message for message in failures)


def test_a_request_too_large_for_any_response_is_logged_as_an_error(
    growing_event: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    transform_records(growing_event, response_limit_bytes=all_failed_size(growing_event) - 1)

    (error,) = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert "even an all-ProcessingFailed response" in error


def test_a_full_firehose_buffer_comes_back_ok_within_6_mb() -> None:
    # Firehose buffers at most 3 MB for a Lambda processor.
    datas: list[str] = []
    while sum(map(len, datas)) < 3 * 1024 * 1024:
        datas.append(b64(stream_record(event_id=f"event-{len(datas)}")))

    response = lambda_handler(firehose_event(*datas), None)

    assert {entry["result"] for entry in response["records"]} == {"Ok"}
    assert len(json.dumps(response)) <= 6 * 1024 * 1024


def test_flatten_stream_record_gives_decimals_for_numbers() -> None:
    flat = flatten_stream_record(stream_record())

    assert isinstance(flat["price"], Decimal) and str(flat["price"]) == "19.990"


def test_serialized_line_parses_back_to_the_flat_record() -> None:
    flat = flatten_stream_record(stream_record(new_image=order_image(tags={"SS": ["a", "b"]})))

    assert json.loads(serialize_flat_record(flat), parse_float=Decimal) == flat


def test_dynamodb_stream_records_from_the_emulator_transform(moto_endpoint: str) -> None:
    """Records as moto's DynamoDB Streams produce them, forwarded the way the Pipe does."""
    # A server, not mock_aws: leaving mock_aws resets moto's process-wide state under the
    # session's local stack.
    clients = {
        "region_name": "us-east-1",
        "endpoint_url": moto_endpoint,
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }
    dynamodb = boto3.client("dynamodb", **clients)
    streams = boto3.client("dynamodbstreams", **clients)
    table_name = f"transform-stream-{uuid.uuid4().hex[:8]}"
    table = dynamodb.create_table(
        TableName=table_name,
        KeySchema=[{"AttributeName": "orderid", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "orderid", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )["TableDescription"]
    key = {"orderid": {"S": "ord-0001"}}
    dynamodb.put_item(TableName=table_name, Item=order_image())
    dynamodb.update_item(
        TableName=table_name,
        Key=key,
        UpdateExpression="SET #s = :s",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":s": {"S": "SHIPPED"}},
    )
    dynamodb.delete_item(TableName=table_name, Key=key)
    stream_arn = table["LatestStreamArn"]
    shard_id = streams.describe_stream(StreamArn=stream_arn)["StreamDescription"]["Shards"][0][
        "ShardId"
    ]
    iterator = streams.get_shard_iterator(
        StreamArn=stream_arn, ShardId=shard_id, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]
    records = streams.get_records(ShardIterator=iterator)["Records"]
    for record in records:
        # boto3 parses the epoch into a datetime; on the stream it is epoch seconds.
        created = record["dynamodb"]["ApproximateCreationDateTime"]
        record["dynamodb"]["ApproximateCreationDateTime"] = created.timestamp()

    response = lambda_handler(firehose_event(*(b64(record) for record in records)), None)

    flats = [flat_of(entry) for entry in response["records"]]
    assert [(f["cdc_event_type"], f["status"], f["is_deleted"]) for f in flats] == [
        ("INSERT", "PLACED", False),
        ("MODIFY", "SHIPPED", False),
        ("REMOVE", "SHIPPED", True),
    ]
    assert {f["orderid"] for f in flats} == {"ord-0001"}
