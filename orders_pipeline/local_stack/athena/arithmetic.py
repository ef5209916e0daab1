"""Trino's arithmetic operators: result types (integer division truncates, decimal precision and
scale rules), division by zero, overflow, date/time/interval arithmetic."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlglot import exp

from orders_pipeline.local_stack.athena import types as ty
from orders_pipeline.local_stack.athena import zones
from orders_pipeline.local_stack.athena.errors import AthenaError
from orders_pipeline.local_stack.athena.typed import Typed
from orders_pipeline.local_stack.athena.types import T

if TYPE_CHECKING:
    from orders_pipeline.local_stack.athena.translate import Translator

_NAMES = {"+": "add", "-": "subtract", "*": "multiply", "/": "divide", "%": "modulus"}


def _fail(message: str, node: exp.Expression | None) -> AthenaError:
    from orders_pipeline.local_stack.athena.translate import fail

    return fail("TYPE_MISMATCH", message, node)


def decimal_result(op: str, a: T, b: T) -> T:
    """Trino's decimal result type of `a op b` (both exact)."""
    a, b = ty.as_decimal(a), ty.as_decimal(b)
    p1, s1, p2, s2 = a.precision, a.scale, b.precision, b.scale
    if op in ("+", "-"):
        scale = max(s1, s2)
        return ty.decimal(min(38, 1 + scale + max(p1 - s1, p2 - s2)), scale)
    if op == "*":
        return ty.decimal(min(38, p1 + p2), s1 + s2)
    if op == "/":
        return ty.decimal(min(38, p1 + s2 + max(0, s2 - s1)), max(s1, s2))
    return ty.decimal(min(38, min(p1 - s1, p2 - s2) + max(s1, s2)), max(s1, s2))


def binary(t: Translator, op: str, left: Typed, right: Typed, node: exp.Expression) -> Typed:
    a, b = left.type, right.type
    coerce = t.expressions.coerce
    if a.is_unknown and b.is_unknown:
        return Typed("CAST(NULL AS INTEGER)", ty.INTEGER, None)
    if a.is_unknown:
        left, a = coerce(left, b if b.is_numeric or b.is_interval else a, node), b
    if b.is_unknown:
        right, b = coerce(right, a if a.is_numeric or a.is_interval else b, node), a
    if a.is_integer and b.is_integer:
        result = ty.common_super_type(a, b)
        x, y = coerce(left, result, node), coerce(right, result, node)
        symbol = "//" if op == "/" else op
        return Typed(f"({x.sql} {symbol} {y.sql})", result)
    if a.is_exact and b.is_exact:
        return _decimal(t, op, left, right, node)
    if a.is_numeric and b.is_numeric:
        names = {a.name, b.name}
        result = ty.REAL if "real" in names and "double" not in names else ty.DOUBLE
        x, y = coerce(left, result, node), coerce(right, result, node)
        return Typed(f"({x.sql} {op} {y.sql})", result)
    temporal = _temporal(t, op, left, right, node)
    if temporal is not None:
        return temporal
    raise _fail(f"Cannot apply operator: {a} {op} {b}", node)


def _decimal(t: Translator, op: str, left: Typed, right: Typed, node: exp.Expression) -> Typed:
    result = decimal_result(op, left.type, right.type)
    x = t.expressions.coerce(left, ty.as_decimal(left.type), node)
    y = t.expressions.coerce(right, ty.as_decimal(right.type), node)
    if result.scale > ty.MAX_DECIMAL or result.precision < result.scale:
        raise AthenaError("NUMERIC_VALUE_OUT_OF_RANGE", "Decimal scale exceeds 38")
    if op in ("+", "-", "*"):
        # DuckDB computes exactly in its own decimal type (and reports an overflow of 38 digits);
        # the CAST gives Trino's type.
        return Typed(f"CAST(({x.sql} {op} {y.sql}) AS {result.duck()})", result)
    name = "decimal_divide" if op == "/" else "decimal_modulus"
    t.need(name)
    return Typed(
        f"CAST(__t_{name}(CAST({x.sql} AS VARCHAR), CAST({y.sql} AS VARCHAR), {result.scale}) "
        f"AS {result.duck()})",
        result,
    )


def _temporal(
    t: Translator, op: str, left: Typed, right: Typed, node: exp.Expression
) -> Typed | None:
    a, b = left.type, right.type
    if op == "+" and a.is_interval and not b.is_interval:
        left, right, a, b = right, left, b, a
    if op in ("+", "-") and b.is_interval:
        day_second = b.name == ty.DAY_SECOND
        if a.name == "date":
            return Typed(f"CAST(({left.sql} {op} {right.sql}) AS DATE)", ty.DATE)
        if a.name == "timestamp":
            return Typed(f"CAST(({left.sql} {op} {right.sql}) AS TIMESTAMP)", a)
        if a.name == "time" and day_second:
            return Typed(f"({left.sql} {op} {right.sql})", a)
        if a.name == "timestamptz":
            if day_second:
                return Typed(f"{{'i': ({left.sql}).i {op} {right.sql}, 'z': ({left.sql}).z}}", a)
            moved = f"({zones.local_of(t, left.sql)} {op} {right.sql})"
            back = zones.instant(t, moved, f"({left.sql}).z")
            return Typed(f"{{'i': {back}, 'z': ({left.sql}).z}}", a)
        if a == b:
            return Typed(f"({left.sql} {op} {right.sql})", a)
        return None
    if op == "-" and a.name == b.name and a.name in ("timestamp", "timestamptz", "time"):
        if a.name == "timestamptz":
            return Typed(f"(({left.sql}).i - ({right.sql}).i)", ty.INTERVAL_DS)
        return Typed(f"({left.sql} - {right.sql})", ty.INTERVAL_DS)
    if op in ("*", "/") and a.is_interval and b.is_numeric:
        number = t.expressions.coerce(
            right, ty.DOUBLE if b.name in ("real", "double") else ty.BIGINT, node
        )
        if op == "/":
            return Typed(f"({left.sql} / {number.sql})", a)
        return Typed(f"({left.sql} * {number.sql})", a)
    if op == "*" and b.is_interval and a.is_numeric:
        number = t.expressions.coerce(
            left, ty.DOUBLE if a.name in ("real", "double") else ty.BIGINT, node
        )
        return Typed(f"({number.sql} * {right.sql})", b)
    return None
