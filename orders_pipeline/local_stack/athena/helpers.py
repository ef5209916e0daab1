"""The DuckDB macros and Python UDFs translated queries call (`__t_<name>`), registered on a query's
connection only when its translation asked for them (each costs a millisecond or two)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import duckdb

from orders_pipeline.local_stack.athena import pydatetime as pd
from orders_pipeline.local_stack.athena import pyfunctions as pf
from orders_pipeline.local_stack.athena import zones


@dataclass(frozen=True)
class Udf:
    function: Callable
    parameters: tuple[str, ...]
    returns: str


V, B, INT, D, BOOL = "VARCHAR", "BIGINT", "INTEGER", "DOUBLE", "BOOLEAN"

UDFS: dict[str, Udf] = {
    "raise": Udf(pf.raise_error, (V,), V),
    "check": Udf(pf.check, (BOOL, V), BOOL),
    "url_encode": Udf(pf.url_encode, (V,), V),
    "lower": Udf(pf.java_lower, (V,), V),
    "upper": Udf(pf.java_upper, (V,), V),
    "url_decode": Udf(pf.url_decode, (V,), V),
    "decimal_divide": Udf(pf.decimal_divide, (V, V, INT), V),
    "decimal_modulus": Udf(pf.decimal_modulus, (V, V, INT), V),
    "decimal_truncate": Udf(pf.decimal_truncate, (V, INT), V),
    "double_text": Udf(pf.java_double, (D, BOOL), V),
    "double_json": Udf(pf.double_json, (D,), "JSON"),
    "json_parse": Udf(pf.json_parse, (V,), "JSON"),
    "json_canonical": Udf(pf.json_canonical, (V,), "JSON"),
    "json_cast": Udf(pf.json_cast, (V, V), V),
    "json_extract": Udf(pf.json_extract, (V, V), "JSON"),
    "json_extract_scalar": Udf(pf.json_extract_scalar, (V, V), V),
    "json_size": Udf(pf.json_size, (V, V), B),
    "json_array_get": Udf(pf.json_array_get, (V, B), "JSON"),
    "json_array_length": Udf(pf.json_array_length, (V,), B),
    "json_array_contains": Udf(pf.json_array_contains, (V, V), BOOL),
    "is_json_scalar": Udf(pf.is_json_scalar, (V,), BOOL),
    "json_format": Udf(pf.json_format, (V,), V),
    "regexp_like": Udf(pf.regexp_like, (V, V), BOOL),
    "regexp_extract": Udf(pf.regexp_extract, (V, V, B), V),
    "regexp_extract_all": Udf(pf.regexp_extract_all, (V, V, B), "VARCHAR[]"),
    "regexp_count": Udf(pf.regexp_count, (V, V), B),
    "regexp_position": Udf(pf.regexp_position, (V, V, B, B), B),
    "regexp_replace": Udf(pf.regexp_replace, (V, V, V), V),
    "regexp_segments": Udf(
        pf.regexp_segments, (V, V), "STRUCT(t VARCHAR, m BOOLEAN, g VARCHAR[])[]"
    ),
    "regexp_split": Udf(pf.regexp_split, (V, V), "VARCHAR[]"),
    "replace_all": Udf(pf.replace_all, (V, V, V), V),
    "strpos_instance": Udf(pf.strpos_instance, (V, V, B), B),
    "split": Udf(lambda s, d: pf.split(s, d), (V, V), "VARCHAR[]"),
    "split_limit": Udf(pf.split, (V, V, B), "VARCHAR[]"),
    "split_part": Udf(pf.split_part, (V, V, B), V),
    "split_to_map": Udf(
        lambda s, e, k: _as_map(pf.split_to_map(s, e, k)), (V, V, V), "MAP(VARCHAR, VARCHAR)"
    ),
    "lpad": Udf(lambda s, n, p: pf.pad(s, n, p, True), (V, B, V), V),
    "rpad": Udf(lambda s, n, p: pf.pad(s, n, p, False), (V, B, V), V),
    "luhn_check": Udf(pf.luhn_check, (V,), BOOL),
    "hamming_distance": Udf(pf.hamming_distance, (V, V), B),
    "from_base": Udf(pf.from_base, (V, B), B),
    "to_base": Udf(pf.to_base, (B, B), V),
    "bit_count": Udf(pf.bit_count, (B, B), B),
    "parse_data_size": Udf(pf.parse_data_size, (V,), V),
    "format_number": Udf(pf.format_number, (D,), V),
    "from_iso8601_date": Udf(pd.from_iso8601_date, (V,), "DATE"),
    "parse_duration": Udf(pd.parse_duration, (V,), B),
    "human_readable_seconds": Udf(pd.human_readable_seconds, (D,), V),
    "format": Udf(pd.java_format, (V, "VARCHAR[]", "VARCHAR[]"), V),
}


def _as_map(values: dict[str, str]) -> dict[str, list[str]]:
    return {"key": list(values), "value": list(values.values())}


MACROS: dict[str, list[str]] = {
    **zones.MACROS,
    # __t_check(condition, message) fails with the message, or is false: a test of a CASE whose
    # branches keep their own type.
    "array_subscript": [
        "CREATE MACRO __t_array_subscript(a, i) AS CASE "
        "WHEN __t_check(i = 0, 'INVALID_FUNCTION_ARGUMENT: SQL array indices start at 1') "
        "OR __t_check(i < 0, 'INVALID_FUNCTION_ARGUMENT: Array subscript is negative: ' || i) "
        "OR __t_check(i > len(a), 'INVALID_FUNCTION_ARGUMENT: Array subscript must be less than "
        "or equal to array length: ' || i || ' > ' || len(a)) THEN NULL ELSE a[i] END"
    ],
    "map_subscript": [
        "CREATE MACRO __t_map_subscript(m, k) AS CASE WHEN __t_check(NOT map_contains(m, k), "
        "'INVALID_FUNCTION_ARGUMENT: Key not present in map: ' || k) THEN NULL ELSE m[k] END"
    ],
    "element_at": [
        "CREATE MACRO __t_element_at(a, i) AS CASE WHEN __t_check(i = 0, "
        "'INVALID_FUNCTION_ARGUMENT: SQL array indices start at 1') THEN NULL ELSE a[i] END"
    ],
    "fit": [
        # An exact result converted to an integer type, out of range = NUMERIC_VALUE_OUT_OF_RANGE
        "CREATE MACRO __t_fit(v, lo, hi, name) AS CASE WHEN __t_check(v < lo OR v > hi, "
        "'NUMERIC_VALUE_OUT_OF_RANGE: Value ' || v || ' exceeds ' || name) THEN NULL ELSE v END"
    ],
    "substr": [
        "CREATE MACRO __t_substr(s, st, n) AS CASE WHEN st = 0 OR abs(st) > length(s) OR n <= 0 "
        "THEN '' WHEN st > 0 THEN substring(s, st, n) "
        "ELSE substring(s, length(s) + st + 1, n) END"
    ],
    "greatest": [],
}

# Helpers that call other helpers.
REQUIRES = {
    "array_subscript": ("check",),
    "map_subscript": ("check",),
    "element_at": ("check",),
    "fit": ("check",),
}


def _nulls_in_nulls_out(function: Callable, keep: bool) -> Callable:
    """NULL in, NULL out (DuckDB's default handling refuses a NULL result for other input)."""
    if keep:
        return function

    @functools.wraps(function)  # DuckDB reads the parameter count from the signature
    def call(*args):
        if any(a is None for a in args):
            return None
        return function(*args)

    return call


def with_requirements(names: set[str]) -> set[str]:
    found = set(names)
    for name in names:
        found |= with_requirements(set(REQUIRES.get(name, ())))
    return found


def register(
    con: duckdb.DuckDBPyConnection, names: set[str], already: set[str] | None = None
) -> None:
    """Create the helpers `names` need on `con` (those in `already` exist)."""
    done: set[str] = set(already or ())

    def add(name: str) -> None:
        if name in done:
            return
        done.add(name)
        for required in REQUIRES.get(name, ()):
            add(required)
        if name in UDFS:
            udf = UDFS[name]
            con.create_function(
                f"__t_{name}", _nulls_in_nulls_out(udf.function, name == "check"),
                list(udf.parameters), udf.returns, null_handling="special",
            )  # fmt: skip
        for statement in MACROS.get(name, []):
            con.execute(statement)

    for name in sorted(names):
        add(name)
