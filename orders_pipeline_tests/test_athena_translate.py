"""The translator and its pure helpers, directly (no stack): Trino's types and coercions, the
allow-list (anything unknown is a clear Athena error kind, never a DuckDB answer), DuckDB errors
mapped to Athena's kinds, Java's text of doubles, regex replacements and map order."""

from __future__ import annotations

import duckdb
import pytest

from orders_pipeline.local_stack.athena import errors, helpers, pyfunctions, sql, statements
from orders_pipeline.local_stack.athena import types as ty
from orders_pipeline.local_stack.athena.engine import fetchable
from orders_pipeline.local_stack.athena.errors import AthenaError
from orders_pipeline.local_stack.athena.results import (
    format_value,
    java_hash_map_order,
    parse_csv,
    render_csv,
)
from orders_pipeline.local_stack.athena.translate import Source, translate_query


def _no_tables(node, tree) -> Source:
    raise AthenaError("TABLE_NOT_FOUND", f"Table '{node.name}' does not exist")


def answer(text: str) -> tuple[list[list[str | None]], list[str]]:
    """The rows (as Athena's text) and typeof names of a table-less query."""
    statement = sql.parse_statement(text)
    translated, needed = translate_query(statement.tree, _no_tables, None)
    con = duckdb.connect()
    con.execute("SET TimeZone='UTC'")
    helpers.register(con, needed)
    try:
        rows = con.sql(fetchable(translated)).fetchall()
    except duckdb.Error as err:
        raise errors.from_duckdb(err) from None
    types = [t for _, t in translated.columns]
    return [[format_value(v, t) for v, t in zip(r, types, strict=True)] for r in rows], [
        str(t) for t in types
    ]


def kind_of(text: str) -> str:
    try:
        answer(text)
    except (AthenaError, sql.AthenaSqlError) as err:
        return str(err).split(":", 1)[0]
    raise AssertionError(f"{text!r} answered instead of failing")


@pytest.mark.parametrize(
    ("query", "rows", "types"),
    [
        ("SELECT 7 / 2, -7 % 3", [["3", "-1"]], ["integer", "integer"]),
        ("SELECT DECIMAL '10.00' / 3", [["3.33"]], ["decimal(4,2)"]),
        (
            "SELECT avg(x) FROM (VALUES DECIMAL '1.00', DECIMAL '2.05') t (x)",
            [["1.53"]],
            ["decimal(3,2)"],
        ),  # fmt: skip
        ("SELECT sum(x) FROM (VALUES 2147483647, 1) t (x)", [["2147483648"]], ["bigint"]),
        ("SELECT DATE '2024-01-31' + INTERVAL '1' MONTH", [["2024-02-29"]], ["date"]),
        ("SELECT nullif(1, 1), coalesce(NULL, 'x')", [[None, "x"]], ["integer", "varchar(1)"]),
        ("SELECT 1e7, 0.5e0", [["1.0E7", "0.5"]], ["double", "double"]),
        (
            "SELECT CAST(2.5e0 AS integer), CAST(-2.5e0 AS bigint)",
            [["3", "-3"]],
            ["integer", "bigint"],
        ),  # fmt: skip
        (
            "SELECT split_part('a,b', ',', 3), regexp_extract('ab', 'x')",
            [[None, None]],
            ["varchar", "varchar"],
        ),  # fmt: skip
        (
            "SELECT max_by(v, k) FROM (VALUES (NULL, 2), ('a', 1)) t (v, k)",
            [[None]],
            ["varchar(1)"],
        ),  # fmt: skip
        ("SELECT greatest(1, NULL), least(2, 3)", [[None, "2"]], ["integer", "integer"]),
        (
            "SELECT TIMESTAMP '2024-01-01 10:00:00.000 UTC' AT TIME ZONE 'Asia/Kolkata'",
            [["2024-01-01 15:30:00.000 Asia/Kolkata"]],
            ["timestamp(3) with time zone"],
        ),  # fmt: skip
        (
            "SELECT x FROM (VALUES 3, 1, NULL) t (x) ORDER BY x DESC",
            [["3"], ["1"], [None]],
            ["integer"],
        ),  # fmt: skip
    ],
)
def test_answers_and_types_are_trinos(query, rows, types):
    assert answer(query) == (rows, types)


