"""The analytics SQL: rendering rules, and what each table's query computes on known records."""

# Queries run on DuckDB after sqlglot's Athena -> DuckDB translation (the one the local Athena
# engine uses); the expected numbers are worked out by hand from the records.

from datetime import UTC, datetime
from decimal import Decimal

import duckdb
import pytest
import sqlglot

from orders_pipeline.defs.analytics.sql_templates import (
    AGGREGATE_TABLES,
    PARTITIONED_TABLES,
    check_query,
    drop_version,
    load_sql,
    partition_refresh,
    table_query,
    table_version,
    validate_partition_key,
    version_of,
    versioned_rebuild,
)

RAW_COLUMNS = {
    "orderid": "VARCHAR",
    "customer_id": "VARCHAR",
    "customer_name": "VARCHAR",
    "product_id": "VARCHAR",
    "product_name": "VARCHAR",
    "category": "VARCHAR",
    "quantity": "INTEGER",  # the crawler types JSON numbers: int / double
    "price": "DOUBLE",
    "discount": "DOUBLE",
    "order_total": "DOUBLE",
    "currency": "VARCHAR",
    "status": "VARCHAR",
    "payment_method": "VARCHAR",
    "channel": "VARCHAR",
    "shipping_country": "VARCHAR",
    "shipping_city": "VARCHAR",
    "created_at": "VARCHAR",
    "updated_at": "VARCHAR",
    "cdc_event_type": "VARCHAR",
    "event_id": "VARCHAR",
    "sequence_number": "VARCHAR",
    "creation_datetime": "VARCHAR",
    "is_deleted": "BOOLEAN",
    "dt": "VARCHAR",
}
DAY = "2025-03-01"


def event(
    orderid: str,
    event_id: str,
    sequence_number: str,
    *,
    cdc_event_type: str = "MODIFY",
    status: str = "PLACED",
    quantity: int = 1,
    price: float = 10.0,
    discount: float = 0.0,
    category: str = "Books",
    product_name: str = "Atlas",
    created_at: str = f"{DAY}T10:00:00.000Z",
    creation_datetime: str = f"{DAY}T10:00:01Z",
) -> dict:
    return {
        "orderid": orderid,
        "customer_id": "C-1",
        "customer_name": "Ada",
        "product_id": "P-1",
        "product_name": product_name,
        "category": category,
        "quantity": quantity,
        "price": price,
        "discount": discount,
        "order_total": round(quantity * price - discount, 2),
        "currency": "USD",
        "status": status,
        "payment_method": "paypal",
        "channel": "web",
        "shipping_country": "France",
        "shipping_city": "Lyon",
        "created_at": created_at,
        "updated_at": created_at,
        "cdc_event_type": cdc_event_type,
        "event_id": event_id,
        "sequence_number": sequence_number,
        "creation_datetime": creation_datetime,
        "is_deleted": cdc_event_type == "REMOVE",
        "dt": creation_datetime[:10],
    }


def athena_on_duckdb(con: duckdb.DuckDBPyConnection, athena_sql: str) -> None:
    con.execute(sqlglot.transpile(athena_sql, read="athena", write="duckdb")[0])


def build_tables(records: list[dict]) -> duckdb.DuckDBPyConnection:
    """DuckDB with `orders_db.orders_raw` holding `records` and every aggregate table built."""
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("CREATE SCHEMA orders_db")
    columns = ", ".join(f"{name} {kind}" for name, kind in RAW_COLUMNS.items())
    con.execute(f"CREATE TABLE orders_db.orders_raw ({columns})")
    placeholders = ", ".join("?" for _ in RAW_COLUMNS)
    con.executemany(
        f"INSERT INTO orders_db.orders_raw VALUES ({placeholders})",
        [[record[name] for name in RAW_COLUMNS] for record in records],
    )
    days = sorted({record["dt"] for record in records})
    for table in AGGREGATE_TABLES:
        for number, dt in enumerate(days if table in PARTITIONED_TABLES else [DAY]):
            query = table_query(table, database="orders_db", raw_table="orders_raw", dt=dt)
            statement = (
                "CREATE TABLE orders_db.{t} AS {q}"
                if number == 0
                else "INSERT INTO orders_db.{t} {q}"
            )
            athena_on_duckdb(con, statement.format(t=table, q=query))
    return con


def rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    cursor = con.execute(sql)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@pytest.mark.parametrize(
    "bad_key", ["2025-3-01", "2025-02-30", "20250301", "2025-03-01' OR '1'='1", "", None]
)
def test_partition_keys_that_are_not_calendar_dates_are_refused(bad_key):
    with pytest.raises(ValueError, match=r"partition key \(dt\)"):
        validate_partition_key(bad_key)


@pytest.mark.parametrize("bad_name", ["orders-db", "Orders", "db; DROP TABLE x", ""])
def test_database_names_that_are_not_plain_glue_names_are_refused(bad_name):
    with pytest.raises(ValueError, match="database must be a lower-case Glue name"):
        table_query("order_events", database=bad_name, raw_table="orders_raw", dt=DAY)


def test_unknown_table_is_refused_with_the_known_names():
    with pytest.raises(ValueError, match="table must be one of order_events, orders_current"):
        table_query("sales", database="orders_db", raw_table="orders_raw", dt=DAY)


@pytest.mark.parametrize("name", [f"{table}.sql" for table in AGGREGATE_TABLES])
def test_sql_files_lose_their_comment_lines_because_athena_rejects_leading_comments(name):
    assert not any(line.lstrip().startswith("--") for line in load_sql(name).splitlines())


def test_partition_refresh_targets_only_that_partition():
    plan = partition_refresh(
        "daily_sales",
        database="orders_db",
        raw_table="orders_raw",
        bucket="data",
        analytics_prefix="analytics/",
        dt=DAY,
    )
    assert plan.table_prefix == "analytics/daily_sales/"
    assert plan.partition_prefix == f"analytics/daily_sales/dt={DAY}/"
    assert plan.drop_partition == (
        f"ALTER TABLE orders_db.daily_sales DROP IF EXISTS PARTITION (dt = '{DAY}')"
    )
    assert plan.insert.startswith("INSERT INTO orders_db.daily_sales\nSELECT")
    assert f"WHERE substr(created_at, 1, 10) = '{DAY}'" in plan.insert
    assert "external_location = 's3://data/analytics/daily_sales/'" in plan.create_table
    assert "partitioned_by = ARRAY['dt']" in plan.create_table


def test_orders_current_is_rebuilt_as_a_new_version_behind_a_view():
    version = table_version(datetime(2025, 6, 1, 8, 0, 0, 123456, tzinfo=UTC))
    plan = versioned_rebuild(
        "orders_current",
        database="orders_db",
        raw_table="orders_raw",
        bucket="data",
        analytics_prefix="analytics",
        version=version,
    )
    assert version == "20250601080000123456"
    assert plan.version_table == f"orders_current_v{version}"
    assert plan.version_prefix == f"analytics/orders_current/v={version}/"
    assert plan.create_version.startswith(f"CREATE TABLE orders_db.orders_current_v{version}\n")
    assert f"external_location = 's3://data/analytics/orders_current/v={version}/'" in (
        plan.create_version
    )
    assert plan.replace_view == (
        "CREATE OR REPLACE VIEW orders_db.orders_current AS\n"
        f"SELECT * FROM orders_db.orders_current_v{version}"
    )
    assert drop_version("orders_current", database="orders_db", version=version) == (
        f"DROP TABLE IF EXISTS orders_db.orders_current_v{version}"
    )
    for statement in (plan.create_version, plan.replace_view):
        assert sqlglot.parse_one(statement, read="athena") is not None


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("orders_current_v20250601080000123456", "20250601080000123456"),
        ("orders_current", None),
        ("orders_current_v2025", None),
        ("daily_sales_v20250601080000123456", None),
    ],
)
def test_only_names_of_versions_are_read_as_versions(name, expected):
    assert version_of("orders_current", name) == expected


