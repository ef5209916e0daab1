"""The analytics refresh on the local stack's Glue and Athena: what each table holds after known
changes, and that a refresh rewrites only what those changes touch, exactly."""

from decimal import Decimal

import pandas as pd
import pytest

from orders_pipeline import tables
from orders_pipeline.tables import (
    DAILY_SALES,
    DAILY_STATUS_FUNNEL,
    HOURLY_CDC_ACTIVITY,
    ORDER_EVENTS,
    ORDERS_CURRENT,
)
from orders_pipeline_tests.owned_lake import OwnedLake, change, keys_only

D1, D2, D3 = "2025-03-01", "2025-03-02", "2025-03-03"


def at(day: str, time: str = "10:00:00") -> str:
    return f"{day}T{time}Z"


@pytest.fixture
def lake(local_stack, aws_client):
    return OwnedLake(local_stack, aws_client, "refresh")


def build(lake: OwnedLake, records: list[dict]) -> OwnedLake:
    lake.refresh(lake.deliver(records))
    return lake


def current(lake: OwnedLake) -> dict[str, dict]:
    return {row["orderid"]: row for row in lake.table(ORDERS_CURRENT).to_dict("records")}


def test_order_events_keeps_one_row_per_event_id_when_a_change_is_delivered_twice(lake):
    first = change("o1", "e1", "100", at(D1))
    build(lake, [first, dict(first), change("o1", "e2", "101", at(D1, "11:00:00"))])
    assert list(lake.table(ORDER_EVENTS)["event_id"]) == ["e1", "e2"]


def test_order_events_types_money_as_decimal_and_the_event_time_as_a_timestamp(lake):
    build(lake, [change("o1", "e1", "1", at(D1, "10:00:01"), price=19.99, discount=0.99)])
    (row,) = lake.table(ORDER_EVENTS).to_dict("records")
    assert (row["price"], row["discount"], row["order_total"]) == (
        Decimal("19.99"),
        Decimal("0.99"),
        Decimal("38.99"),
    )
    assert str(row["creation_datetime"]) == f"{D1} 10:00:01"


def test_order_events_are_partitioned_by_event_day_then_creation_day(lake):
    build(
        lake,
        [
            change("o1", "e1", "1", at(D1)),
            change("o1", "e2", "2", at(D2), cdc_event_type="MODIFY", created=at(D1)),
            change("o2", "e3", "3", at(D2)),
        ],
    )
    assert sorted(lake.partition_locations(ORDER_EVENTS)) == [(D1, D1), (D2, D1), (D2, D2)]


def test_orders_current_takes_the_highest_sequence_number_numerically_not_as_text(lake):
    build(
        lake,
        [
            change("o1", "e1", "9", at(D1)),
            change("o1", "e2", "10", at(D1, "10:00:01"), cdc_event_type="MODIFY", status="PAID"),
        ],
    )
    row = current(lake)["o1"]
    assert (row["status"], row["last_event_id"]) == ("PAID", "e2")


def test_orders_current_drops_an_order_whose_latest_change_is_a_remove(lake):
    build(
        lake,
        [
            change("o1", "e1", "1", at(D1)),
            change("o1", "e2", "2", at(D1, "11:00:00"), cdc_event_type="REMOVE"),
            change("o2", "e3", "3", at(D1)),
        ],
    )
    assert list(current(lake)) == ["o2"]


def test_a_remove_that_holds_only_the_key_drops_the_order_from_its_creation_day(lake):
    build(lake, [change("o1", "e1", "1", at(D1)), change("o2", "e2", "2", at(D1))])
    build(lake, [keys_only("o1", "e3", "3", at(D3))])
    assert list(current(lake)) == ["o2"]
    assert lake.table(DAILY_SALES)["orders"].tolist() == [1]
    # Rewriting that day again (a re-run) keeps the order removed.
    lake.refresh([D1, D3])
    assert list(current(lake)) == ["o2"]


def test_a_late_change_lands_on_its_own_event_day_and_its_order_creation_day(lake):
    build(lake, [change("o1", "e1", "1", at(D1)), change("o2", "e2", "2", at(D2))])
    # Delivered after D2 was refreshed: a change captured on D1 (a Firehose retry, a replay).
    late = change("o1", "e9", "5", at(D1, "23:59:00"), cdc_event_type="MODIFY", status="PAID")
    build(lake, [late])
    hours = lake.table(HOURLY_CDC_ACTIVITY)
    assert hours[hours["dt"] == D1]["modifies"].sum() == 1
    assert current(lake)["o1"]["status"] == "PAID"
    funnel = lake.table(DAILY_STATUS_FUNNEL).set_index("dt")
    assert (funnel.loc[D1, "paid"], funnel.loc[D2, "paid"]) == (1, 0)


