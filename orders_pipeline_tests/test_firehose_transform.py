"""Specs of the Firehose transform Lambda: DynamoDB stream records in, flat JSON lines out."""

from __future__ import annotations

import base64
import json
import logging
import random
import uuid
from decimal import Decimal
from typing import Any

import boto3
import pytest

from orders_pipeline.lambdas import firehose_transform
from orders_pipeline.lambdas.firehose_transform import (
    flat_line,
    flatten_stream_record,
    lambda_handler,
    transform_records,
)

CREATED_SECONDS = 1718000000  # 2024-06-10T06:13:20Z
DEFAULT = object()
KEYS = {"orderid": {"S": "ord-0001"}}
CDC = {"cdc_event_type", "event_id", "sequence_number", "creation_datetime", "is_deleted"}


def order_image(**attributes: Any) -> dict[str, Any]:
    """An order as DynamoDB JSON; keyword arguments replace or add attributes (None removes)."""
    image = {
        "orderid": {"S": "ord-0001"},
        "product_name": {"S": "Desk Lamp"},
        "quantity": {"N": "2"},
        "price": {"N": "19.990"},
        "customer_id": {"S": "cust-42"},
        "status": {"S": "PLACED"},
    }
    image.update(attributes)
    return {name: value for name, value in image.items() if value is not None}


