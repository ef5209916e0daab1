"""DynamoDB's item size limit on the local stack: what moto enforces, checked once per item."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError

from orders_pipeline.local_stack.dynamodb.patches import ITEM_SIZE_LIMIT


@pytest.fixture
def table(aws_client: Callable[[str], Any]) -> str:
    name = f"item-size-{uuid.uuid4().hex[:8]}"
    aws_client("dynamodb").create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "orderid", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "orderid", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def _item(total_bytes: int, attributes: int = 40) -> dict[str, Any]:
    """An item of exactly `total_bytes` (names plus string values), over many attributes."""
    key = {"orderid": {"S": "o-1"}}
    left = total_bytes - len("orderid") - len("o-1")
    names = [f"a{i:02d}" for i in range(attributes)]
    share, rest = divmod(left - sum(len(n) for n in names), attributes)
    values = {n: {"S": "x" * (share + (1 if i < rest else 0))} for i, n in enumerate(names)}
    return {**key, **values}


def test_an_item_at_the_limit_is_stored_whole(aws_client, table) -> None:
    dynamodb = aws_client("dynamodb")
    dynamodb.put_item(TableName=table, Item=_item(ITEM_SIZE_LIMIT))
    stored = dynamodb.get_item(TableName=table, Key={"orderid": {"S": "o-1"}})["Item"]
    assert stored == _item(ITEM_SIZE_LIMIT)


def test_an_item_one_byte_over_the_limit_is_refused_as_dynamodb_does(aws_client, table) -> None:
    dynamodb = aws_client("dynamodb")
    with pytest.raises(ClientError) as raised:
        dynamodb.put_item(TableName=table, Item=_item(ITEM_SIZE_LIMIT + 1))
    assert raised.value.response["Error"]["Code"] == "ValidationException"
    assert "Item size has exceeded the maximum allowed size" in str(raised.value)
    assert "Item" not in dynamodb.get_item(TableName=table, Key={"orderid": {"S": "o-1"}})


def test_a_batch_with_an_oversized_item_is_refused(aws_client, table) -> None:
    with pytest.raises(ClientError, match="Item size has exceeded"):
        aws_client("dynamodb").batch_write_item(
            RequestItems={table: [{"PutRequest": {"Item": _item(ITEM_SIZE_LIMIT + 1)}}]}
        )
