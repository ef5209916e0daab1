"""Items other code writes (the original project's shape, every DynamoDB type, a 300 KB item,
missing and unreadable values) under all four stream views, through the deployed local
pipeline to the tables and the dashboard; the numbers against a pandas oracle of the table."""

import random
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import pandas as pd
import pytest
from boto3.dynamodb.types import Binary

from orders_pipeline.defs.resources import environment_from_outputs
from orders_pipeline.demo import BuildResult, pipeline, refresh_tables, wait_for_delivery
from orders_pipeline.dynamodb_writer import write_changes
from orders_pipeline.orders import generate_changes
from orders_pipeline.orders.model import parse_timestamp
from orders_pipeline_tests.isolated_stack import deploy_isolated_stack

pytestmark = pytest.mark.slow
# A stack's outputs, its table's items at the end, the build's result and its dashboard page.
Built = tuple[dict[str, str], pd.DataFrame, BuildResult, str]
VIEWS = ("NEW_AND_OLD_IMAGES", "NEW_IMAGE", "OLD_IMAGE", "KEYS_ONLY")
PRODUCTS = ("Lamp", "Desk", "Chair", "Rug")
ODD_ITEMS = (
    {
        "orderid": "odd-types",
        "product_name": "Globe",
        "quantity": 1,
        "price": Decimal("20.00"),
        "details": {"color": "red", "sizes": [1, Decimal("2.5")], "gift": True},
        "tags": {"fragile", "blue"},
        "ratings": {Decimal(1), Decimal(2)},
        "blobs": {Binary(b"\x00"), Binary(b"\xff")},
        "thumbnail": Binary(b"\x89PNG"),
        "note": None,
    },
    {
        "orderid": "odd-big",
        "product_name": "Poster",
        "quantity": 2,
        "price": Decimal("3.00"),
        "description": "x" * 300_000,
    },  # fmt: skip
    {"orderid": "odd-no-quantity", "product_name": "Lamp", "price": Decimal("12.50")},
    {"orderid": "odd-abc", "product_name": "Desk", "quantity": 1, "price": "abc"},
)


def original_items(count: int, seed: int) -> list[dict[str, Any]]:
    """What the original project's generator writes: a random orderid "1".."10000" (so some
    are rewritten), product_name, quantity and a Decimal price; nothing else."""
    rng = random.Random(seed)
    return [
        {
            "orderid": str(rng.randint(1, 10_000)),
            "product_name": rng.choice(PRODUCTS),
            "quantity": rng.randint(1, 5),
            "price": Decimal(rng.choice(("12.50", "99.99", "5.00"))),
        }
        for _ in range(count)
    ]


def stream_records(table_name: str) -> int:
    """The records on the table's DynamoDB stream: what Firehose must deliver."""
    dynamodb, streams = boto3.client("dynamodb"), boto3.client("dynamodbstreams")
    arn = dynamodb.describe_table(TableName=table_name)["Table"]["LatestStreamArn"]
    total = 0
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            page = streams.get_records(ShardIterator=iterator)
            total += len(page["Records"])
            if not page["Records"]:
                break
            iterator = page.get("NextShardIterator")
    return total


def write_workload(table_name: str) -> None:
    table = boto3.resource("dynamodb").Table(table_name)
    originals = original_items(200, seed=3)
    for item in [*originals, *ODD_ITEMS]:
        table.put_item(Item=item)
    # Orders of our own generator after them (with created_at, status, totals ...).
    start = parse_timestamp("start", pd.Timestamp.now("UTC").strftime("%Y-%m-%dT%H:%M:%S.000Z"))
    write_changes(table_name, generate_changes(20, seed=5, start=start))
    for item in originals[:10]:
        table.update_item(
            Key={"orderid": item["orderid"]},
            UpdateExpression="SET quantity = quantity + :one",
            ExpressionAttributeValues={":one": 1},
        )
    for item in originals[10:15]:
        table.delete_item(Key={"orderid": item["orderid"]})


def final_state(table_name: str) -> pd.DataFrame:
    """The table's items now: what orders_current must hold."""
    table = boto3.resource("dynamodb").Table(table_name)
    items, page = [], table.scan()
    items += page["Items"]
    while "LastEvaluatedKey" in page:
        page = table.scan(ExclusiveStartKey=page["LastEvaluatedKey"])
        items += page["Items"]
    return pd.DataFrame(items).set_index("orderid")


