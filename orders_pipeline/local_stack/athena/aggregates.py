"""Aggregate and window functions: count, sum (bigint, decimal(38,s)), exact decimal avg, max_by
with a NULL winner, array_agg, listagg, approximations answered exactly; ranking and offsets."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlglot import exp

from orders_pipeline.local_stack.athena import types as ty
from orders_pipeline.local_stack.athena.functions import (
    Call,
    agg_call,
    aggregate,
    fail,
    scalar,
    window_only,
    with_filter,
)
from orders_pipeline.local_stack.athena.typed import Typed

if TYPE_CHECKING:
    from orders_pipeline.local_stack.athena.translate import Scope, Translator


# --- aggregates -------------------------------------------------------------------------------


@aggregate("count")
def _count(c: Call) -> Typed:
    if len(c.raw) == 1 and isinstance(c.raw[0], exp.Star):
        return Typed("count(*)/*agg*/", ty.BIGINT)
    c.arity(1)
    return Typed(agg_call(c, "count", [c.args[0].sql]), ty.BIGINT)


@aggregate("count_if")
def _count_if(c: Call) -> Typed:
    c.arity(1)
    value = c.kind(0, "boolean")
    return Typed(agg_call(c, "count_if", [value.sql]), ty.BIGINT)


@aggregate("sum")
def _sum(c: Call) -> Typed:
    c.arity(1)
    value = c.args[0]
    t = value.type
    if t.is_integer or t.is_unknown:
        return Typed(f"CAST({agg_call(c, 'sum', [value.sql])} AS BIGINT)", ty.BIGINT)
    if t.name == "decimal":
        result = ty.decimal(38, t.scale)
        return Typed(f"CAST({agg_call(c, 'sum', [value.sql])} AS {result.duck()})", result)
    if t.name in ("double", "real") or t.is_interval:
        return Typed(agg_call(c, "sum", [value.sql]), t)
    raise c.mismatch()


@aggregate("avg")
def _avg(c: Call) -> Typed:
    c.arity(1)
    value = c.args[0]
    t = value.type
    if t.is_integer or t.name in ("double", "real") or t.is_unknown:
        result = ty.REAL if t.name == "real" else ty.DOUBLE
        return Typed(f"CAST({agg_call(c, 'avg', [value.sql])} AS {result.duck()})", result)
    if t.name == "decimal":
        # Exact: the sum divided by the count, rounded half up to the column's scale.
        c.need("decimal_divide")
        total = f"CAST({agg_call(c, 'sum', [value.sql])} AS VARCHAR)"
        count = f"CAST(count({'DISTINCT ' if c.distinct else ''}{value.sql})/*agg*/ AS VARCHAR)"
        return Typed(f"CAST(__t_decimal_divide({total}, {count}, {t.scale}) AS {t.duck()})", t)
    if t.is_interval:
        return Typed(agg_call(c, "avg", [value.sql]), t)
    raise c.mismatch()


@aggregate("min", "max")
def _min_max(c: Call) -> Typed:
    c.arity(1, 2)
    value = c.args[0]
    if not ty.orderable(value.type):
        raise c.mismatch()
    if len(c.raw) == 2:
        n = c.coerce(1, ty.BIGINT)
        return Typed(agg_call(c, c.name, [value.sql, n]), ty.array(value.type))
    return Typed(agg_call(c, c.name, [value.sql]), value.type)


@aggregate("max_by", "min_by")
def _max_by(c: Call) -> Typed:
    c.arity(2, 3)
    value, key = c.args[0], c.args[1]
    function = "arg_max" if c.name == "max_by" else "arg_min"
    if len(c.raw) == 3:
        n = c.coerce(2, ty.BIGINT)
        return Typed(agg_call(c, function, [value.sql, key.sql, n]), ty.array(value.type))
    # Trino keeps the row with the largest key even when its value is NULL.
    return Typed(agg_call(c, function + "_null", [value.sql, key.sql]), value.type)


@aggregate("arbitrary", "any_value")
def _arbitrary(c: Call) -> Typed:
    c.arity(1)
    return Typed(agg_call(c, "any_value", [c.args[0].sql]), c.args[0].type)


@aggregate("array_agg")
def _array_agg(c: Call) -> Typed:
    c.arity(1)
    value = c.args[0]
    return Typed(agg_call(c, "array_agg", [value.sql]), ty.array(value.type))


@aggregate("bool_and", "every", "bool_or")
def _bool(c: Call) -> Typed:
    c.arity(1)
    value = c.kind(0, "boolean")
    function = "bool_or" if c.name == "bool_or" else "bool_and"
    return Typed(agg_call(c, function, [value.sql]), ty.BOOLEAN)


@aggregate("approx_distinct")
def _approx_distinct(c: Call) -> Typed:
    c.arity(1, 2)
    # Exact on the small inputs of a laptop: every approximation gives the same small counts.
    return Typed(f"count(DISTINCT {c.args[0].sql})/*agg*/", ty.BIGINT)


@aggregate("approx_percentile")
def _approx_percentile(c: Call) -> Typed:
    c.arity(2)
    value, percentile = c.args
    if not value.type.is_numeric:
        raise c.mismatch()
    if percentile.type.name == "array":
        p = c.coerce(1, ty.array(ty.DOUBLE))
        return Typed(agg_call(c, "quantile_disc", [value.sql, p]), ty.array(value.type))
    p = c.coerce(1, ty.DOUBLE)
    return Typed(agg_call(c, "quantile_disc", [value.sql, p]), value.type)


@aggregate("stddev", "stddev_samp", "stddev_pop", "variance", "var_samp", "var_pop")
def _statistics(c: Call) -> Typed:
    c.arity(1)
    value = c.coerce(0, ty.DOUBLE)
    return Typed(agg_call(c, c.name, [value]), ty.DOUBLE)


@aggregate("corr", "covar_samp", "covar_pop", "regr_slope", "regr_intercept")
def _statistics2(c: Call) -> Typed:
    c.arity(2)
    return Typed(agg_call(c, c.name, [c.coerce(0, ty.DOUBLE), c.coerce(1, ty.DOUBLE)]), ty.DOUBLE)


@aggregate("geometric_mean")
def _geomean(c: Call) -> Typed:
    c.arity(1)
    return Typed(agg_call(c, "geomean", [c.coerce(0, ty.DOUBLE)]), ty.DOUBLE)


@aggregate("map_agg")
def _map_agg(c: Call) -> Typed:
    c.arity(2)
    key, value = c.args
    entries = agg_call(c, "list", [f"struct_pack(key := {key.sql}, value := {value.sql})"])
    return Typed(f"map_from_entries({entries})", ty.map_of(key.type, value.type))


@aggregate("histogram")
def _histogram(c: Call) -> Typed:
    c.arity(1)
    value = c.args[0]
    result = ty.map_of(value.type, ty.BIGINT)
    return Typed(f"CAST({agg_call(c, 'histogram', [value.sql])} AS {result.duck()})", result)


def listagg(t: Translator, node: exp.GroupConcat, scope: Scope, filter_) -> Typed:
    this = node.this
    order: list[exp.Ordered] = []
    if isinstance(this, exp.Order):
        order = list(this.expressions)
        this = this.this
    distinct = isinstance(this, exp.Distinct)
    if distinct:
        this = this.expressions[0]
    if node.args.get("on_overflow") is not None:
        raise fail("NOT_SUPPORTED", "listagg ON OVERFLOW is not supported", node)
    c = Call(t, "listagg", node, scope, [this], distinct, order, filter_)
    value = c.string(0)
    separator = node.args.get("separator")
    sep = t.expr(separator, scope).sql if separator is not None else "''"
    if not scope.aggregate_ok:
        raise fail("EXPRESSION_NOT_SCALAR", "listagg is not allowed here", node)
    return with_filter(c, Typed(agg_call(c, "string_agg", [value, sep]), ty.VARCHAR))


# --- window functions -------------------------------------------------------------------------


@window_only("row_number", "rank", "dense_rank")
def _rank(c: Call) -> Typed:
    c.arity(0)
    return Typed(f"{c.name}()", ty.BIGINT)


@window_only("percent_rank", "cume_dist")
def _percent_rank(c: Call) -> Typed:
    c.arity(0)
    return Typed(f"{c.name}()", ty.DOUBLE)


@window_only("ntile")
def _ntile(c: Call) -> Typed:
    c.arity(1)
    return Typed(f"ntile({c.coerce(0, ty.BIGINT)})", ty.BIGINT)


@window_only("lag", "lead")
def _lag(c: Call) -> Typed:
    c.arity(1, 2, 3)
    value = c.args[0]
    parts = [value.sql]
    if len(c.raw) >= 2:
        parts.append(c.coerce(1, ty.BIGINT))
    if len(c.raw) == 3:
        parts.append(c.coerce(2, value.type) if not value.type.is_unknown else c.args[2].sql)
    return Typed(f"{c.name}({', '.join(parts)})", value.type)


@window_only("first_value", "last_value")
def _first_value(c: Call) -> Typed:
    c.arity(1)
    return Typed(f"{c.name}({c.args[0].sql})", c.args[0].type)


@window_only("nth_value")
def _nth_value(c: Call) -> Typed:
    c.arity(2)
    return Typed(f"nth_value({c.args[0].sql}, {c.coerce(1, ty.BIGINT)})", c.args[0].type)


@scalar("grouping")
def _grouping(c: Call) -> Typed:
    """The bit set of the grouping columns a GROUPING SETS / ROLLUP / CUBE row leaves out."""
    if not c.raw:
        raise c.mismatch()
    return Typed(f"CAST(grouping({', '.join(a.sql for a in c.args)}) AS INTEGER)", ty.INTEGER)
