"""Math functions: rounding and truncation with Trino's result types, overflow of integer
results, IEEE doubles, bitwise operations, bases."""

from __future__ import annotations

from typing import TYPE_CHECKING

from orders_pipeline.local_stack.athena import types as ty
from orders_pipeline.local_stack.athena.functions import (
    Call,
    scalar,
    simple,
)
from orders_pipeline.local_stack.athena.typed import Typed, string
from orders_pipeline.local_stack.athena.types import T

if TYPE_CHECKING:
    pass


# --- math -------------------------------------------------------------------------------------


def _integer_result(c: Call, sql: str, t: T) -> str:
    """An exact result brought back to an integer type; out of its range is an overflow."""
    low, high = ty.INTEGER_RANGE[t.name]
    c.need("fit")
    return f"CAST(__t_fit({sql}, {low}, {high}, {string(t.name)}) AS {t.duck()})"


@scalar("abs")
def _abs(c: Call) -> Typed:
    c.arity(1)
    value = c.args[0]
    if not value.type.is_numeric:
        raise c.mismatch()
    return Typed(f"abs({value.sql})", value.type)


@scalar("ceil", "ceiling", "floor")
def _ceil(c: Call) -> Typed:
    c.arity(1)
    value = c.args[0]
    t = value.type
    function = "floor" if c.name == "floor" else "ceil"
    if t.is_integer:
        return value
    if t.name == "decimal":
        result = ty.decimal(max(1, t.precision - t.scale + min(t.scale, 1)), 0)
        return Typed(f"CAST({function}({value.sql}) AS {result.duck()})", result)
    if t.name in ("double", "real"):
        return Typed(f"{function}({value.sql})", t)
    raise c.mismatch()


@scalar("round")
def _round(c: Call) -> Typed:
    c.arity(1, 2)
    value = c.args[0]
    t = value.type
    digits = c.coerce(1, ty.INTEGER) if len(c.raw) == 2 else None
    if t.is_integer:
        if digits is None:
            return value
        rounded = f"round(CAST({value.sql} AS DECIMAL(38,0)), {digits})"
        return Typed(_integer_result(c, rounded, t), t)
    if t.name == "decimal":
        if digits is None:
            result = ty.decimal(max(1, t.precision - t.scale + min(t.scale, 1)), 0)
            return Typed(f"CAST(round({value.sql}) AS {result.duck()})", result)
        result = ty.decimal(min(38, t.precision + 1), t.scale)
        return Typed(f"CAST(round({value.sql}, {digits}) AS {result.duck()})", result)
    if t.name in ("double", "real"):
        # DuckDB rounds doubles half away from zero, as Trino does.
        if digits is None:
            return Typed(f"round({value.sql})", t)
        return Typed(f"round({value.sql}, {digits})", t)
    raise c.mismatch()


@scalar("truncate")
def _truncate(c: Call) -> Typed:
    c.arity(1, 2)
    value = c.args[0]
    t = value.type
    if t.name == "decimal":
        if len(c.raw) == 1:
            result = ty.decimal(max(1, t.precision - t.scale), 0)
            return Typed(f"CAST(trunc({value.sql}) AS {result.duck()})", result)
        digits = c.coerce(1, ty.INTEGER)
        c.need("decimal_truncate")
        return Typed(
            f"CAST(__t_decimal_truncate(CAST({value.sql} AS VARCHAR), {digits}) AS {t.duck()})", t
        )
    if t.name in ("double", "real") and len(c.raw) == 1:
        return Typed(f"trunc({value.sql})", t)
    if t.is_integer and len(c.raw) == 1:
        return value
    raise c.mismatch()


@scalar("sign")
def _sign(c: Call) -> Typed:
    c.arity(1)
    value = c.args[0]
    t = value.type
    if t.is_integer:
        return Typed(f"CAST(sign({value.sql}) AS {t.duck()})", t)
    if t.name == "decimal":
        result = ty.decimal(1, 0)
        return Typed(f"CAST(sign({value.sql}) AS {result.duck()})", result)
    if t.name in ("double", "real"):
        return Typed(f"CAST(sign({value.sql}) AS {t.duck()})", t)
    raise c.mismatch()