def test_a_version_label_must_be_twenty_digits():
    with pytest.raises(ValueError, match="version must be 20 digits"):
        versioned_rebuild(
            "orders_current",
            database="orders_db",
            raw_table="orders_raw",
            bucket="data",
            analytics_prefix="analytics",
            version="1; DROP",
        )


def test_every_athena_statement_parses_in_the_athena_dialect():
    plan = partition_refresh(
        "order_events",
        database="orders_db",
        raw_table="orders_raw",
        bucket="data",
        analytics_prefix="analytics/",
        dt=DAY,
    )
    for statement in (plan.create_table, plan.insert):
        assert sqlglot.parse_one(statement, read="athena") is not None


def test_order_events_keeps_one_row_per_event_id_when_the_stream_is_replayed():
    first = event("o1", "e1", "100", cdc_event_type="INSERT")
    con = build_tables([first, dict(first), event("o1", "e2", "101", status="PAID")])
    result = rows(con, "SELECT event_id FROM orders_db.order_events ORDER BY event_id")
    assert [row["event_id"] for row in result] == ["e1", "e2"]


def test_order_events_types_money_as_decimal_and_event_time_as_timestamp():
    con = build_tables([event("o1", "e1", "1", price=19.99, discount=0.99, quantity=1)])
    (row,) = rows(
        con, "SELECT price, discount, order_total, creation_datetime FROM orders_db.order_events"
    )
    assert (row["price"], row["discount"], row["order_total"]) == (
        Decimal("19.99"),
        Decimal("0.99"),
        Decimal("19.00"),
    )
    assert row["creation_datetime"] == datetime(2025, 3, 1, 10, 0, 1)


def test_orders_current_takes_the_highest_sequence_number_numerically_not_as_text():
    con = build_tables(
        [
            event("o1", "e1", "9", cdc_event_type="INSERT", status="PLACED"),
            event("o1", "e2", "10", status="PAID"),
        ]
    )
    (row,) = rows(con, "SELECT status, last_event_id FROM orders_db.orders_current")
    assert (row["status"], row["last_event_id"]) == ("PAID", "e2")


def test_orders_current_drops_orders_whose_latest_change_is_a_remove():
    con = build_tables(
        [
            event("o1", "e1", "1", cdc_event_type="INSERT"),
            event("o1", "e2", "2", cdc_event_type="REMOVE"),
            event("o2", "e3", "3", cdc_event_type="INSERT"),
        ]
    )
    assert [r["orderid"] for r in rows(con, "SELECT orderid FROM orders_db.orders_current")] == [
        "o2"
    ]


def test_daily_sales_nets_out_discounts_and_orders_now_cancelled_or_returned():
    con = build_tables(
        [
            event("o1", "e1", "1", cdc_event_type="INSERT", quantity=2, price=10.0, discount=1.0),
            event("o2", "e2", "2", cdc_event_type="INSERT", quantity=1, price=10.0),
            event("o2", "e3", "3", status="CANCELLED", quantity=1, price=10.0),
            event("o3", "e4", "4", cdc_event_type="INSERT", quantity=3, price=10.0),
            event("o3", "e5", "5", status="RETURNED", quantity=3, price=10.0),
        ]
    )
    (row,) = rows(con, "SELECT * FROM orders_db.daily_sales")
    assert row == {
        "category": "Books",
        "product_name": "Atlas",
        "orders": 3,
        "units": 6,
        "gross_revenue": Decimal("60.00"),
        "discounts": Decimal("1.00"),
        "net_revenue": Decimal("19.00"),  # 60 - 1 - 10 (cancelled) - 30 (returned)
        "avg_order_value": Decimal("19.67"),  # (19 + 10 + 30) / 3
        "dt": DAY,
    }


