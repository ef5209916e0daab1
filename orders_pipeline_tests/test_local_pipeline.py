"""The deployed pipeline on the local stack, through boto3 only: table changes become S3 lines."""

from __future__ import annotations

import base64
import json
import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from orders_pipeline_tests.isolated_stack import deploy_isolated_stack

DELIVERY_DEADLINE_S = 60
# AWS's object name: <stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<uuid>
OBJECT_NAME = r"{stream}-1-\d{{4}}(-\d{{2}}){{5}}-[0-9a-f]{{8}}(-[0-9a-f]{{4}}){{3}}-[0-9a-f]{{12}}"


@pytest.fixture(scope="module")
def outputs(local_stack: Any) -> dict[str, str]:
    """A pipeline of this module's own, so error records here reach no other test's bucket."""
    return deploy_isolated_stack("pipeline-spec")[1]


def objects_under(s3: Any, bucket: str, prefix: str) -> dict[str, bytes]:
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    keys = [item["Key"] for page in pages for item in page.get("Contents", [])]
    return {key: s3.get_object(Bucket=bucket, Key=key)["Body"].read() for key in keys}


def poll(find: Callable[[], Any], what: str) -> Any:
    """`find()` until it returns something truthy, failing after DELIVERY_DEADLINE_S."""
    deadline = time.monotonic() + DELIVERY_DEADLINE_S
    while not (found := find()):
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} after {DELIVERY_DEADLINE_S}s")
        time.sleep(0.2)
    return found


def test_put_update_delete_land_as_flat_lines_under_the_event_date(
    aws_client: Callable[[str], Any], outputs: dict[str, str]
) -> None:
    dynamodb, s3 = aws_client("dynamodb"), aws_client("s3")
    table, bucket = outputs["OrdersTableName"], outputs["DataBucketName"]
    orderid = f"spec-{uuid.uuid4()}"
    key = {"orderid": {"S": orderid}}
    item = {
        **key,
        "product_name": {"S": "Café crème ☕"},
        "quantity": {"N": "2"},
        "price": {"N": "12.35"},
        "status": {"S": "PLACED"},
    }

    dynamodb.put_item(TableName=table, Item=item)
    dynamodb.update_item(
        TableName=table,
        Key=key,
        UpdateExpression="SET #s = :paid",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={":paid": {"S": "PAID"}},
    )
    dynamodb.delete_item(TableName=table, Key=key)

    def ours() -> dict[str, list[dict[str, Any]]]:
        found: dict[str, list[dict[str, Any]]] = {}
        for object_key, body in objects_under(s3, bucket, outputs["RawDataPrefix"]).items():
            lines = [json.loads(line, parse_float=Decimal) for line in body.splitlines()]
            mine = [line for line in lines if line["orderid"] == orderid]
            if mine:
                found[object_key] = mine
        return found if sum(map(len, found.values())) >= 3 else {}

    delivered = poll(ours, f"3 lines for {orderid}")

    name = OBJECT_NAME.format(stream=re.escape(outputs["DeliveryStreamName"]))
    for object_key, mine in delivered.items():
        # Hive partition by event time, the date of each line's creation_datetime.
        match = re.fullmatch(rf"{outputs['RawDataPrefix']}dt=(?P<dt>[\d-]+)/{name}", object_key)
        assert match, object_key
        assert {line["creation_datetime"][:10] for line in mine} == {match["dt"]}
    lines = sorted(
        (line for lines in delivered.values() for line in lines),
        key=lambda line: int(line["sequence_number"]),
    )
    assert [(line["cdc_event_type"], line["status"], line["is_deleted"]) for line in lines] == [
        ("INSERT", "PLACED", False),
        ("MODIFY", "PAID", False),
        ("REMOVE", "PAID", True),
    ]
    assert {(line["product_name"], line["quantity"], line["price"]) for line in lines} == {
        ("Café crème ☕", 2, Decimal("12.35"))
    }
    assert len({line["event_id"] for line in lines}) == 3
    assert all(line["creation_datetime"].endswith("Z") for line in lines)


def test_a_record_the_transform_cannot_parse_lands_under_the_error_prefix(
    aws_client: Callable[[str], Any], outputs: dict[str, str]
) -> None:
    s3, bucket = aws_client("s3"), outputs["DataBucketName"]
    garbage = f"not a stream record {uuid.uuid4()}".encode()
    aws_client("kinesis").put_record(
        StreamName=outputs["KinesisStreamName"], Data=garbage, PartitionKey="garbage"
    )
    prefix = f"{outputs['ErrorDataPrefix']}processing-failed/"

    def ours() -> list[tuple[str, dict[str, Any]]]:
        return [
            (object_key, record)
            for object_key, body in objects_under(s3, bucket, prefix).items()
            for record in map(json.loads, body.splitlines())
            if base64.b64decode(record["rawData"]) == garbage
        ]

    [(object_key, error)] = poll(ours, f"error record under {prefix}")

    # Partitioned by arrival date, as `!{timestamp:yyyy-MM-dd}` is on AWS.
    arrival = datetime.fromtimestamp(error["arrivalTimestamp"] / 1000, UTC)
    assert object_key.startswith(f"{prefix}dt={arrival:%Y-%m-%d}/")
    assert error["errorCode"] == "Lambda.ProcessingFailedStatus"
    assert error["lambdaArn"].startswith(outputs["TransformFunctionArn"])
    assert {"attemptsMade", "arrivalTimestamp", "errorMessage", "attemptEndingTimestamp"} <= set(
        error
    )
    # Nothing of it reached the data prefix.
    raw = objects_under(s3, bucket, outputs["RawDataPrefix"]).values()
    assert not any(garbage in body for body in raw)