def test_an_older_change_delivered_after_a_newer_one_does_not_win(lake):
    build(lake, [change("o1", "e2", "20", at(D1, "11:00:00"), status="SHIPPED")])
    build(lake, [change("o1", "e1", "10", at(D1, "10:00:00"), status="PAID")])
    assert current(lake)["o1"]["status"] == "SHIPPED"


def test_daily_sales_nets_out_discounts_and_orders_now_cancelled_or_returned(lake):
    build(
        lake,
        [
            change("o1", "e1", "1", at(D1), quantity=2, price=10.0, discount=1.0),
            change("o2", "e2", "2", at(D1), quantity=1, price=10.0),
            change("o2", "e3", "3", at(D1, "11:00:00"), cdc_event_type="MODIFY",
                   status="CANCELLED", quantity=1, price=10.0),
            change("o3", "e4", "4", at(D1), quantity=3, price=10.0),
            change("o3", "e5", "5", at(D1, "11:00:00"), cdc_event_type="MODIFY",
                   status="RETURNED", quantity=3, price=10.0),
        ],
    )  # fmt: skip
    (row,) = lake.table(DAILY_SALES).to_dict("records")
    assert row == {
        "category": "Books",
        "product_name": "Atlas of Remote Islands",
        "orders": 3,
        "units": 6,
        "gross_revenue": Decimal("60.00"),
        "discounts": Decimal("1.00"),
        "net_revenue": Decimal("19.00"),  # 60 - 1 - 10 (cancelled) - 30 (returned)
        "avg_order_value": Decimal("19.67"),  # (19 + 10 + 30) / 3
        "dt": D1,
    }


def test_daily_sales_keeps_an_order_on_its_creation_day_when_it_changes_days_later(lake):
    build(lake, [change("o1", "e1", "1", at(D1))])
    build(lake, [change("o1", "e2", "2", at(D3), cdc_event_type="MODIFY", created=at(D1))])
    assert lake.table(DAILY_SALES)["dt"].tolist() == [D1]


def test_status_funnel_counts_orders_that_ever_reached_each_status(lake):
    def step(orderid, event_id, seq, status):
        return change(orderid, event_id, seq, at(D1, f"1{seq}:00:00"), cdc_event_type="MODIFY",
                      status=status)  # fmt: skip

    build(
        lake,
        [
            change("o1", "e1", "1", at(D1)), step("o1", "e2", "2", "PAID"),
            step("o1", "e3", "3", "SHIPPED"), change("o2", "e4", "4", at(D1)),
            step("o2", "e5", "5", "CANCELLED"), change("o3", "e6", "6", at(D1)),
            step("o3", "e7", "7", "PAID"), change("o4", "e8", "8", at(D1)),
        ],
    )  # fmt: skip
    (row,) = lake.table(DAILY_STATUS_FUNNEL).to_dict("records")
    assert row == {
        "placed": 4, "paid": 2, "shipped": 1, "delivered": 0, "cancelled": 1, "returned": 0,
        "paid_rate": 0.5, "shipped_rate": 0.25, "delivered_rate": 0.0,
        "cancellation_rate": 0.25, "return_rate": 0.0, "dt": D1,
    }  # fmt: skip


def test_hourly_cdc_activity_counts_events_and_inserted_revenue_per_utc_hour(lake):
    build(
        lake,
        [
            change("o1", "e1", "1", at(D1, "10:15:00"), quantity=1, price=5.0),
            change("o2", "e2", "2", at(D1, "10:59:59"), quantity=1, price=7.5),
            change("o1", "e3", "3", at(D1, "11:00:00"), cdc_event_type="MODIFY", quantity=1,
                   price=5.0),
            change("o1", "e4", "4", at(D1, "11:30:00"), cdc_event_type="REMOVE", quantity=1,
                   price=5.0),
        ],
    )  # fmt: skip
    rows = lake.table(HOURLY_CDC_ACTIVITY).to_dict("records")
    assert [
        (str(r["event_hour"]), r["inserts"], r["modifies"], r["removes"], r["events"],
         r["inserted_revenue"]) for r in rows
    ] == [
        (f"{D1} 10:00:00", 2, 0, 0, 2, Decimal("12.50")),
        (f"{D1} 11:00:00", 0, 1, 1, 2, Decimal("0.00")),
    ]  # fmt: skip