@pytest.mark.parametrize(
    ("query", "kind"),
    [
        # DuckDB functions are not Athena functions, however harmless.
        ("SELECT list_filter(ARRAY[1], x -> x > 0)", "FUNCTION_NOT_FOUND"),
        ("SELECT strftime(DATE '2024-01-01', '%Y')", "FUNCTION_NOT_FOUND"),
        ("SELECT epoch_ms(1)", "FUNCTION_NOT_FOUND"),
        ("SELECT getenv('HOME')", "FUNCTION_NOT_FOUND"),
        ("SELECT length(1)", "FUNCTION_NOT_FOUND"),
        ("SELECT '1' = 1", "TYPE_MISMATCH"),
        ("SELECT 'a' + 1", "TYPE_MISMATCH"),
        ("SELECT CAST(ARRAY[1] AS varchar)", "TYPE_MISMATCH"),
        ("SELECT json_query('{}', 'lax $')", "FUNCTION_NOT_FOUND"),
        ("WITH RECURSIVE r (n) AS (SELECT 1) SELECT n FROM r", "NOT_SUPPORTED"),
        ("SELECT rank() OVER w FROM (VALUES 1) t (x)", "INVALID_WINDOW_REFERENCE"),
        ("SELECT count(*) FROM (VALUES 1) t (x) WHERE count(*) > 0", "EXPRESSION_NOT_SCALAR"),
        ("SELECT row_number()", "MISSING_OVER"),
        ("SELECT x, count(*) FROM (VALUES 1) t (x)", "EXPRESSION_NOT_AGGREGATE"),
        ("SELECT 1 / 0", "DIVISION_BY_ZERO"),
        ("SELECT CAST('x' AS integer)", "INVALID_CAST_ARGUMENT"),
        ("SELECT INTEGER '2147483647' + 1", "NUMERIC_VALUE_OUT_OF_RANGE"),
        ("SELECT ARRAY[1][2]", "INVALID_FUNCTION_ARGUMENT"),
        ("SELECT y FROM (VALUES 1) t (x)", "COLUMN_NOT_FOUND"),
        ("SELECT * FROM missing", "TABLE_NOT_FOUND"),
        ("SELECT format_datetime(TIMESTAMP '2024-01-01 00:00:00.000', 'G')", "NOT_SUPPORTED"),
    ],
)
def test_what_is_not_translated_faithfully_fails_with_athenas_kind(query, kind):
    assert kind_of(query) == kind


def test_an_unknown_function_is_named_with_its_position():
    with pytest.raises(AthenaError, match=r"FUNCTION_NOT_FOUND: line 1:8: Function 'foo' not"):
        answer("SELECT foo(1)")


def test_coercions_and_super_types():
    assert ty.common_super_type(ty.INTEGER, ty.decimal(2, 1)) == ty.decimal(11, 1)
    assert ty.common_super_type(ty.BIGINT, ty.DOUBLE) == ty.DOUBLE
    assert ty.common_super_type(ty.varchar(1), ty.varchar(3)) == ty.varchar(3)
    assert ty.common_super_type(ty.VARCHAR, ty.INTEGER) is None
    assert ty.can_coerce(ty.DATE, ty.timestamp(3)) and not ty.can_coerce(ty.VARCHAR, ty.DATE)
    assert str(ty.from_glue("struct<a:int,b:array<string>>")) == "row(a integer, b array(varchar))"
    assert ty.from_glue("decimal(18,2)").column_info() == ("decimal", 18, 2)


def test_duckdb_errors_map_to_athena_kinds():
    def mapped(error: duckdb.Error) -> str:
        return errors.from_duckdb(error).kind

    assert mapped(duckdb.InvalidInputException("Invalid Input Error: Division by zero")) == (
        "DIVISION_BY_ZERO"
    )
    assert mapped(duckdb.OutOfRangeException("Overflow in addition")) == (
        "NUMERIC_VALUE_OUT_OF_RANGE"
    )
    assert mapped(duckdb.ConversionException("Could not convert")) == "INVALID_CAST_ARGUMENT"
    raised = duckdb.InvalidInputException(
        "Python exception: ValueError: INVALID_FUNCTION_ARGUMENT: x"
    )
    assert mapped(raised) == "INVALID_FUNCTION_ARGUMENT"
    other = errors.from_duckdb(duckdb.InternalException("INTERNAL Error: boom\n\nLINE 1"))
    assert str(other) == "GENERIC_INTERNAL_ERROR: boom"


