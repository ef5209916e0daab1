"""`orders-pipeline demo` on a few thousand orders: every aggregate equals a pandas oracle."""

# The oracle is computed from the same seeded change stream the demo writes, replayed in memory.

import json
from collections import defaultdict
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd
import pytest
from click.testing import CliRunner

from orders_pipeline.cli import main
from orders_pipeline.orders import EventType, apply_changes, generate_changes
from orders_pipeline.orders.model import parse_timestamp
from orders_pipeline_tests.isolated_stack import deploy_isolated_stack, read_table

ORDERS, SEED, START = 2000, 7, "2025-06-01T08:00:00.000Z"
CENT = Decimal("0.01")
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def changes():
    return list(generate_changes(ORDERS, seed=SEED, start=parse_timestamp("start", START)))


@pytest.fixture(scope="module")
def demo_run(local_stack):
    stack_name, outputs = deploy_isolated_stack("e2e")
    arguments = ["--orders", str(ORDERS), "--seed", str(SEED), "--start", START]
    result = CliRunner().invoke(
        main, ["demo", *arguments, "--stack-name", stack_name], catch_exceptions=False
    )
    return outputs, result


@pytest.fixture(scope="module")
def outputs(demo_run):
    return demo_run[0]


def test_demo_exits_zero_and_prints_the_aggregates(demo_run, changes):
    _, result = demo_run
    assert result.exit_code == 0, result.output
    assert f"all checks passed ({len(changes)} changes, seed {SEED})" in result.output
    assert "daily_sales:" in result.output and "gross_revenue" in result.output


def test_order_events_hold_every_change_once(outputs, changes):
    events = read_table(outputs, "order_events")
    assert len(events) == len(changes)
    assert events["event_id"].is_unique


def test_orders_current_equals_the_final_table_state(outputs, changes):
    expected = apply_changes(changes)
    current = read_table(outputs, "orders_current").set_index("orderid")
    assert set(current.index) == set(expected)
    for orderid, item in expected.items():
        row = current.loc[orderid]
        assert (row["status"], row["order_total"]) == (item["status"], item["order_total"])


def money(value) -> Decimal:
    return Decimal(value).quantize(CENT, ROUND_HALF_UP)


def test_daily_sales_equal_the_oracle(outputs, changes):
    final = pd.DataFrame(apply_changes(changes).values())
    final["dt"] = final["created_at"].str[:10]
    final["gross"] = final["quantity"] * final["price"]
    final["lost"] = final["order_total"].where(
        final["status"].isin(["CANCELLED", "RETURNED"]), Decimal(0)
    )
    oracle = final.groupby(["dt", "category", "product_name"]).agg(
        orders=("orderid", "count"),
        units=("quantity", "sum"),
        gross_revenue=("gross", "sum"),
        discounts=("discount", "sum"),
        lost=("lost", "sum"),
        order_total=("order_total", "sum"),
    )
    table = read_table(outputs, "daily_sales").set_index(["dt", "category", "product_name"])
    assert set(table.index) == set(oracle.index)
    for key, want in oracle.iterrows():
        got = table.loc[key]
        assert (got["orders"], got["units"]) == (want["orders"], want["units"]), key
        assert got["gross_revenue"] == money(want["gross_revenue"]), key
        assert got["discounts"] == money(want["discounts"]), key
        net = want["gross_revenue"] - want["discounts"] - want["lost"]
        assert got["net_revenue"] == money(net), key
        # Athena rounds AVG of a DECIMAL itself; allow that one cent.
        assert abs(got["avg_order_value"] - want["order_total"] / want["orders"]) <= CENT, key


def test_status_funnel_equals_the_oracle(outputs, changes):
    reached: dict[str, set[str]] = defaultdict(set)
    created: dict[str, str] = {}
    for change in changes:
        if change.event_type is not EventType.REMOVE:
            reached[change.orderid].add(change.order.status.value)
            created[change.orderid] = change.order.to_item()["created_at"][:10]
    table = read_table(outputs, "daily_status_funnel").set_index("dt")
    assert set(table.index) == set(created.values())
    for dt, row in table.iterrows():
        orders = [o for o, day in created.items() if day == dt]
        assert row["placed"] == len(orders)
        for status, column in [
            ("PAID", "paid"),
            ("SHIPPED", "shipped"),
            ("DELIVERED", "delivered"),
            ("CANCELLED", "cancelled"),
            ("RETURNED", "returned"),
        ]:
            count = sum(status in reached[o] for o in orders)
            assert row[column] == count, (dt, column)
        assert row["paid_rate"] == pytest.approx(row["paid"] / row["placed"])
        assert row["cancellation_rate"] == pytest.approx(row["cancelled"] / row["placed"])


def test_hourly_cdc_activity_totals_equal_the_oracle(outputs, changes):
    table = read_table(outputs, "hourly_cdc_activity")
    by_type = pd.Series([c.event_type.value for c in changes]).value_counts()
    inserted = sum(
        (c.order.order_total for c in changes if c.event_type is EventType.INSERT), Decimal(0)
    )
    assert table["inserts"].sum() == by_type.get("INSERT", 0)
    assert table["modifies"].sum() == by_type.get("MODIFY", 0)
    assert table["removes"].sum() == by_type.get("REMOVE", 0)
    assert table["events"].sum() == len(changes)
    assert sum(table["inserted_revenue"], Decimal(0)) == inserted


def test_demo_exits_non_zero_naming_the_check_a_bad_row_fails(local_stack, aws_client):
    stack_name, outputs = deploy_isolated_stack("failing")
    now = datetime.now(UTC)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    bad_row = {
        "orderid": "bad-1", "customer_id": "C-1", "customer_name": "Ada", "product_id": "P-1",
        "product_name": "Atlas", "category": "Books", "quantity": 0, "price": 10.0,
        "discount": 0.0, "order_total": 0.0, "currency": "USD", "status": "PLACED",
        "payment_method": "paypal", "channel": "web", "shipping_country": "France",
        "shipping_city": "Lyon", "created_at": stamp, "updated_at": stamp,
        "cdc_event_type": "INSERT", "event_id": "injected-1", "sequence_number": "1",
        "creation_datetime": stamp[:19] + "Z", "is_deleted": False,
    }  # fmt: skip
    aws_client("s3").put_object(
        Bucket=outputs["DataBucketName"],
        Key=f"{outputs['RawDataPrefix']}dt={now:%Y-%m-%d}/injected-bad-row",
        Body=json.dumps(bad_row).encode() + b"\n",
    )
    result = CliRunner().invoke(main, ["demo", "--orders", "20", "--stack-name", stack_name])
    assert result.exit_code == 1
    assert "order_events:quantity_positive" in result.output
    assert "1 rows break: quantity > 0 where there is one" in result.output