def test_a_refresh_rewrites_only_the_partitions_its_changes_touch(lake):
    build(lake, [change("o1", "e1", "1", at(D1)), change("o2", "e2", "2", at(D2))])
    before = {t.name: lake.partition_locations(t) for t in tables.ANALYTICS_TABLES}
    result = build(lake, [change("o3", "e3", "3", at(D2, "12:00:00"))]).refresh([D2])
    assert (result.event_days, result.creation_days) == ([D2], [D2])
    for table in tables.ANALYTICS_TABLES:
        after = lake.partition_locations(table)
        untouched = {k: v for k, v in before[table.name].items() if k[0] == D1}
        assert {k: v for k, v in after.items() if k[0] == D1} == untouched, table.name
        assert all(after[k] != v for k, v in before[table.name].items() if k[0] == D2)


def test_a_partition_moves_to_new_files_and_the_old_ones_are_deleted(lake):
    build(lake, [change("o1", "e1", "1", at(D1))])
    (old,) = lake.partition_locations(DAILY_SALES).values()
    lake.refresh([D1])
    (new,) = lake.partition_locations(DAILY_SALES).values()
    assert new != old and "/refresh=" in new
    old_prefix = old.removeprefix(f"s3://{lake.bucket}/")
    assert not lake.data_lake.has_objects(old_prefix)
    assert not [n for n in lake.glue.table_names() if "__refresh_" in n]


def test_refreshing_the_same_days_again_changes_no_table(lake):
    build(
        lake,
        [
            change("o1", "e1", "1", at(D1)),
            change("o1", "e2", "2", at(D2), cdc_event_type="MODIFY", created=at(D1),
                   status="PAID"),
            change("o2", "e3", "3", at(D2)),
        ],
    )  # fmt: skip
    first = {t.name: lake.table(t) for t in tables.ANALYTICS_TABLES}
    lake.refresh([D1, D2])
    for table in tables.ANALYTICS_TABLES:
        assert lake.table(table).equals(first[table.name]), table.name


def test_a_rebuild_from_every_day_equals_the_refreshes_day_by_day(lake, local_stack, aws_client):
    records = [
        change("o1", "e1", "1", at(D1)),
        change("o2", "e2", "2", at(D1, "12:00:00"), quantity=3),
        change("o1", "e3", "3", at(D2), cdc_event_type="MODIFY", created=at(D1), status="PAID"),
        change("o3", "e4", "4", at(D2)),
        change("o2", "e5", "5", at(D3), cdc_event_type="REMOVE", created=at(D1, "12:00:00")),
        change("o3", "e6", "6", at(D3), cdc_event_type="MODIFY", created=at(D2),
               status="CANCELLED"),
    ]  # fmt: skip
    for day in (D1, D2, D3):
        build(lake, [r for r in records if r["creation_datetime"].startswith(day)])
    whole = OwnedLake(local_stack, aws_client, "rebuild")
    whole.refresh(whole.deliver(records), rebuild=True)
    for table in tables.ANALYTICS_TABLES:
        assert lake.table(table).equals(whole.table(table)), table.name


def test_more_than_100_creation_days_in_one_event_day_are_written_in_batches(lake):
    # One day of changes to orders created on 120 different days (Athena writes at most 100
    # partitions per query).
    days = [f"2024-{m:02d}-{d:02d}" for m in range(1, 6) for d in range(1, 25)]
    records = [
        change(f"o{n}", f"e{n}", str(n), at(D1), cdc_event_type="MODIFY", created=at(day))
        for n, day in enumerate(days)
    ]
    result = build(lake, records).refresh([D1])
    assert len(result.creation_days) == 120
    assert len(lake.table(DAILY_SALES)) == 120
    assert result.tables[ORDER_EVENTS.name].partitions == 120


