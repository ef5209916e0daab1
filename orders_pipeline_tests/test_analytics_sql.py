"""The analytics SQL as text: what is pasted into it is checked, every statement parses as
Athena SQL, and raw columns are typed as declared (what the SQL computes is tested on the
local Athena, in test_analytics_refresh)."""

from importlib import resources

import pytest
import sqlglot

from orders_pipeline import tables
from orders_pipeline.defs.analytics import sql_templates as sql
from orders_pipeline.lib.sql import validate_day

DAY = "2025-03-01"
RAW_COLUMNS = {c.name: "string" for c in (*tables.ORDER_ATTRIBUTES, *tables.CDC_COLUMNS)} | {
    "quantity": "int",
    "price": "double",
    "discount": "double",
    "order_total": "double",
    "is_deleted": "boolean",
}


def every_statement() -> dict[str, str]:
    """One of each statement the refresh and the checks run."""
    query = sql.daily_sales_query(database="orders_db", creation_days=[DAY])
    return {
        "order_events": sql.order_events_query(
            RAW_COLUMNS, database="orders_db", raw_table="orders_raw", event_days=[DAY]
        ),
        "order_events_without_created_at": sql.order_events_query(
            {k: v for k, v in RAW_COLUMNS.items() if k != "created_at"},
            database="orders_db",
            raw_table="orders_raw",
            event_days=[DAY],
        ),
        "creation_days": sql.creation_days_query(database="orders_db", event_days=[DAY]),
        "keyless": sql.keyless_creation_days_query(database="orders_db", event_days=[DAY]),
        "orders_current": sql.orders_current_query(database="orders_db", creation_days=[DAY]),
        "daily_sales": query,
        "funnel": sql.daily_status_funnel_query(database="orders_db", creation_days=[DAY]),
        "hourly": sql.hourly_cdc_activity_query(database="orders_db", event_days=[DAY]),
        "create": sql.create_table_statement(
            tables.DAILY_SALES, database="orders_db", location="s3://b/a/", query=query
        ),
        "partition_values": sql.partition_values_query(tables.DAILY_SALES, query=query),
        "insert_partitions": sql.insert_partitions_statement(
            tables.DAILY_SALES, database="orders_db", name="x", query=query, partitions=[[DAY]]
        ),
        "drop": sql.drop_partitions_statement(
            tables.ORDER_EVENTS, database="orders_db", partitions=[[DAY, "unknown"]]
        ),
        "quality": sql.quality_query(database="orders_db", event_days=[DAY], creation_days=[]),
        "quality_everywhere": sql.quality_query(
            database="orders_db", event_days=None, creation_days=None
        ),
        "states": sql.orders_current_states_query(database="orders_db"),
    }


@pytest.mark.parametrize(
    "bad_day", ["2025-3-01", "2025-02-30", "20250301", "2025-03-01' OR '1'='1", "", None]
)
def test_days_that_are_not_calendar_dates_are_refused(bad_day):
    with pytest.raises(ValueError, match=r"partition key \(dt\)"):
        validate_day(bad_day)


@pytest.mark.parametrize("bad_name", ["orders-db", "Orders", "db; DROP TABLE x", ""])
def test_database_names_that_are_not_plain_glue_names_are_refused(bad_name):
    with pytest.raises(ValueError, match="database must be a lower-case Glue name"):
        sql.daily_sales_query(database=bad_name, creation_days=[DAY])


def test_an_unknown_table_is_refused_naming_the_known_ones():
    with pytest.raises(ValueError, match="table must be one of orders_raw, order_events"):
        tables.table("sales")


def test_a_creation_day_partition_value_is_a_day_or_unknown():
    with pytest.raises(ValueError, match=r"partition key \(created_dt\)"):
        sql.drop_partitions_statement(
            tables.ORDER_EVENTS, database="orders_db", partitions=[[DAY, "x' OR 1=1"]]
        )