def number(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value)) if value is not None and not pd.isna(value) else None
    except ArithmeticError:
        return None


def sales_oracle(state: pd.DataFrame) -> dict[str, tuple[int, int, Decimal]]:
    """Per product of the orders without a category (the other code's items): orders, units and
    quantity x price, a value that is missing or not a number counting as nothing."""
    oracle: dict[str, tuple[int, int, Decimal]] = {}
    for _, item in state.iterrows():
        if "category" in item and isinstance(item["category"], str):
            continue
        quantity, price = number(item.get("quantity")), number(item.get("price"))
        orders, units, revenue = oracle.get(item["product_name"], (0, 0, Decimal("0.00")))
        oracle[item["product_name"]] = (
            orders + 1,
            units + int(quantity or 0),
            revenue + (quantity * price if quantity is not None and price is not None else 0),
        )
    return oracle


def with_environment(outputs: dict[str, str], work: Callable[[], Any]) -> Any:
    with pytest.MonkeyPatch.context() as env:
        for name, value in environment_from_outputs(outputs).items():
            env.setenv(name, value)
        return work()


@pytest.fixture(scope="module")
def built(local_stack) -> dict[str, Built]:
    """Per stream view: what one build of its stack gave (see Built)."""
    stacks = {
        view: deploy_isolated_stack(
            f"view-{view.lower().replace('_', '')[:8]}", OrdersTableStreamViewType=view
        )[1]
        for view in VIEWS
    }
    for outputs in stacks.values():
        write_workload(outputs["OrdersTableName"])
    built = {}
    for view, outputs in stacks.items():

        def build(outputs: dict[str, str] = outputs) -> BuildResult:
            expected = stream_records(outputs["OrdersTableName"])
            with pipeline() as pipe:
                wait_for_delivery(pipe.live.data_lake, expected, {}, timeout_seconds=180)
            return refresh_tables(say=lambda _: None)

        state = final_state(outputs["OrdersTableName"])
        result = with_environment(outputs, build)
        # Each build draws the page afresh: read it before the next one does.
        built[view] = (outputs, state, result, Path(result.dashboard).read_text())
    return built


@pytest.mark.parametrize("view", VIEWS)
def test_orders_current_holds_the_tables_orders_under_every_view(built, view):
    _, state, result, _ = built[view]
    current = result.tables["orders_current"]
    assert sorted(current["orderid"]) == sorted(state.index)


@pytest.mark.parametrize("view", ["NEW_AND_OLD_IMAGES", "NEW_IMAGE"])
def test_orders_current_holds_the_items_values(built, view):
    _, state, result, _ = built[view]
    current = result.tables["orders_current"].set_index("orderid")
    for orderid in ("odd-types", "odd-big", "odd-no-quantity", *state.index[:20]):
        item = state.loc[orderid]
        assert current.loc[orderid, "product_name"] == item["product_name"], orderid
        assert number(current.loc[orderid, "quantity"]) == number(item.get("quantity")), orderid
        assert number(current.loc[orderid, "price"]) == number(item["price"]), orderid
    assert pd.isna(current.loc["odd-abc", "price"])


@pytest.mark.parametrize("view", ["NEW_AND_OLD_IMAGES", "NEW_IMAGE"])
def test_daily_sales_of_the_other_codes_items_equal_the_oracle(built, view):
    _, state, result, _ = built[view]
    sales = result.tables["daily_sales"]
    sales = sales[sales["category"] == "unknown"].groupby("product_name")
    got = {
        product: (int(rows["orders"].sum()), int(rows["units"].sum()),
                  sum(rows["gross_revenue"], Decimal("0.00")))
        for product, rows in sales
    }  # fmt: skip
    assert got == sales_oracle(state)


def test_the_unreadable_price_is_quarantined_by_a_named_check(built):
    result = built["NEW_AND_OLD_IMAGES"][2]
    # The refresh's check and the daily check of every day both name it; nothing else fails.
    failed = {f.split(": ", 1)[0]: f for f in result.failed_checks}
    assert set(failed) == {"order_events:no_rejected_values", "order_events:all_days_quality"}
    assert all("e.g. odd-abc: price abc is not a decimal(18,2)" in f for f in failed.values())


def test_the_dashboard_shows_the_other_codes_products(built):
    page = built["NEW_AND_OLD_IMAGES"][3]
    # Its best sellers (far ahead of our 20 orders), under the category they lack.
    assert all(f'"{name}"' in page for name in (*PRODUCTS, "unknown"))
