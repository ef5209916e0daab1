"""The DynamoDB writer against a moto server: final items, stream records, pacing, duration."""

from __future__ import annotations

import time
import uuid
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from orders_pipeline.dynamodb_writer import Pacer, write_changes
from orders_pipeline.orders.changes import (
    ChangeMix,
    EventType,
    OrderChange,
    apply_changes,
    generate_changes,
)
from orders_pipeline.orders.model import OrderStatus

START = datetime(2025, 6, 1, 8, 0, tzinfo=UTC)
REGION = "us-east-1"
FEW_RETRIES = Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 2})


@pytest.fixture
def aws_env(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """Point default boto3 clients at the moto server with throwaway credentials."""
    for name, value in {
        "AWS_ENDPOINT_URL": moto_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return moto_endpoint


@pytest.fixture
def dynamodb(aws_env: str) -> Any:
    return boto3.resource("dynamodb", config=FEW_RETRIES)


@pytest.fixture
def orders_table(dynamodb: Any) -> Any:
    """A fresh orders table shaped like OrdersRawTable: key orderid, NEW_AND_OLD_IMAGES stream."""
    table = dynamodb.create_table(
        TableName=f"orders-{uuid.uuid4().hex[:8]}",
        KeySchema=[{"AttributeName": "orderid", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "orderid", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        StreamSpecification={"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"},
    )
    table.wait_until_exists()
    return table


def scan_items(table: Any) -> dict[str, dict[str, Any]]:
    items: dict[str, dict[str, Any]] = {}
    kwargs: dict[str, Any] = {"ConsistentRead": True}
    while True:
        page = table.scan(**kwargs)
        items.update({item["orderid"]: item for item in page["Items"]})
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def stream_records(table: Any, expected: int, timeout: float = 15.0) -> list[dict[str, Any]]:
    """Every record on the table's stream, polled until `expected` arrived or the deadline."""
    streams = boto3.client("dynamodbstreams", config=FEW_RETRIES)
    arn = table.latest_stream_arn
    deadline = time.monotonic() + timeout
    while True:
        records: list[dict[str, Any]] = []
        for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
            iterator = streams.get_shard_iterator(
                StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
            )["ShardIterator"]
            while iterator:
                page = streams.get_records(ShardIterator=iterator, Limit=1000)
                records += page["Records"]
                iterator = page.get("NextShardIterator") if page["Records"] else None
        if len(records) >= expected or time.monotonic() > deadline:
            return records
        time.sleep(0.1)


def per_order(records: list[dict[str, Any]]) -> dict[str, list[tuple[str, str | None]]]:
    """orderid -> [(eventName, new status or None)] in stream order."""
    history: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
    for record in records:
        image = record["dynamodb"].get("NewImage")
        history[record["dynamodb"]["Keys"]["orderid"]["S"]].append(
            (record["eventName"], image["status"]["S"] if image else None)
        )
    return history


def expected_history(changes: list[OrderChange]) -> dict[str, list[tuple[str, str | None]]]:
    history: dict[str, list[tuple[str, str | None]]] = defaultdict(list)
    for change in changes:
        status = change.order.status.value if change.order else None
        history[change.orderid].append((change.event_type.value, status))
    return history


def changes_of(count: int, **options: Any) -> list[OrderChange]:
    return list(generate_changes(count, **({"seed": 3, "start": START} | options)))


def test_table_ends_in_the_state_the_changes_describe(orders_table: Any, dynamodb: Any) -> None:
    changes = changes_of(120, mix=ChangeMix(delete_rate=0.2))
    write_changes(orders_table.name, changes, dynamodb_resource=dynamodb)
    expected = apply_changes(changes)
    assert scan_items(orders_table) == expected
    assert len(expected) < 120  # deletions landed too


def test_stream_carries_every_change_of_every_order_in_order(
    orders_table: Any, dynamodb: Any
) -> None:
    changes = changes_of(80, mix=ChangeMix(delete_rate=0.2, return_rate=0.3))
    write_changes(orders_table.name, changes, dynamodb_resource=dynamodb)
    records = stream_records(orders_table, expected=len(changes))
    assert per_order(records) == expected_history(changes)
    assert {r["eventName"] for r in records} == {"INSERT", "MODIFY", "REMOVE"}


def test_summary_counts_what_was_written(orders_table: Any, dynamodb: Any) -> None:
    changes = changes_of(100, mix=ChangeMix(delete_rate=0.2))
    summary = write_changes(orders_table.name, changes, dynamodb_resource=dynamodb)
    assert summary.written == len(changes)
    assert summary.by_event_type == dict(Counter(c.event_type.value for c in changes))
    assert summary.elapsed > 0
    assert summary.rate == pytest.approx(summary.written / summary.elapsed)
    assert summary.order_rate == pytest.approx(100 / summary.elapsed)


def test_successive_changes_of_one_order_in_one_batch_all_reach_the_stream(
    orders_table: Any, dynamodb: Any
) -> None:
    first, second = (
        c.order for c in changes_of(2, finish_lifecycles=False) if c.event_type is EventType.INSERT
    )
    paid = first.transition(OrderStatus.PAID, first.updated_at + timedelta(seconds=1))
    shipped = paid.transition(OrderStatus.SHIPPED, paid.updated_at + timedelta(seconds=1))
    changes = [
        OrderChange(EventType.INSERT, first.orderid, first),
        OrderChange(EventType.INSERT, second.orderid, second),
        OrderChange(EventType.MODIFY, first.orderid, paid),
        OrderChange(EventType.MODIFY, first.orderid, shipped),
        OrderChange(EventType.REMOVE, second.orderid, None),
    ]
    write_changes(orders_table.name, changes, dynamodb_resource=dynamodb)
    records = stream_records(orders_table, expected=len(changes))
    assert per_order(records) == expected_history(changes)
    modify = [r["dynamodb"] for r in records if r["eventName"] == "MODIFY"][0]
    assert (modify["OldImage"]["status"]["S"], modify["NewImage"]["status"]["S"]) == (
        "PLACED",
        "PAID",
    )
    assert scan_items(orders_table) == apply_changes(changes)


def test_money_lands_as_exact_numbers(orders_table: Any, dynamodb: Any) -> None:
    changes = changes_of(30)
    write_changes(orders_table.name, changes, dynamodb_resource=dynamodb)
    raw = boto3.client("dynamodb", config=FEW_RETRIES).scan(TableName=orders_table.name)["Items"]
    expected = apply_changes(changes)
    for item in raw:
        want = expected[item["orderid"]["S"]]
        for field in ("price", "discount", "order_total"):
            assert set(item[field]) == {"N"}
            # Compared as Decimal: DynamoDB may trim trailing zeros, but a float would show.
            assert Decimal(item[field]["N"]) == want[field]


def test_rate_paces_new_orders(orders_table: Any, dynamodb: Any) -> None:
    changes = changes_of(12, finish_lifecycles=False)
    summary = write_changes(orders_table.name, changes, rate=20.0, dynamodb_resource=dynamodb)
    # The first order goes at once, each later one waits for its token: 11 gaps of 1/20 s.
    assert summary.elapsed >= 11 / 20
    assert summary.elapsed < 11 / 20 + 3.0
    assert summary.by_event_type["INSERT"] == 12


def test_duration_stops_an_endless_stream_with_everything_reported_flushed(
    orders_table: Any, dynamodb: Any
) -> None:
    reported: list[OrderChange] = []
    summary = write_changes(
        orders_table.name,
        generate_changes(None, seed=9, start=START),
        rate=40.0,
        duration=1.0,
        progress=reported.append,
        dynamodb_resource=dynamodb,
    )
    assert 1.0 <= summary.elapsed < 3.0
    assert summary.written == len(reported) > 0
    assert summary.by_event_type["INSERT"] <= 40 + 1  # rate * duration plus the first token
    assert scan_items(orders_table) == apply_changes(reported)


def test_missing_table_raises_resource_not_found(dynamodb: Any) -> None:
    with pytest.raises(ClientError) as error:
        write_changes("no-such-table", changes_of(3), dynamodb_resource=dynamodb)
    assert error.value.response["Error"]["Code"] == "ResourceNotFoundException"


@pytest.mark.parametrize(
    "options,message",
    [
        ({"rate": 0}, "rate: must be > 0 orders per second, got 0"),
        ({"rate": -2.0}, "rate: must be > 0 orders per second, got -2.0"),
        ({"duration": 0}, "duration: must be > 0 seconds, got 0"),
    ],
)
def test_bad_rate_or_duration_is_refused_before_writing(
    options: dict[str, float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        write_changes("OrdersRawTable", [], **options)


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    "rate,steps,expected_waits",
    [
        # (advance clock by, then reserve) pairs; waits are what reserve() answers.
        (4.0, [0, 0, 0], [0.0, 0.25, 0.5]),
        (4.0, [0, 0.25, 0.25], [0.0, 0.0, 0.0]),
        (2.0, [0, 10, 0, 0, 0], [0.0, 0.0, 0.0, 0.5, 1.0]),  # idle time banks at most 1 s of tokens
        (0.5, [0, 0], [0.0, 2.0]),
    ],
    ids=["back-to-back", "on-schedule", "burst-capped", "slow-rate"],
)
def test_pacer_hands_out_rate_tokens_per_second(
    rate: float, steps: list[float], expected_waits: list[float]
) -> None:
    clock = FakeClock()
    pacer = Pacer(rate, clock=clock)
    waits = []
    for step in steps:
        clock.now += step
        waits.append(pacer.reserve())
    assert waits == pytest.approx(expected_waits)


def test_pacer_refuses_a_non_positive_rate() -> None:
    with pytest.raises(ValueError, match="rate: must be > 0, got 0"):
        Pacer(0)