def test_a_partition_needs_one_value_per_partition_key():
    with pytest.raises(ValueError, match="order_events partitions have 2 values"):
        sql.drop_partitions_statement(tables.ORDER_EVENTS, database="db", partitions=[[DAY]])


@pytest.mark.parametrize("name", sorted(every_statement()))
def test_every_statement_parses_as_athena_sql(name):
    assert sqlglot.parse_one(every_statement()[name], read="athena") is not None


def test_sql_files_lose_their_comment_lines_because_athena_rejects_a_leading_comment():
    for name, statement in every_statement().items():
        assert not statement.lstrip().startswith("--"), name


def test_every_sql_file_is_used():
    folder = resources.files("orders_pipeline.defs.analytics").joinpath("sql")
    files = {
        f"{sub.name}/{f.name}" if sub.is_dir() else sub.name
        for sub in folder.iterdir()
        for f in (sub.iterdir() if sub.is_dir() else [sub])
        if f.name.endswith(".sql")
    }
    source = resources.files("orders_pipeline.defs.analytics").joinpath("sql_templates.py")
    text = source.read_text()
    assert {f for f in files if f'"{f}"' not in text} == set()


def test_creation_day_tables_read_order_events_by_creation_day_only():
    for name in ("orders_current", "funnel"):
        statement = every_statement()[name]
        assert f"created_dt IN ('{DAY}')" in statement
        assert "dt >=" not in statement, name


def test_event_day_statements_read_only_their_days():
    for name in ("order_events", "creation_days", "hourly"):
        assert f"dt IN ('{DAY}')" in every_statement()[name], name


def test_a_column_the_raw_table_lacks_is_null():
    expression, rejection = sql.typed_value("discount", "decimal(18,2)", None)
    assert (expression, rejection) == ("CAST(NULL AS decimal(18,2))", None)


def test_a_value_that_does_not_convert_is_null_and_rejected_with_its_raw_text():
    expression, rejection = sql.typed_value("quantity", "integer", "string")
    assert expression == "TRY_CAST(delivered.quantity AS integer)"
    assert rejection.condition == (
        "delivered.quantity IS NOT NULL AND TRY_CAST(delivered.quantity AS integer) IS NULL"
    )
    assert rejection.raw_value == "CAST(delivered.quantity AS VARCHAR)"


@pytest.mark.parametrize("glue_type", ["struct<a:int>", "array<string>", "map<string,int>"])
def test_a_structure_where_a_plain_value_belongs_is_rejected(glue_type):
    expression, rejection = sql.typed_value("price", "decimal(18,2)", glue_type)
    assert expression == "CAST(NULL AS decimal(18,2))"
    assert rejection.condition == "delivered.price IS NOT NULL"


def test_records_without_created_at_take_the_day_the_order_was_first_seen():
    statement = every_statement()["order_events_without_created_at"]
    assert "coalesce(known.created_dt, delivered.batch_first_day, 'unknown')" in statement
    assert "WHERE dt >= '2025-02-22' AND dt < '2025-03-01'" in statement


def test_without_earlier_events_to_read_the_first_day_comes_from_the_batch_alone():
    statement = sql.order_events_query(
        {"orderid": "string", "created_at": "string"},
        database="db",
        raw_table="orders_raw",
        event_days=["2025-03-01"],
        earlier_events=False,
    )
    assert "known." not in statement and "LEFT JOIN" not in statement
    assert (
        "CASE WHEN CAST(delivered.created_at AS VARCHAR) IS NULL "
        "THEN coalesce(delivered.batch_first_day, 'unknown')"
    ) in statement


def test_the_partition_keys_of_each_table_are_its_last_columns():
    assert tables.ORDER_EVENTS.column_names[-2:] == ("dt", "created_dt")
    for table in (tables.ORDERS_CURRENT, tables.DAILY_SALES, tables.HOURLY_CDC_ACTIVITY):
        assert table.column_names[-1] == "dt"