@scalar("mod")
def _mod(c: Call) -> Typed:
    c.arity(2)
    from orders_pipeline.local_stack.athena import arithmetic

    return arithmetic.binary(c.t, "%", c.args[0], c.args[1], c.node)


for _name, _template in {
    "sqrt": "sqrt({0})", "cbrt": "cbrt({0})", "exp": "exp({0})", "ln": "ln({0})",
    "log2": "log2({0})", "log10": "log10({0})", "sin": "sin({0})", "cos": "cos({0})",
    "tan": "tan({0})", "asin": "asin({0})", "acos": "acos({0})", "atan": "atan({0})",
    "sinh": "sinh({0})", "cosh": "cosh({0})", "tanh": "tanh({0})", "degrees": "degrees({0})",
    "radians": "radians({0})",
}.items():  # fmt: skip
    simple(_name, [ty.DOUBLE], ty.DOUBLE, _template)
for _name, _template in {
    "power": "pow({0}, {1})", "pow": "pow({0}, {1})", "atan2": "atan2({0}, {1})",
    "log": "(ln({1}) / ln({0}))",
}.items():  # fmt: skip
    simple(_name, [ty.DOUBLE, ty.DOUBLE], ty.DOUBLE, _template)
simple("pi", [], ty.DOUBLE, "pi()")
simple("e", [], ty.DOUBLE, "exp(1)")
simple("nan", [], ty.DOUBLE, "CAST('NaN' AS DOUBLE)")
simple("infinity", [], ty.DOUBLE, "CAST('Infinity' AS DOUBLE)")
simple("is_nan", [ty.DOUBLE], ty.BOOLEAN, "isnan({0})")
simple("is_finite", [ty.DOUBLE], ty.BOOLEAN, "isfinite({0})")
simple("is_infinite", [ty.DOUBLE], ty.BOOLEAN, "isinf({0})")
simple("random", [], ty.DOUBLE, "random()")
simple("rand", [], ty.DOUBLE, "random()")
simple("from_base", [ty.VARCHAR, ty.BIGINT], ty.BIGINT, "__t_from_base({0}, {1})", ("from_base",))
simple("to_base", [ty.BIGINT, ty.BIGINT], ty.VARCHAR, "__t_to_base({0}, {1})", ("to_base",))
simple("bit_count", [ty.BIGINT, ty.BIGINT], ty.BIGINT, "__t_bit_count({0}, {1})", ("bit_count",))
simple("bitwise_and", [ty.BIGINT, ty.BIGINT], ty.BIGINT, "({0} & {1})")
simple("bitwise_or", [ty.BIGINT, ty.BIGINT], ty.BIGINT, "({0} | {1})")
simple("bitwise_xor", [ty.BIGINT, ty.BIGINT], ty.BIGINT, "xor({0}, {1})")
simple("bitwise_not", [ty.BIGINT], ty.BIGINT, "(~{0})")
simple(
    "bitwise_left_shift", [ty.BIGINT, ty.BIGINT], ty.BIGINT,
    "(CASE WHEN {1} >= 64 THEN 0 ELSE {0} << {1} END)",
)  # fmt: skip
simple(
    "bitwise_right_shift", [ty.BIGINT, ty.BIGINT], ty.BIGINT,
    "(CASE WHEN {1} >= 64 THEN 0 ELSE CAST(CAST({0} AS UBIGINT) >> {1} AS BIGINT) END)",
)  # fmt: skip
simple(
    "bitwise_right_shift_arithmetic", [ty.BIGINT, ty.BIGINT], ty.BIGINT,
    "(CASE WHEN {1} >= 64 THEN (CASE WHEN {0} < 0 THEN -1 ELSE 0 END) ELSE {0} >> {1} END)",
)  # fmt: skip


@scalar("width_bucket")
def _width_bucket(c: Call) -> Typed:
    c.arity(4)
    x, low, high = (c.coerce(i, ty.DOUBLE) for i in range(3))
    n = c.coerce(3, ty.BIGINT)
    return Typed(
        f"(CASE WHEN {x} < {low} THEN 0 WHEN {x} >= {high} THEN {n} + 1 "
        f"ELSE CAST(floor(({x} - {low}) / (({high} - {low}) / {n})) AS BIGINT) + 1 END)",
        ty.BIGINT,
    )