def stream_record(
    event_name: str = "INSERT",
    *,
    new_image: Any = DEFAULT,
    old_image: Any = DEFAULT,
    keys: Any = KEYS,
    created: Any = CREATED_SECONDS,
    sequence_number: Any = "4100000000000000000001",
    event_id: str = "c81e728d9d4c2f636f067f89cc14862c",
    view: str = "NEW_AND_OLD_IMAGES",
) -> dict[str, Any]:
    """What the Pipe puts on Kinesis: one DynamoDB stream record (None leaves a field out)."""
    if new_image is DEFAULT:
        new_image = None if event_name == "REMOVE" else order_image()
    if old_image is DEFAULT:
        old_image = None if event_name == "INSERT" else order_image(status={"S": "OLD"})
    dynamodb: dict[str, Any] = {
        "ApproximateCreationDateTime": created,
        "Keys": keys,
        "NewImage": new_image,
        "OldImage": old_image,
        "SequenceNumber": sequence_number,
        "SizeBytes": 180,
        "StreamViewType": view,
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


def view_record(view: str, event_name: str) -> dict[str, Any]:
    """A stream record as DynamoDB writes it under `view`: only the images that view carries."""
    new = order_image(status={"S": "NEW"}) if event_name != "REMOVE" else None
    old = order_image(status={"S": "OLD"}) if event_name != "INSERT" else None
    return stream_record(
        event_name,
        new_image=new if view in ("NEW_IMAGE", "NEW_AND_OLD_IMAGES") else None,
        old_image=old if view in ("OLD_IMAGE", "NEW_AND_OLD_IMAGES") else None,
        view=view,
    )


def compact(record: Any) -> str:
    """The record's JSON as Pipes writes it: no spaces, non-ASCII text as UTF-8."""
    return json.dumps(record, separators=(",", ":"), ensure_ascii=False)


def b64(payload: dict[str, Any] | list[Any] | bytes | str) -> str:
    if isinstance(payload, dict | list):
        payload = compact(payload)
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


def transform_one(record: Any) -> dict[str, Any]:
    (entry,) = lambda_handler(firehose_event(b64(record)), None)["records"]
    return entry


def line_of(entry: dict[str, Any]) -> str:
    return base64.b64decode(entry["data"]).decode("utf-8")


def flat_of(entry: dict[str, Any]) -> dict[str, Any]:
    assert entry["result"] == "Ok", entry
    return json.loads(line_of(entry), parse_float=Decimal)


# ------------------------------------------------------------------------ the flat record


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


def test_an_item_without_quantity_has_no_quantity_column() -> None:
    flat = flat_of(transform_one(stream_record(new_image=order_image(quantity=None))))

    assert "quantity" not in flat
    assert flat["product_name"] == "Desk Lamp"


EVERY_TYPE = {
    "orderid": {"S": "ord-0001"},
    "text": {"S": "Desk Lamp"},
    "empty_text": {"S": ""},
    "count": {"N": "3"},
    "price": {"N": "19.990"},
    "gift": {"BOOL": True},
    "archived": {"BOOL": False},
    "coupon": {"NULL": True},
    "photo": {"B": "iVBORw0KGgo="},
    "tags": {"SS": ["red", "blue"]},
    "sizes": {"NS": ["1", "2.50", "-3"]},
    "thumbnails": {"BS": ["aGk=", "eW8="]},
    "address": {
        "M": {
            "city": {"S": "Lyon"},
            "zip": {"N": "69001"},
            "geo": {"M": {"lat": {"N": "45.764043"}, "verified": {"BOOL": True}}},
            "lines": {"L": [{"S": "1 rue de la Paix"}, {"NULL": True}]},
        }
    },
    "history": {
        "L": [
            {"M": {"status": {"S": "PLACED"}, "at": {"N": "1718000000"}}},
            {"L": [{"N": "1"}, {"SS": ["x"]}, {"B": "AA=="}]},
            {"M": {}},
            {"L": []},
        ]
    },
}
EVERY_TYPE_PLAIN = {
    "orderid": "ord-0001",
    "text": "Desk Lamp",
    "empty_text": "",
    "count": 3,
    "price": Decimal("19.990"),
    "gift": True,
    "archived": False,
    "coupon": None,
    "photo": "iVBORw0KGgo=",
    "tags": ["red", "blue"],
    "sizes": [1, Decimal("2.50"), -3],
    "thumbnails": ["aGk=", "eW8="],
    "address": {
        "city": "Lyon",
        "zip": 69001,
        "geo": {"lat": Decimal("45.764043"), "verified": True},
        "lines": ["1 rue de la Paix", None],
    },
    "history": [{"status": "PLACED", "at": 1718000000}, [1, ["x"], "AA=="], {}, []],
}


def test_every_dynamodb_type_on_one_item_becomes_plain_json() -> None:
    flat = flat_of(transform_one(stream_record(new_image=EVERY_TYPE)))

    assert {name: flat[name] for name in EVERY_TYPE} == EVERY_TYPE_PLAIN
    assert set(flat) == set(EVERY_TYPE) | CDC


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


def test_binary_stays_the_base64_text_of_the_stream_record() -> None:
    line = line_of(transform_one(stream_record(new_image=order_image(photo={"B": "AAEC/w=="}))))

    assert '"photo":"AAEC/w=="' in line


@pytest.mark.parametrize(
    ("number_text", "written"),
    [
        ("19.990", "19.990"),
        ("0.10", "0.10"),
        ("-3.50", "-3.50"),
        ("0", "0"),
        ("12345678901234567890123456789012345678", "12345678901234567890123456789012345678"),
        ("-0.00000000000000000000000000000000000001", "-0.00000000000000000000000000000000000001"),
        ("0.1000000000000000055511151231257827", "0.1000000000000000055511151231257827"),
        (
            "9.9999999999999999999999999999999999999E+125",
            "9.9999999999999999999999999999999999999E+125",
        ),
        ("1E+3", "1E+3"),
        ("1e-130", "1e-130"),
    ],
)
def test_numbers_keep_their_exact_digits(number_text: str, written: str) -> None:
    line = line_of(transform_one(stream_record(new_image=order_image(price={"N": number_text}))))

    assert f'"price":{written},' in line
    assert json.loads(line, parse_float=Decimal)["price"] == Decimal(number_text)


@pytest.mark.parametrize(
    ("number_text", "written"),
    [
        ("+1", "1"),
        (".5", "0.5"),
        ("-.5", "-0.5"),
        ("5.", "5"),
        ("5.e3", "5e3"),
        ("007", "7"),
        ("-007.50", "-7.50"),
        ("00.10", "0.10"),
        ("+.25E+2", "0.25E+2"),
    ],
)
def test_numbers_json_cannot_spell_are_respelled_with_the_same_value(
    number_text: str, written: str
) -> None:
    line = line_of(transform_one(stream_record(new_image=order_image(price={"N": number_text}))))

    assert f'"price":{written},' in line
    assert json.loads(line, parse_float=Decimal)["price"] == Decimal(number_text)


def test_numbers_in_maps_lists_and_sets_keep_their_digits_too() -> None:
    image = order_image(
        extra={"M": {"a": {"N": "1.10"}, "b": {"L": [{"N": "2.20"}]}, "c": {"NS": ["3.30", "+4"]}}}
    )

    line = line_of(transform_one(stream_record(new_image=image)))

    assert '"extra":{"a":1.10,"b":[2.20],"c":[3.30,4]}' in line


@pytest.mark.parametrize(
    "product_name",
    [
        "Café crème 250 g",
        "ノートパソコン スタンド",
        "Kopfhörer 🎧",
        "Ελληνικό μέλι",
        'Lamp "Deluxe" \\ 2',
        "tab\tand newline\n",
    ],
)
def test_unicode_product_names_round_trip(product_name: str) -> None:
    record = stream_record(new_image=order_image(product_name={"S": product_name}))

    assert flat_of(transform_one(record))["product_name"] == product_name


def test_non_ascii_text_is_written_as_utf8_not_escaped() -> None:
    record = stream_record(new_image=order_image(product_name={"S": "Kopfhörer 🎧"}))
    escaped = base64.b64encode(json.dumps(record).encode()).decode()  # \u00f6 and \ud83c\udfa7

    (entry,) = lambda_handler(firehose_event(escaped), None)["records"]

    assert '"product_name":"Kopfhörer 🎧"' in line_of(entry)


def test_the_line_is_the_same_however_the_record_json_is_spelled() -> None:
    record = stream_record(new_image=order_image(product_name={"S": "Kopfhörer"}))
    spellings = [
        compact(record),
        json.dumps(record),
        json.dumps(record, indent=2),
        json.dumps(record, separators=(",", ":")),
    ]

    lines = {line_of(transform_one(spelling)) for spelling in spellings}

    assert len(lines) == 1


@pytest.mark.parametrize(
    ("approximate_creation", "creation_datetime"),
    [
        (1718000000, "2024-06-10T06:13:20.000Z"),
        (1718000000.5, "2024-06-10T06:13:20.500Z"),
        (1718000000.123456, "2024-06-10T06:13:20.123Z"),
        (1718000000123, "2024-06-10T06:13:20.123Z"),
        (1718000000123.0, "2024-06-10T06:13:20.123Z"),
        (1.718e9, "2024-06-10T06:13:20.000Z"),
    ],
    ids=[
        "seconds",
        "fractional-seconds",
        "microseconds",
        "milliseconds",
        "float-milliseconds",
        "exponent",
    ],
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


# ---------------------------------------------------------------- keys and stream view types

IMAGES_OF_VIEW = {
    # view: (images an INSERT, a MODIFY and a REMOVE record carry under it)
    "NEW_AND_OLD_IMAGES": ({"NewImage"}, {"NewImage", "OldImage"}, {"OldImage"}),
    "NEW_IMAGE": ({"NewImage"}, {"NewImage"}, set()),
    "OLD_IMAGE": (set(), {"OldImage"}, {"OldImage"}),
    "KEYS_ONLY": (set(), set(), set()),
}
VIEW_CASES = [
    (view, event_name) for view in IMAGES_OF_VIEW for event_name in ("INSERT", "MODIFY", "REMOVE")
]


@pytest.mark.parametrize(("view", "event_name"), VIEW_CASES)
def test_every_stream_view_gives_a_line_for_every_event(view: str, event_name: str) -> None:
    record = view_record(view, event_name)
    images = IMAGES_OF_VIEW[view][("INSERT", "MODIFY", "REMOVE").index(event_name)]
    assert {name for name in record["dynamodb"] if name.endswith("Image")} == images

    flat = flat_of(transform_one(record))

    assert flat["orderid"] == "ord-0001"
    assert (flat["cdc_event_type"], flat["is_deleted"]) == (event_name, event_name == "REMOVE")
    used = "OldImage" if event_name == "REMOVE" else "NewImage"
    if used in images:
        assert flat["status"] == ("OLD" if event_name == "REMOVE" else "NEW")
        assert set(flat) == set(order_image()) | CDC
    else:
        assert set(flat) == {"orderid"} | CDC


@pytest.mark.parametrize("event_name", ["INSERT", "MODIFY"])
def test_without_a_new_image_the_old_image_is_never_taken_for_the_current_one(
    event_name: str,
) -> None:
    flat = flat_of(transform_one(view_record("OLD_IMAGE", event_name)))

    assert "status" not in flat
    assert set(flat) == {"orderid"} | CDC


@pytest.mark.parametrize("view", ["NEW_IMAGE", "KEYS_ONLY"])
def test_a_remove_without_old_image_is_still_the_deletion_of_that_order(view: str) -> None:
    flat = flat_of(transform_one(view_record(view, "REMOVE")))

    assert flat == {
        "orderid": "ord-0001",
        "cdc_event_type": "REMOVE",
        "event_id": "c81e728d9d4c2f636f067f89cc14862c",
        "sequence_number": "4100000000000000000001",
        "creation_datetime": "2024-06-10T06:13:20.000Z",
        "is_deleted": True,
    }


def test_keys_come_from_dynamodb_keys_when_the_image_lacks_them() -> None:
    flat = flat_of(transform_one(stream_record(new_image=order_image(orderid=None))))

    assert flat["orderid"] == "ord-0001"
    assert flat["product_name"] == "Desk Lamp"


def test_keys_win_over_a_different_value_in_the_image() -> None:
    flat = flat_of(transform_one(stream_record(new_image=order_image(orderid={"S": "stale"}))))

    assert flat["orderid"] == "ord-0001"


def test_every_key_attribute_is_a_column() -> None:
    keys = {"orderid": {"S": "ord-0001"}, "version": {"N": "3"}, "shard": {"B": "AQ=="}}

    flat = flat_of(transform_one(stream_record("REMOVE", old_image=None, keys=keys)))

    assert (flat["orderid"], flat["version"], flat["shard"]) == ("ord-0001", 3, "AQ==")


def test_an_image_attribute_that_repeats_keeps_its_last_value_as_json_does() -> None:
    text = compact(stream_record()).replace(
        '"status":{"S":"PLACED"}', '"status":{"S":"PLACED"},"status":{"S":"SHIPPED"}', 1
    )

    line = line_of(transform_one(text))

    assert line.count('"status"') == 1 and json.loads(line)["status"] == "SHIPPED"


# -------------------------------------------------------------------------------- sizes


def big_image(kilobytes: int) -> dict[str, Any]:
    """An order whose DynamoDB JSON is `kilobytes` KB: a set of photos and a long `notes` text."""
    photo = base64.b64encode(random.Random(kilobytes).randbytes(3000)).decode()  # 4 KB each
    image = order_image(photos={"BS": [photo[i:] + photo[:i] for i in range(kilobytes // 8)]})
    sentence = "Lieferung an die Hintertür, bitte klingeln. "
    missing = kilobytes * 1000 - len(compact(image).encode()) - len(',"notes":{"S":""}')
    notes = (sentence * (missing // len(sentence.encode()) + 1)).encode()[:missing]
    return {**image, "notes": {"S": notes.decode("utf-8", "ignore")}}


@pytest.mark.parametrize("event_name", ["INSERT", "MODIFY", "REMOVE"])
def test_a_300_kb_item_flows(event_name: str) -> None:
    image = big_image(300)
    record = stream_record(event_name, new_image=image, old_image=image)
    if event_name == "INSERT":
        record["dynamodb"].pop("OldImage")
    if event_name == "REMOVE":
        record["dynamodb"].pop("NewImage")
    assert 299_000 <= len(compact(image).encode()) <= 300_000

    entry = transform_one(record)

    flat = flat_of(entry)
    assert flat["notes"] == image["notes"]["S"] and flat["photos"] == image["photos"]["BS"]
    assert len(line_of(entry).encode()) <= 1000 * 1024


def test_a_line_past_the_firehose_record_limit_comes_back_failed_with_its_original_data(
    caplog: pytest.LogCaptureFixture,
) -> None:
    data = b64(stream_record(new_image=order_image(notes={"S": "x" * (1000 * 1024)})))

    (entry,) = lambda_handler(firehose_event(data), None)["records"]

    assert entry == {"recordId": "rec-00000", "result": "ProcessingFailed", "data": data}
    (failure,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "ProcessingFailed: record size: its flat line is" in failure
    assert "1024000-byte record limit" in failure


# ---------------------------------------------------------------------------- failures

MALFORMED = {
    "not-base64": ("%%% not base64 %%%", "data: not valid base64"),
    "data-not-text": (None, "data: expected base64 text, got None"),
    "not-json": (b64("order ord-0001 shipped"), "data: not a JSON document"),
    "not-utf8": (b64(b"\x80\x81\x82"), "data: not a JSON document"),
    "nested-too-deeply": (b64("[" * 100_000 + "]" * 100_000), "data: not a JSON document"),
    "json-array": (b64([stream_record()]), "record: expected a JSON object"),
    "unknown-event-name": (b64(stream_record("TRUNCATE")), "eventName: expected INSERT"),
    "missing-event-id": (b64(stream_record(event_id="")), "eventID: expected a non-empty string"),
    "missing-sequence-number": (
        b64(stream_record(sequence_number=None)),
        "dynamodb.SequenceNumber",
    ),
    "timestamp-as-text": (
        b64(stream_record(created="2024-06-10")),
        "dynamodb.ApproximateCreationDateTime",
    ),
    "negative-timestamp": (b64(stream_record(created=-5)), "dynamodb.ApproximateCreationDateTime"),
    "timestamp-out-of-range": (
        b64(stream_record(created=10**20)),
        "dynamodb.ApproximateCreationDateTime: 100000000000000000000 is out of range",
    ),
    "missing-keys": (
        b64(stream_record(keys=None)),
        "dynamodb.Keys: expected the item's key attributes, got None",
    ),
    "empty-keys": (
        b64(stream_record(keys={})),
        "dynamodb.Keys: expected the item's key attributes, got {}",
    ),
    "keys-not-an-object": (
        b64(stream_record(keys=["orderid"])),
        "dynamodb.Keys: expected the item's key attributes, got ['orderid']",
    ),
    "key-of-a-map-type": (
        b64(stream_record(keys={"orderid": {"M": {}}})),
        "dynamodb.Keys.orderid: expected a non-empty S, N or B key value, got {'M': {}}",
    ),
    "empty-key-text": (
        b64(stream_record(keys={"orderid": {"S": ""}})),
        "dynamodb.Keys.orderid: expected a non-empty S, N or B key value, got {'S': ''}",
    ),
    "key-not-a-number": (
        b64(stream_record(keys={"orderid": {"N": "one"}})),
        "dynamodb.Keys.orderid: N value 'one' is not a decimal number",
    ),
    "reserved-key-name": (
        b64(stream_record(keys={"dt": {"S": "2024-01-01"}})),
        "dynamodb.Keys.dt: attribute name is reserved",
    ),
    "new-image-not-an-object": (
        b64(stream_record(new_image="PLACED")),
        "dynamodb.NewImage: expected a JSON object, got 'PLACED'",
    ),
    "number-with-comma": (
        b64(stream_record(new_image=order_image(price={"N": "19,99"}))),
        "dynamodb.NewImage.price: N value '19,99'",
    ),
    "number-nan": (
        b64(stream_record(new_image=order_image(price={"N": "NaN"}))),
        "dynamodb.NewImage.price: N value 'NaN'",
    ),
    "number-not-text": (
        b64(stream_record(new_image=order_image(price={"N": 19.99}))),
        "dynamodb.NewImage.price: N value 19.99 is not a decimal number",
    ),
    "unknown-type": (
        b64(stream_record(new_image=order_image(status={"X": "PLACED"}))),
        "dynamodb.NewImage.status: unknown DynamoDB type 'X'",
    ),
    "untyped-attribute": (
        b64(stream_record(new_image=order_image(status="PLACED"))),
        "dynamodb.NewImage.status: expected a DynamoDB attribute value",
    ),
    "text-not-a-string": (
        b64(stream_record(new_image=order_image(status={"S": 7}))),
        "dynamodb.NewImage.status: S value must be a JSON string, got 7",
    ),
    "set-of-numbers-as-strings": (
        b64(stream_record(new_image=order_image(tags={"SS": ["a", 1]}))),
        "dynamodb.NewImage.tags: SS value must be a JSON array of strings, got ['a', 1]",
    ),
    "nested-bad-number": (
        b64(stream_record(new_image=order_image(address={"M": {"zip": {"N": "six"}}}))),
        "dynamodb.NewImage.address.zip: N value 'six'",
    ),
    "bad-number-in-a-list": (
        b64(stream_record(new_image=order_image(sizes={"L": [{"N": "1"}, {"N": "x"}]}))),
        "dynamodb.NewImage.sizes[1]: N value 'x'",
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
    assert len(failure.getMessage()) < 400


def test_every_record_id_comes_back_exactly_once_in_order() -> None:
    event = firehose_event(
        b64(stream_record("INSERT")),
        "not base64!",
        b64(stream_record("MODIFY")),
        b64("not json"),
        b64(stream_record("REMOVE")),
        b64(stream_record(keys=None)),
        b64(view_record("KEYS_ONLY", "REMOVE")),
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
        "Ok",
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


def test_the_counted_response_size_is_that_of_the_response_json(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    event = firehose_event(b64(stream_record()), "%%%", b64(view_record("KEYS_ONLY", "MODIFY")))
    event["records"][0]["recordId"] = 'odd "id" é'
    event["records"][1]["data"] = None

    response = lambda_handler(event, None)

    (summary,) = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert summary.endswith(f"response {len(json.dumps(response))} bytes")


# ------------------------------------------------------------------------ response budget


def tiny_stream_record(index: int) -> dict[str, Any]:
    """A stream record with no optional fields: its flat line is larger than its data."""
    return {
        "eventID": str(index),
        "eventName": "INSERT",
        "dynamodb": {
            "ApproximateCreationDateTime": CREATED_SECONDS,
            "Keys": {"o": {"S": f"o{index}"}},
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
            assert entry == {
                "recordId": record["recordId"],
                "result": "ProcessingFailed",
                "data": record["data"],
            }


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
        event_name = ("INSERT", "MODIFY", "REMOVE")[len(datas) % 3]
        datas.append(b64(stream_record(event_name, event_id=f"event-{len(datas)}")))

    response = lambda_handler(firehose_event(*datas), None)

    assert {entry["result"] for entry in response["records"]} == {"Ok"}
    assert len(json.dumps(response)) <= 6 * 1024 * 1024


def test_a_6_mb_request_of_300_kb_items_keeps_the_response_within_6_mb() -> None:
    image = big_image(300)
    data = b64(stream_record("MODIFY", new_image=image, old_image=image))
    event = firehose_event(*[data] * (6 * 1024 * 1024 // len(data)))

    response = lambda_handler(event, None)

    assert len(json.dumps(response)) <= 6 * 1024 * 1024
    assert [entry["recordId"] for entry in response["records"]] == [
        record["recordId"] for record in event["records"]
    ]


# ---------------------------------------------------------------------- the two code paths


def random_record(rng: random.Random) -> str:
    """A stream record's JSON text, with what the fast path must get right or leave alone."""
    alphabet = ["a", "Z", "0", " ", "é", "🎧", '"', "\\", "\n", "}", "{", ",", ":", "[", "dt"]

    def text() -> str:
        return "".join(
            rng.choice(alphabet[:5] if rng.random() < 0.8 else alphabet) for _ in range(3)
        )

    def number() -> str:
        return rng.choice(["0", "-1", "19.990", "1E+3", "2e-5", "+1", ".5", "007", "5."])

    def value() -> dict[str, Any]:
        kinds = ["S", "N", "B", "BOOL"] if rng.random() < 0.8 else ["NULL", "M", "L", "SS", "NS"]
        kind = rng.choice(kinds)
        return {
            "S": lambda: {"S": text()},
            "N": lambda: {"N": number()},
            "B": lambda: {"B": "AAEC"},
            "BOOL": lambda: {"BOOL": rng.random() < 0.5},
            "NULL": lambda: {"NULL": True},
            "M": lambda: {"M": {text(): {"S": text()}}},
            "L": lambda: {"L": [{"N": number()}]},
            "SS": lambda: {"SS": [text()]},
            "NS": lambda: {"NS": [number()]},
        }[kind]()

    def image() -> dict[str, Any]:
        attributes = {f"a{index}": value() for index in range(rng.randrange(4))}
        if rng.random() < 0.8:
            attributes = {"orderid": {"S": "o-1"}, **attributes}
        if rng.random() < 0.1:
            attributes["orderid"] = {"S": "other"}
        if rng.random() < 0.05:
            attributes[rng.choice(["dt", "event_id"])] = {"S": "x"}
        return attributes

    dynamodb: dict[str, Any] = {"Keys": {"orderid": {"S": "o-1"}}, "SequenceNumber": "7"}
    if rng.random() < 0.1:
        dynamodb["Keys"]["version"] = {"N": rng.choice(["3", "+3"])}
    for name in ("NewImage", "OldImage"):
        if rng.random() < 0.7:
            dynamodb[name] = image()
    created = rng.choice([CREATED_SECONDS, 1718000000.25, 1718000000123, 0, 1.7e9, 10**20])
    dynamodb["ApproximateCreationDateTime"] = created
    if rng.random() < 0.2:
        dynamodb["StreamViewType"] = "KEYS_ONLY"
    record: dict[str, Any] = {
        "eventID": rng.choice(["e-1", "é", ""]),
        "eventName": rng.choice(["INSERT", "MODIFY", "REMOVE", "INSERT", "MODIFY", "REMOVE", "X"]),
        "dynamodb": dict(rng.sample(list(dynamodb.items()), len(dynamodb))),
        "eventSourceARN": "arn:aws:dynamodb:us-east-1:1:table/t/stream/x",
    }
    document = compact(dict(rng.sample(list(record.items()), len(record))))
    if rng.random() < 0.05:
        document = document.replace(
            '"SequenceNumber":"7"', '"SequenceNumber":"7","SequenceNumber":"8"'
        )
    if rng.random() < 0.05:
        document = document.replace('"orderid":{"S":"o-1"}', '"orderid":{"S":"o-1"},"a0":{"S":"r"}')
    if rng.random() < 0.1:
        # Not JSON any more, or other JSON: a character dropped, doubled or replaced.
        at = rng.randrange(len(document))
        document = (
            document[:at] + rng.choice(["", document[at] * 2, "x", '"', "}"]) + document[at + 1 :]
        )
    return document


def general_line(raw: bytes) -> bytes | str:
    try:
        return firehose_transform._general_line(raw)[0]
    except firehose_transform.StreamRecordError as error:
        return str(error)


def test_the_fast_path_writes_exactly_the_general_paths_line() -> None:
    rng = random.Random(20240610)
    served = 0
    for _ in range(3000):
        raw = random_record(rng).encode()

        fast = firehose_transform._fast_line(raw)

        if fast is not None:
            served += 1
            assert fast[0] == general_line(raw), raw
    assert served > 300, "the corpus must exercise the fast path"


def shaped_record(rng: random.Random, index: int) -> str:
    """An order record of one of three shapes, now and then changed in one place."""
    image = order_image(
        orderid={"S": "o-1"},
        quantity={"N": rng.choice(["1", "12", "-3", "2.50", "1E+3"])},
        status={"S": rng.choice(["PLACED", "Café", "} {", ""])},
    )
    if index % 3 == 1:
        image["gift"] = {"BOOL": rng.random() < 0.5}
        image["photo"] = {"B": "AAEC"}
    if index % 3 == 2:
        image["coupon"] = {"NULL": True}
        del image["price"]
    change = rng.randrange(12)
    if change == 0:
        image["quantity"] = {"N": rng.choice(["007", "+1", ".5"])}  # respelled by the line
    elif change == 1:
        image["quantity"] = {"S": "2"}  # another type where the shape has N
    elif change == 2:
        image = {"dt" if name == "status" else name: value for name, value in image.items()}
    elif change == 3:
        image["extra"] = {"SS": ["a"]}
    elif change == 4:
        image.pop("customer_id")
    record = stream_record(
        rng.choice(["INSERT", "MODIFY", "REMOVE"]),
        new_image=image,
        old_image=image,
        keys={"orderid": {"S": "o-1"}},
    )
    text = compact(record)
    if change == 5:
        text = text.replace('"quantity":', '"status":{"S":"x"},"quantity":')  # a repeated name
    return text


@pytest.fixture
def nothing_learned(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fast path as a new Lambda instance starts it: no shape or envelope learned yet."""
    for name, empty in (
        ("_SHAPES", []),
        ("_SHAPES_SEEN", {}),
        ("_RECORDS", {}),
        ("_RECORDS_SEEN", {}),
    ):
        monkeypatch.setattr(firehose_transform, name, empty)


def served_by(monkeypatch: pytest.MonkeyPatch, name: str) -> list[Any]:
    """What each call of the fast path's function `name` returned, from now on."""
    results: list[Any] = []
    original = getattr(firehose_transform, name)

    def counted(*arguments: Any, **keywords: Any) -> Any:
        results.append(original(*arguments, **keywords))
        return results[-1]

    monkeypatch.setattr(firehose_transform, name, counted)
    return results


def test_the_fast_path_writes_exactly_the_general_paths_line_for_shapes_it_learned(
    monkeypatch: pytest.MonkeyPatch, nothing_learned: None
) -> None:
    by_shape = served_by(monkeypatch, "_flat_by_shape")
    by_record = served_by(monkeypatch, "_flat_by_record")
    rng = random.Random(7)
    for index in range(600):
        raw = shaped_record(rng, index).encode()

        fast = firehose_transform._fast_line(raw)

        if fast is not None:
            assert fast[0] == general_line(raw), raw
    assert len([found for found in by_shape if found is not None]) > 50
    assert len([found for found in by_record if found is not None]) > 200


def enveloped_record(rng: random.Random) -> str:
    """A record of a few envelopes (and one image shape), now and then changed in one place."""
    event = rng.choice(["INSERT", "MODIFY", "REMOVE"])
    orderid = f"o-{rng.randrange(1000)}"
    image = order_image(orderid={"S": orderid}, quantity={"N": str(rng.randrange(1, 99))})
    keys: dict[str, Any] = {"orderid": {"S": orderid}}
    created: Any = CREATED_SECONDS + rng.randrange(100)
    change = rng.randrange(18)
    if change == 0:
        keys["orderid"] = {"S": "another"}  # Keys win over the image's value
    elif change == 1:
        image["orderid"] = {"N": "7"}
        keys["orderid"] = {"N": "7"}
    elif change == 2:
        keys["version"] = {"N": rng.choice(["3", "+3"])}
        image["version"] = {"N": "3"}
    elif change == 3:
        created = rng.choice([1718000000123, 1718000000.25, 0, 1.7e9, 10**20, -5])
    elif change == 4:
        image["coupon"] = {"NULL": True}
    elif change == 5:
        image["status"] = {"S": rng.choice(["Café", "} {", "", "%s"])}
    elif change == 6:
        image["quantity"] = {"N": rng.choice(["007", ".5", "1E+3"])}
    elif change == 14:
        keys["version"] = {"N": "3"}  # a key the image lacks: the general path adds it last
    elif change == 15:
        image["orderid"] = {"S": "7"}
        keys["orderid"] = {"N": "7"}  # the key's type wins
    record = stream_record(
        event,
        new_image=None if event == "REMOVE" else image,
        old_image=None if event == "INSERT" else image,
        keys=keys,
        created=created,
        sequence_number=str(rng.randrange(10**20)),
        event_id=rng.choice(["e-1", "é", f"e-{rng.randrange(99)}"]),
    )
    if change == 7:
        record["eventVersion"] = rng.choice([1.1, None, True])
    elif change == 8:
        del record["awsRegion"]
    elif change == 9:
        record["dynamodb"] = dict(reversed(record["dynamodb"].items()))  # Keys after the image
    text = compact(record)
    if change == 10:
        text = text.replace('"SizeBytes":180', '"SizeBytes":180,"SequenceNumber":"1"')
    elif change == 11:
        text = text.replace('"eventVersion":"1.1"', '"eventVersion":"1.1","eventID":"x"')
    elif change == 12:
        at = rng.randrange(len(text))
        text = text[:at] + rng.choice(["", text[at] * 2, "x", '"', "}"]) + text[at + 1 :]
    elif change == 13:
        text = text.replace('"aws:dynamodb"', '{"a":1}')  # a member the fast path leaves alone
    return text


def test_the_fast_path_writes_exactly_the_general_paths_line_for_envelopes_it_learned(
    monkeypatch: pytest.MonkeyPatch, nothing_learned: None
) -> None:
    by_record = served_by(monkeypatch, "_flat_by_record")
    rng = random.Random(20241201)
    for _ in range(1500):
        raw = enveloped_record(rng).encode()

        fast = firehose_transform._fast_line(raw)

        if fast is not None:
            assert fast[0] == general_line(raw), raw
    assert len([found for found in by_record if found is not None]) > 600
    assert sum(map(len, firehose_transform._RECORDS.values())) >= 3  # an envelope per event


def test_an_envelope_is_learned_on_its_second_record_and_serves_the_third(
    monkeypatch: pytest.MonkeyPatch, nothing_learned: None
) -> None:
    by_record = served_by(monkeypatch, "_flat_by_record")
    for index in range(6):
        orderid = {"S": f"o-{index}"}
        image = order_image(orderid=orderid)
        record = stream_record(
            "MODIFY", new_image=image, old_image=image, keys={"orderid": orderid}
        )
        raw = compact(record).encode()

        assert firehose_transform._fast_line(raw)[0] == general_line(raw)

    # Records 1-2 give the image its shape, 3-4 count the envelope (the 4th learns it, and its
    # pattern is checked on it), 5-6 are served by the envelope's pattern.
    assert [found is not None for found in by_record] == [True, True, True]


def test_an_envelope_that_puts_keys_after_the_image_is_not_learned(
    nothing_learned: None,
) -> None:
    for index in range(6):
        orderid = {"S": f"o-{index}"}
        image = order_image(orderid=orderid)
        record = stream_record("INSERT", new_image=image, keys={"orderid": orderid})
        record["dynamodb"] = dict(reversed(record["dynamodb"].items()))
        raw = compact(record).encode()

        assert firehose_transform._fast_line(raw)[0] == general_line(raw)

    assert firehose_transform._RECORDS == {}


@pytest.mark.parametrize(
    "extra",
    [
        {"coupon": {"NULL": True}, "gift": {"BOOL": False}, "photo": {"B": "AAEC"}},
        None,  # the key alone: one value, left to the image pattern
    ],
    ids=["with-null-bool-binary", "key-only"],
)
def test_records_of_the_most_recent_shape_are_served_without_the_slower_paths(
    monkeypatch: pytest.MonkeyPatch, extra: dict[str, Any] | None, nothing_learned: None
) -> None:
    slower: list[str] = []
    for name in ("_flat_by_shape", "_flat_by_split"):
        original = getattr(firehose_transform, name)

        def counted(*arguments: Any, name: str = name, original: Any = original, **keywords: Any):
            slower.append(name)
            return original(*arguments, **keywords)

        monkeypatch.setattr(firehose_transform, name, counted)
    rng = random.Random(11)
    served = 0
    for index in range(60):
        orderid = {"S": f"o-{index}"}
        image = order_image(orderid=orderid, quantity={"N": str(rng.randrange(1, 99))})
        image = {"orderid": orderid} if extra is None else {**image, **extra}
        event = rng.choice(["INSERT", "MODIFY"])
        raw = compact(stream_record(event, new_image=image, keys={"orderid": orderid})).encode()

        fast = firehose_transform._fast_line(raw)

        if fast is not None:
            served += 1
            assert fast[0] == general_line(raw), raw
    # The first two images are split (the second gives the shape its pattern; a split image
    # with a NULL is left to the general path), every later one is served.
    assert slower.count("_flat_by_split") == 2
    assert served >= 58
    if extra is not None:
        assert slower.count("_flat_by_shape") == 2


def test_images_of_ever_new_shapes_compile_no_pattern(nothing_learned: None) -> None:

    for index in range(300):
        image = order_image(**{f"note_{index}": {"S": "x"}})
        assert firehose_transform._fast_line(compact(stream_record(new_image=image)).encode())

    assert firehose_transform._SHAPES == []


def test_a_compact_order_record_takes_the_fast_path() -> None:
    for record in (stream_record("MODIFY"), view_record("KEYS_ONLY", "REMOVE")):
        assert firehose_transform._fast_line(compact(record).encode()) is not None


# ----------------------------------------------------------------------------- helpers


def test_flat_line_gives_the_line_and_its_partition_date() -> None:
    line, dt = flat_line(stream_record())

    assert line == line_of(transform_one(stream_record()))
    assert dt == "2024-06-10"


def test_flatten_stream_record_gives_decimals_for_numbers() -> None:
    flat = flatten_stream_record(stream_record())

    assert isinstance(flat["price"], Decimal) and str(flat["price"]) == "19.990"


# -------------------------------------------------------------------------- the emulator

STATUS_BY_VIEW = {
    # view: status column of the INSERT, MODIFY and REMOVE lines (None: keys and CDC only)
    "NEW_AND_OLD_IMAGES": ["PLACED", "SHIPPED", "SHIPPED"],
    "NEW_IMAGE": ["PLACED", "SHIPPED", None],
    "OLD_IMAGE": [None, None, "SHIPPED"],
    "KEYS_ONLY": [None, None, None],
}


@pytest.mark.parametrize("view", STATUS_BY_VIEW)
def test_dynamodb_stream_records_from_the_emulator_transform(moto_endpoint: str, view: str) -> None:
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
        StreamSpecification={"StreamEnabled": True, "StreamViewType": view},
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
        # boto3 parses the epoch into a datetime; the Pipe sends whole epoch seconds.
        created = record["dynamodb"]["ApproximateCreationDateTime"]
        record["dynamodb"]["ApproximateCreationDateTime"] = int(created.timestamp())
        record["eventSourceARN"] = stream_arn

    response = lambda_handler(firehose_event(*(b64(record) for record in records)), None)

    flats = [flat_of(entry) for entry in response["records"]]
    assert [(f["cdc_event_type"], f.get("status"), f["is_deleted"]) for f in flats] == [
        ("INSERT", STATUS_BY_VIEW[view][0], False),
        ("MODIFY", STATUS_BY_VIEW[view][1], False),
        ("REMOVE", STATUS_BY_VIEW[view][2], True),
    ]
    assert {f["orderid"] for f in flats} == {"ord-0001"}