@pytest.mark.parametrize(
    ("value", "text"),
    [(1e7, "1.0E7"), (0.001, "0.001"), (1e-4, "1.0E-4"), (123.0, "123.0"), (-0.0, "-0.0")],
)
def test_doubles_print_as_java_does(value, text):
    assert pyfunctions.java_double(value) == text


def test_java_regex_replacement_syntax():
    assert pyfunctions.regexp_replace("abc", "(b)", "[$1]") == "a[b]c"
    assert pyfunctions.regexp_replace("abc", "(?<x>b)", "${x}${x}") == "abbc"
    assert pyfunctions.regexp_replace("a1", r"(\d)", r"\$$1") == "a$1"
    with pytest.raises(ValueError, match="INVALID_FUNCTION_ARGUMENT"):
        pyfunctions.regexp_replace("abc", "b", "$2")


def test_maps_print_in_java_hash_map_order():
    entries = [("first", "Bob"), ("last", "Smith"), ("age", "35")]
    assert [k for k, _ in java_hash_map_order(entries, ty.VARCHAR)] == ["last", "first", "age"]
    numbers = [(18, "a"), (1, "b"), (17, "c")]  # buckets 2, 1, 1
    assert [k for k, _ in java_hash_map_order(numbers, ty.INTEGER)] == [1, 17, 18]


def test_result_csv_round_trips_nulls_and_empty_strings():
    rows = [["a", None], ["", 'q"uote'], ["multi\nline", ""]]
    assert parse_csv(render_csv(["x", "y"], rows)) == [["x", "y"], *rows]


def test_execution_parameters_replace_placeholders_outside_strings():
    text = statements.bind_parameters("SELECT ?, '?' WHERE a = ?", ["1", "'x'"])
    assert text == "SELECT 1, '?' WHERE a = 'x'"
    with pytest.raises(AthenaError, match="INVALID_PARAMETER_USAGE"):
        statements.bind_parameters("SELECT ?", [])


def test_join_using_keeps_one_column_first_in_select_star():
    rows, types = answer(
        "SELECT * FROM (VALUES (1, 'a'), (2, 'b')) a (x, p) "
        "FULL JOIN (VALUES (3, 'c')) b (x, y) USING (x) ORDER BY x"
    )
    assert rows == [["1", "a", None], ["2", "b", None], ["3", None, "c"]]
    assert answer("SELECT x FROM (VALUES 1) a (x) JOIN (VALUES 1) b (x) USING (x)")[0] == [["1"]]


def test_array_set_functions_keep_first_occurrence_order_and_nulls():
    rows, _ = answer(
        "SELECT array_union(ARRAY[3, 1], ARRAY[2, 3, NULL]), "
        "array_intersect(ARRAY[3, 1, NULL], ARRAY[NULL, 1]), "
        "array_except(ARRAY[1, NULL, 2], ARRAY[2])"
    )
    assert rows == [["[3, 1, 2, null]", "[1, null]", "[1, null]"]]


@pytest.mark.parametrize(
    "query",
    [
        "SELECT sequence(1, 5, -1)",
        "SELECT sequence(1, 5, 0)",
        "SELECT repeat('a', -1)",
        "SELECT sequence(DATE '2024-03-01', DATE '2024-01-01', INTERVAL '1' MONTH)",
    ],
)
def test_what_trino_refuses_is_not_an_empty_array(query):
    assert kind_of(query) == "INVALID_FUNCTION_ARGUMENT"


def test_trim_removes_javas_whitespace():
    assert answer("SELECT trim(chr(9) || ' x' || chr(10)), ltrim(chr(13) || 'y')")[0] == [
        ["x", "y"]
    ]


def test_named_windows_and_ignore_nulls():
    rows, _ = answer(
        "SELECT i, rank() OVER w, last_value(x) IGNORE NULLS OVER (ORDER BY i ROWS BETWEEN "
        "UNBOUNDED PRECEDING AND CURRENT ROW) FROM (VALUES (1, 5), (2, NULL)) t (i, x) "
        "WINDOW w AS (ORDER BY i DESC) ORDER BY i"
    )
    assert rows == [["1", "2", "5"], ["2", "1", "5"]]