def test_daily_sales_puts_an_order_on_its_creation_day_even_when_it_changes_later():
    later = "2025-03-02T08:00:00Z"
    con = build_tables(
        [
            event("o1", "e1", "1", cdc_event_type="INSERT"),
            event("o1", "e2", "2", status="PAID", creation_datetime=later),
        ]
    )
    assert [r["dt"] for r in rows(con, "SELECT dt FROM orders_db.daily_sales")] == [DAY]


def test_status_funnel_counts_orders_that_ever_reached_each_status():
    con = build_tables(
        [
            event("o1", "e1", "1", cdc_event_type="INSERT"),
            event("o1", "e2", "2", status="PAID"),
            event("o1", "e3", "3", status="SHIPPED"),
            event("o2", "e4", "4", cdc_event_type="INSERT"),
            event("o2", "e5", "5", status="CANCELLED"),
            event("o3", "e6", "6", cdc_event_type="INSERT"),
            event("o3", "e7", "7", status="PAID"),
            event("o4", "e8", "8", cdc_event_type="INSERT"),
        ]
    )
    (row,) = rows(con, "SELECT * FROM orders_db.daily_status_funnel")
    assert row == {
        "placed": 4,
        "paid": 2,
        "shipped": 1,
        "delivered": 0,
        "cancelled": 1,
        "returned": 0,
        "paid_rate": 0.5,
        "shipped_rate": 0.25,
        "delivered_rate": 0.0,
        "cancellation_rate": 0.25,
        "return_rate": 0.0,
        "dt": DAY,
    }


def test_hourly_cdc_activity_counts_events_and_inserted_revenue_per_utc_hour():
    con = build_tables(
        [
            event(
                "o1",
                "e1",
                "1",
                cdc_event_type="INSERT",
                price=5.0,
                creation_datetime=f"{DAY}T10:15:00Z",
            ),
            event(
                "o2",
                "e2",
                "2",
                cdc_event_type="INSERT",
                price=7.5,
                creation_datetime=f"{DAY}T10:59:59Z",
            ),
            event("o1", "e3", "3", status="PAID", creation_datetime=f"{DAY}T11:00:00Z"),
            event("o1", "e4", "4", cdc_event_type="REMOVE", creation_datetime=f"{DAY}T11:30:00Z"),
        ]
    )
    result = rows(con, "SELECT * FROM orders_db.hourly_cdc_activity ORDER BY event_hour")
    assert result == [
        {
            "event_hour": datetime(2025, 3, 1, 10),
            "inserts": 2,
            "modifies": 0,
            "removes": 0,
            "events": 2,
            "inserted_revenue": Decimal("12.50"),
            "dt": DAY,
        },
        {
            "event_hour": datetime(2025, 3, 1, 11),
            "inserts": 0,
            "modifies": 1,
            "removes": 1,
            "events": 2,
            "inserted_revenue": Decimal("0.00"),
            "dt": DAY,
        },
    ]


@pytest.mark.parametrize(
    ("check", "bad_record"),
    [
        ("raw_invalid_cdc_event_type", {"cdc_event_type": "UPSERT"}),
        ("raw_negative_price", {"price": -1.0}),
        ("raw_non_positive_quantity", {"quantity": 0}),
        ("raw_null_orderid", {"orderid": None}),
    ],
)
def test_raw_table_checks_count_the_records_that_break_them(check, bad_record):
    good = event("o1", "e1", "1", cdc_event_type="INSERT")
    bad = {**event("o2", "e2", "2", cdc_event_type="INSERT"), **bad_record}
    con = build_tables([good, bad])
    query = check_query(check, database="orders_db", raw_table="orders_raw")
    (row,) = rows(con, sqlglot.transpile(query, read="athena", write="duckdb")[0])
    assert (row["failing_rows"], row["example"]) == (1, "e2")