def test_a_stale_staging_table_of_a_failed_refresh_is_cleaned_up(lake):
    build(lake, [change("o1", "e1", "1", at(D1))])
    location = f"s3://{lake.bucket}/analytics/daily_sales/refresh=1/"
    lake.athena.run(
        f"CREATE TABLE {lake.database}.daily_sales__refresh_1 WITH (format = 'PARQUET', "
        f"external_location = '{location}', partitioned_by = ARRAY['dt']) AS "
        f"SELECT * FROM {lake.database}.daily_sales"
    )
    lake.refresh([D1])
    assert not [n for n in lake.glue.table_names() if "__refresh_" in n]
    assert not lake.data_lake.has_objects("analytics/daily_sales/refresh=1/")
    assert lake.table(DAILY_SALES)["orders"].tolist() == [1]


def test_a_table_laid_out_unlike_its_declaration_is_an_error_naming_the_rebuild(lake):
    build(lake, [change("o1", "e1", "1", at(D1))])
    lake.glue.delete_table(DAILY_SALES.name)
    lake.athena.run(
        f"CREATE TABLE {lake.database}.daily_sales WITH (format = 'PARQUET', "
        f"external_location = 's3://{lake.bucket}/old/daily_sales/', "
        "partitioned_by = ARRAY['dt']) AS SELECT 1 AS orders, dt "
        f"FROM {lake.database}.orders_current"
    )
    with pytest.raises(ValueError, match="daily_sales has the columns .* all_days: true"):
        lake.refresh([D1])
    lake.refresh([D1], rebuild=True)
    assert lake.table(DAILY_SALES)["orders"].tolist() == [1]


def test_a_value_unlike_the_crawlers_guess_is_rejected_alone_not_the_partition(lake):
    # The crawler saw numbers; a later record (no crawl: its columns are known) holds text.
    build(lake, [change("o1", "e1", "1", at(D1), quantity=2)])
    assert lake.glue.columns("orders_raw")["quantity"] == "string"
    build(lake, [change("o2", "e2", "2", at(D2), quantity="two"), change("o3", "e3", "3", at(D2))])
    events = lake.table(ORDER_EVENTS).set_index("event_id")
    assert events.loc["e2", "rejected"] == "quantity two is not an integer"
    assert events.loc["e3", "quantity"] == 2 and pd.isna(events.loc["e3", "rejected"])
    assert set(current(lake)) == {"o1", "o2", "o3"}


def bare(orderid, event_id, seq, when, **values):
    """A record of an item the original project's generator writes: no created_at, no status."""
    return {"orderid": orderid, **values, "cdc_event_type": "INSERT" if seq == "1" else
            "MODIFY", "event_id": event_id, "sequence_number": seq,
            "creation_datetime": when, "is_deleted": False}  # fmt: skip


def test_the_original_projects_item_shape_flows_to_every_table(lake):
    # Its generator writes orderid, product_name, quantity and price only; an order changed
    # later keeps the day it was first seen.
    build(
        lake,
        [
            bare("17", "e1", "1", at(D1), product_name="Lamp", quantity=2, price=12.5),
            bare("42", "e2", "1", at(D1), product_name="Lamp", quantity=1, price=12.5),
        ],
    )
    build(lake, [bare("17", "e3", "2", at(D2), product_name="Lamp", quantity=3, price=12.5)])
    assert lake.table(DAILY_SALES).to_dict("records") == [{
        "category": "unknown", "product_name": "Lamp", "orders": 2, "units": 4,
        "gross_revenue": Decimal("50.00"), "discounts": Decimal("0.00"),
        "net_revenue": Decimal("50.00"), "avg_order_value": Decimal("25.00"), "dt": D1,
    }]  # fmt: skip
    funnel = lake.table(DAILY_STATUS_FUNNEL).to_dict("records")
    assert [(r["dt"], r["placed"], r["paid"]) for r in funnel] == [(D1, 2, 0)]
    assert current(lake)["17"]["quantity"] == 3


def test_items_without_a_creation_time_among_ours_keep_the_day_they_were_first_seen(lake):
    # Other code's items in our table: no created_at, though the raw table has the column.
    build(
        lake,
        [
            bare("17", "e1", "1", at(D1), product_name="Lamp", quantity=2, price=12.5),
            change("o1", "e2", "1", at(D1)),
        ],
    )
    build(lake, [bare("17", "e3", "2", at(D2), product_name="Lamp", quantity=3, price=12.5)])
    rows = lake.table(ORDERS_CURRENT)
    assert rows[rows["orderid"] == "17"][["quantity", "dt"]].values.tolist() == [[3, D1]]
    events = lake.table(ORDER_EVENTS)
    assert set(events[events["orderid"] == "17"]["created_dt"]) == {D1}
