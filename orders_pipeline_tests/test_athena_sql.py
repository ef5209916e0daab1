"""Athena SQL parsing and translation to DuckDB (pure, no services)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import duckdb
import pytest
import sqlglot

from orders_pipeline.local_stack.athena import sql
from orders_pipeline.local_stack.athena.results import (
    athena_type,
    format_value,
    hive_type,
    render_csv,
    result_page,
)


def test_ctas_properties_are_parsed():
    statement = sql.parse_statement(
        "CREATE TABLE analytics.daily WITH (format='PARQUET', "
        "external_location='s3://bucket/analytics/daily/', partitioned_by=ARRAY['dt']) "
        "AS SELECT orderid, dt FROM orders_raw"
    )
    assert isinstance(statement, sql.CreateTableAs)
    assert statement.table == sql.TableRef("analytics", "daily")
    assert statement.data_format == "parquet"
    assert statement.location == "s3://bucket/analytics/daily/"
    assert statement.partitioned_by == ["dt"]


def test_ctas_without_properties_defaults_to_parquet_in_the_workgroup_location():
    statement = sql.parse_statement("CREATE TABLE t AS SELECT 1 AS a")
    assert isinstance(statement, sql.CreateTableAs)
    assert (statement.data_format, statement.location, statement.partitioned_by) == (
        "parquet",
        None,
        [],
    )


@pytest.mark.parametrize(
    ("suffix", "with_data"), [("", True), (" WITH DATA", True), (" WITH NO DATA", False)]
)
def test_ctas_with_no_data_is_parsed(suffix, with_data):
    statement = sql.parse_statement(
        "CREATE TABLE t WITH (format='PARQUET', external_location='s3://b/t/') "
        f"AS SELECT 1 AS a{suffix}"
    )
    assert isinstance(statement, sql.CreateTableAs)
    assert (statement.location, statement.with_data) == ("s3://b/t/", with_data)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "MSCK REPAIR TABLE orders_db.orders_raw",
            sql.RepairTable(sql.TableRef("orders_db", "orders_raw")),
        ),
        (
            "ALTER TABLE t ADD IF NOT EXISTS PARTITION (dt='2024-01-01') "
            "PARTITION (dt='2024-01-02') LOCATION 's3://b/x/'",
            sql.AddPartitions(
                sql.TableRef(None, "t"),
                [({"dt": "2024-01-01"}, None), ({"dt": "2024-01-02"}, "s3://b/x/")],
                True,
            ),
        ),
        (
            "alter table `t` drop partition (dt = '2024-01-01', hr = 3)",
            sql.DropPartitions(sql.TableRef(None, "t"), [{"dt": "2024-01-01", "hr": "3"}], False),
        ),
        ("SHOW TABLES IN orders_db 'orders*'", sql.ShowTables("orders_db", "orders*")),
        ("CREATE DATABASE IF NOT EXISTS analytics;", sql.CreateDatabase("analytics", True)),
        ("DROP TABLE IF EXISTS db.t", sql.DropTable(sql.TableRef("db", "t"), True, False)),
        ("DROP VIEW v", sql.DropTable(sql.TableRef(None, "v"), False, True)),
    ],
)
def test_ddl_statements_are_parsed(text, expected):
    assert sql.parse_statement(text) == expected


@pytest.mark.parametrize(
    "text",
    ["SELEC 1", "SELECT FROM WHERE", "SELECT 1; SELECT 2", "ALTER TABLE t ADD PARTITION dt='x'"],
)
def test_invalid_sql_is_rejected_with_a_message(text):
    with pytest.raises(sql.AthenaSqlError, match=r"\S"):
        sql.parse_statement(text)


@pytest.mark.parametrize(
    ("athena", "expected"),
    [
        ("SELECT max_by(a, b) AS m FROM t", [(2,)]),
        ("SELECT approx_distinct(a) AS n FROM t", [(2,)]),
        (
            "SELECT date_format(from_iso8601_timestamp('2024-03-05T10:11:12Z'), '%Y-%m-%d') AS d",
            [("2024-03-05",)],
        ),
        (
            "SELECT CAST(date_trunc('month', from_iso8601_timestamp('2024-03-05T10:11:12Z'))"
            " AS varchar) AS m",
            [("2024-03-01 00:00:00+00",)],
        ),
        ("SELECT regexp_like('abc', '^a') AS r", [(True,)]),
        ("SELECT json_extract_scalar('{\"k\": \"v\"}', '$.k') AS v", [("v",)]),
    ],
)
def test_translated_athena_functions_give_trino_answers(athena, expected):
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    con.execute("CREATE TABLE t AS SELECT * FROM (VALUES (1, 10), (2, 20)) v(a, b)")
    translated = sql.to_duckdb(sqlglot.parse_one(athena, read=sql.READ_DIALECT))
    assert con.sql(translated).fetchall() == expected


def test_unaliased_computed_columns_are_named_like_trino():
    translated = sql.to_duckdb(
        sqlglot.parse_one("SELECT a, count(*), a + 1 AS b FROM t GROUP BY a")
    )
    con = duckdb.connect()
    con.execute("CREATE TABLE t AS SELECT 1 AS a")
    assert con.sql(translated).columns == ["a", "_col1", "b"]


def test_catalog_prefix_is_dropped_and_database_kept():
    tree = sqlglot.parse_one("SELECT * FROM awsdatacatalog.Orders_DB.Orders_Raw", read="athena")
    assert sql.to_duckdb(tree) == "SELECT * FROM orders_db.orders_raw"


def test_ctes_are_not_catalog_tables():
    tree = sqlglot.parse_one("WITH x AS (SELECT * FROM orders_raw) SELECT * FROM x", read="athena")
    assert [t.name for t in sql.referenced_tables(tree)] == ["orders_raw"]


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("SELECT * FROM t WHERE dt = '2024-01-01' AND price > 3", ["dt = '2024-01-01'"]),
        ("SELECT * FROM t AS o WHERE o.dt IN ('a', 'b')", ["dt IN ('a', 'b')"]),
        ("SELECT * FROM t WHERE dt = '2024-01-01' OR price > 3", []),
        ("SELECT * FROM t JOIN u ON t.k = u.k WHERE dt = 'a'", []),
        ("SELECT * FROM t", []),
    ],
)
def test_partition_filters_are_only_taken_when_pruning_is_safe(query, expected):
    tree = sqlglot.parse_one(query, read="athena")
    table = next(t for t in sql.referenced_tables(tree) if t.name == "t")
    assert sql.partition_filters(tree, table, ["dt"]) == expected


@pytest.mark.parametrize(
    ("duckdb_type", "expected"),
    [
        ("VARCHAR", ("varchar", 2147483647, 0)),
        ("HUGEINT", ("bigint", 19, 0)),
        ("DECIMAL(38,2)", ("decimal", 38, 2)),
        ("TIMESTAMP WITH TIME ZONE", ("timestamp with time zone", 3, 0)),
        ("INTEGER[]", ("array", 0, 0)),
        ("STRUCT(a INTEGER)", ("row", 0, 0)),
    ],
)
def test_duckdb_types_map_to_athena_column_types(duckdb_type, expected):
    assert athena_type(duckdb_type) == expected


@pytest.mark.parametrize(
    ("duckdb_type", "expected"),
    [
        ("VARCHAR", "string"),
        ("DECIMAL(12,2)", "decimal(12,2)"),
        ("STRUCT(x INTEGER, y VARCHAR[])", "struct<x:int,y:array<string>>"),
        ("HUGEINT", "bigint"),
        ("TIMESTAMP WITH TIME ZONE", "timestamp"),
    ],
)
def test_duckdb_types_map_to_glue_column_types(duckdb_type, expected):
    assert hive_type(duckdb_type) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (True, "true"),
        (Decimal("12.50"), "12.50"),
        (1.5, "1.5"),
        (1e7, "1.0E7"),
        (dt.datetime(2024, 1, 2, 3, 4, 5, 678000), "2024-01-02 03:04:05.678"),
        (dt.date(2024, 1, 2), "2024-01-02"),
        ([1, None], "[1, null]"),
        ({"a": 1}, "{a=1}"),
    ],
)
def test_values_are_rendered_as_athena_text(value, expected):
    assert format_value(value) == expected


def test_result_csv_quotes_every_value_and_leaves_null_empty():
    csv = render_csv(["a", "b"], [['x"y', None], ["1", ""]])
    assert csv == b'"a","b"\n"x""y",\n"1",""\n'


def test_result_pages_chain_through_next_token():
    rows = [{"Data": [{"VarCharValue": str(i)}]} for i in range(5)]
    first, token = result_page(rows, 2, None)
    second, token2 = result_page(rows, 2, token)
    third, token3 = result_page(rows, 2, token2)
    assert [first, second, third, token3] == [rows[:2], rows[2:4], rows[4:], None]


@pytest.mark.parametrize("max_results", [0, 1001])
def test_page_size_outside_athena_limits_is_rejected(max_results):
    with pytest.raises(ValueError, match="MaxResults"):
        result_page([], max_results, None)
