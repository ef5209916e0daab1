"""The function table: every Trino function the engine answers like Athena, with its argument types,
result type and DuckDB text. A name not here is FUNCTION_NOT_FOUND, as on Athena for an unknown
function: an allow-list, so no DuckDB-only function (read_csv, getenv, ...) is reachable."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlglot import exp

from orders_pipeline.local_stack.athena import casts, zones
from orders_pipeline.local_stack.athena import types as ty
from orders_pipeline.local_stack.athena.errors import AthenaError
from orders_pipeline.local_stack.athena.typed import Typed, quote, string
from orders_pipeline.local_stack.athena.types import T

if TYPE_CHECKING:
    from orders_pipeline.local_stack.athena.translate import Scope, Translator


def fail(kind: str, message: str, node: exp.Expression | None = None) -> AthenaError:
    from orders_pipeline.local_stack.athena.translate import fail as located

    return located(kind, message, node)


@dataclass
class Call:
    t: Translator
    name: str
    node: exp.Expression
    scope: Scope
    raw: list[exp.Expression]
    distinct: bool = False
    order: list[exp.Ordered] = field(default_factory=list)
    filter_: exp.Expression | None = None
    window: bool = False
    _args: list[Typed] | None = None

    @property
    def args(self) -> list[Typed]:
        if self._args is None:
            # A lambda is typed by its function, with its parameters' types (Call.lambda_).
            self._args = [
                Typed("NULL", T("lambda")) if isinstance(a, exp.Lambda) else self.t.expr(a, self.scope)
                for a in self.raw
            ]
        return self._args

    def mismatch(self) -> AthenaError:
        types = ", ".join(str(a.type) for a in self.args)
        return fail(
            "FUNCTION_NOT_FOUND",
            f"Unexpected parameters ({types}) for function {self.name}",
            self.node,
        )

    def arity(self, *counts: int) -> None:
        if len(self.raw) not in counts:
            raise self.mismatch()

    def coerce(self, index: int, target: T) -> str:
        value = self.args[index]
        if not ty.can_coerce(value.type, target):
            raise self.mismatch()
        return self.t.expressions.coerce(value, target, self.node).sql

    def string(self, index: int) -> str:
        value = self.args[index]
        if not (value.type.is_string or value.type.is_unknown):
            raise self.mismatch()
        return value.sql if not value.type.is_unknown else "CAST(NULL AS VARCHAR)"

    def kind(self, index: int, *names: str) -> Typed:
        value = self.args[index]
        if value.type.name not in names and not value.type.is_unknown:
            raise self.mismatch()
        return value

    def need(self, *helpers: str) -> None:
        for helper in helpers:
            self.t.need(helper)

    def lambda_(self, index: int, params: list[T]) -> tuple[str, Typed]:
        return self.t.expressions.lambda_(self.raw[index], params, self.scope, self.name)


Handler = Callable[[Call], Typed]
FUNCTIONS: dict[str, Handler] = {}
AGGREGATES: dict[str, Handler] = {}
WINDOW_FUNCTIONS: dict[str, Handler] = {}


def scalar(*names: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        for name in names:
            FUNCTIONS[name] = handler
        return handler

    return register


def aggregate(*names: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        for name in names:
            AGGREGATES[name] = handler
        return handler

    return register


def window_only(*names: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        for name in names:
            WINDOW_FUNCTIONS[name] = handler
        return handler

    return register


def simple(name: str, params: list[T], result: T, template: str, helpers: tuple = ()) -> None:
    """A function with fixed parameter types: arguments coerced, DuckDB text from a template."""

    def handler(call: Call) -> Typed:
        call.arity(len(params))
        sql = [call.coerce(i, p) for i, p in enumerate(params)]
        call.need(*helpers)
        return Typed(template.format(*sql), result)

    FUNCTIONS[name] = handler


# --- dispatch ---------------------------------------------------------------------------------


def call(
    t: Translator,
    node: exp.Expression,
    scope: Scope,
    filter_: exp.Expression | None = None,
    window: bool = False,
) -> Typed:
    if isinstance(node, exp.GroupConcat):
        return listagg(t, node, scope, filter_)
    if not isinstance(node, exp.Anonymous):
        raise fail("NOT_SUPPORTED", f"Unsupported call: {node.sql(dialect='trino')}", node)
    name = node.name.lower()
    raw = list(node.expressions)
    distinct, order = False, []
    if len(raw) >= 1 and isinstance(raw[-1], exp.Order):
        order = list(raw[-1].expressions)
        raw[-1] = raw[-1].this
    if raw and isinstance(raw[0], exp.Distinct):
        distinct = True
        raw = list(raw[0].expressions) + raw[1:]
    c = Call(t, name, node, scope, raw, distinct, order, filter_, window)
    if name in AGGREGATES:
        if not scope.aggregate_ok and not window:
            raise fail(
                "EXPRESSION_NOT_SCALAR",
                f"Aggregate function {name} is not allowed here (WHERE, GROUP BY, lambda)",
                node,
            )
        typed = AGGREGATES[name](c)
        return _with_filter(c, typed)
    if name in WINDOW_FUNCTIONS:
        if not window:
            raise fail("MISSING_OVER", f"Window function {name} requires an OVER clause", node)
        return WINDOW_FUNCTIONS[name](c)
    if filter_ is not None or distinct or order:
        raise fail("FUNCTION_NOT_FOUND", f"{name} is not an aggregate function", node)
    if name in FUNCTIONS:
        return FUNCTIONS[name](c)
    raise fail("FUNCTION_NOT_FOUND", f"Function '{name}' not registered", node)


def call_named(
    t: Translator, name: str, args: list[exp.Expression], node: exp.Expression, scope: Scope
) -> Typed:
    return FUNCTIONS[name](Call(t, name, node, scope, args))


def _with_filter(c: Call, typed: Typed) -> Typed:
    if c.filter_ is None:
        return typed
    condition = c.t.expressions.boolean(c.filter_.this, c.scope, "FILTER")
    text = typed.sql
    # The FILTER applies to each aggregate call the handler wrote (marked /*agg*/).
    marker = "/*agg*/"
    if marker not in text:
        raise fail("NOT_SUPPORTED", f"FILTER is not supported with {c.name}", c.node)
    return Typed(text.replace(marker, f" FILTER (WHERE {condition.sql}){marker}"), typed.type)


def _agg(c: Call, function: str, args: list[str]) -> str:
    """An aggregate call with DISTINCT / ORDER BY; /*agg*/ marks where a FILTER goes."""
    inner = ", ".join(args)
    if c.distinct:
        inner = "DISTINCT " + inner
    if c.order:
        inner += " ORDER BY " + ", ".join(_order_sql(c, o) for o in c.order)
    return f"{function}({inner})/*agg*/"


def _order_sql(c: Call, ordered: exp.Ordered) -> str:
    value = c.t.expr(ordered.this, c.scope)
    desc = " DESC" if ordered.args.get("desc") else " ASC"
    nulls = " NULLS FIRST" if ordered.args.get("nulls_first") else " NULLS LAST"
    return value.sql + desc + nulls


# --- aggregates -------------------------------------------------------------------------------


@aggregate("count")
def _count(c: Call) -> Typed:
    if len(c.raw) == 1 and isinstance(c.raw[0], exp.Star):
        return Typed("count(*)/*agg*/", ty.BIGINT)
    c.arity(1)
    return Typed(_agg(c, "count", [c.args[0].sql]), ty.BIGINT)


@aggregate("count_if")
def _count_if(c: Call) -> Typed:
    c.arity(1)
    value = c.kind(0, "boolean")
    return Typed(_agg(c, "count_if", [value.sql]), ty.BIGINT)


@aggregate("sum")
def _sum(c: Call) -> Typed:
    c.arity(1)
    value = c.args[0]
    t = value.type
    if t.is_integer or t.is_unknown:
        return Typed(f"CAST({_agg(c, 'sum', [value.sql])} AS BIGINT)", ty.BIGINT)
    if t.name == "decimal":
        result = ty.decimal(38, t.scale)
        return Typed(f"CAST({_agg(c, 'sum', [value.sql])} AS {result.duck()})", result)
    if t.name in ("double", "real") or t.is_interval:
        return Typed(_agg(c, "sum", [value.sql]), t)
    raise c.mismatch()


@aggregate("avg")
def _avg(c: Call) -> Typed:
    c.arity(1)
    value = c.args[0]
    t = value.type
    if t.is_integer or t.name in ("double", "real") or t.is_unknown:
        result = ty.REAL if t.name == "real" else ty.DOUBLE
        return Typed(f"CAST({_agg(c, 'avg', [value.sql])} AS {result.duck()})", result)
    if t.name == "decimal":
        # Exact: the sum divided by the count, rounded half up to the column's scale.
        c.need("decimal_divide")
        total = f"CAST({_agg(c, 'sum', [value.sql])} AS VARCHAR)"
        count = f"CAST(count({'DISTINCT ' if c.distinct else ''}{value.sql})/*agg*/ AS VARCHAR)"
        return Typed(
            f"CAST(__t_decimal_divide({total}, {count}, {t.scale}) AS {t.duck()})", t
        )
    if t.is_interval:
        return Typed(_agg(c, "avg", [value.sql]), t)
    raise c.mismatch()


@aggregate("min", "max")
def _min_max(c: Call) -> Typed:
    c.arity(1, 2)
    value = c.args[0]
    if not ty.orderable(value.type):
        raise c.mismatch()
    if len(c.raw) == 2:
        n = c.coerce(1, ty.BIGINT)
        return Typed(_agg(c, c.name, [value.sql, n]), ty.array(value.type))
    return Typed(_agg(c, c.name, [value.sql]), value.type)


@aggregate("max_by", "min_by")
def _max_by(c: Call) -> Typed:
    c.arity(2, 3)
    value, key = c.args[0], c.args[1]
    function = "arg_max" if c.name == "max_by" else "arg_min"
    if len(c.raw) == 3:
        n = c.coerce(2, ty.BIGINT)
        return Typed(_agg(c, function, [value.sql, key.sql, n]), ty.array(value.type))
    # Trino keeps the row with the largest key even when its value is NULL.
    return Typed(_agg(c, function + "_null", [value.sql, key.sql]), value.type)


@aggregate("arbitrary", "any_value")
def _arbitrary(c: Call) -> Typed:
    c.arity(1)
    return Typed(_agg(c, "any_value", [c.args[0].sql]), c.args[0].type)


@aggregate("array_agg")
def _array_agg(c: Call) -> Typed:
    c.arity(1)
    value = c.args[0]
    return Typed(_agg(c, "array_agg", [value.sql]), ty.array(value.type))


@aggregate("bool_and", "every", "bool_or")
def _bool(c: Call) -> Typed:
    c.arity(1)
    value = c.kind(0, "boolean")
    function = "bool_or" if c.name == "bool_or" else "bool_and"
    return Typed(_agg(c, function, [value.sql]), ty.BOOLEAN)


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
        return Typed(_agg(c, "quantile_disc", [value.sql, p]), ty.array(value.type))
    p = c.coerce(1, ty.DOUBLE)
    return Typed(_agg(c, "quantile_disc", [value.sql, p]), value.type)


@aggregate("stddev", "stddev_samp", "stddev_pop", "variance", "var_samp", "var_pop")
def _statistics(c: Call) -> Typed:
    c.arity(1)
    value = c.coerce(0, ty.DOUBLE)
    return Typed(_agg(c, c.name, [value]), ty.DOUBLE)


@aggregate("corr", "covar_samp", "covar_pop", "regr_slope", "regr_intercept")
def _statistics2(c: Call) -> Typed:
    c.arity(2)
    return Typed(_agg(c, c.name, [c.coerce(0, ty.DOUBLE), c.coerce(1, ty.DOUBLE)]), ty.DOUBLE)


@aggregate("geometric_mean")
def _geomean(c: Call) -> Typed:
    c.arity(1)
    return Typed(_agg(c, "geomean", [c.coerce(0, ty.DOUBLE)]), ty.DOUBLE)


@aggregate("map_agg")
def _map_agg(c: Call) -> Typed:
    c.arity(2)
    key, value = c.args
    entries = _agg(c, "list", [f"struct_pack(key := {key.sql}, value := {value.sql})"])
    return Typed(f"map_from_entries({entries})", ty.map_of(key.type, value.type))


@aggregate("histogram")
def _histogram(c: Call) -> Typed:
    c.arity(1)
    value = c.args[0]
    result = ty.map_of(value.type, ty.BIGINT)
    return Typed(f"CAST({_agg(c, 'histogram', [value.sql])} AS {result.duck()})", result)


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
    return _with_filter(c, Typed(_agg(c, "string_agg", [value, sep]), ty.VARCHAR))


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


# --- conditional ------------------------------------------------------------------------------


@scalar("coalesce")
def _coalesce(c: Call) -> Typed:
    if len(c.raw) < 2:
        raise fail("SYNTAX_ERROR", "The 'coalesce' function must have at least two arguments", c.node)
    result = ty.common_of([a.type for a in c.args], "COALESCE operands")
    parts = [c.t.expressions.coerce(a, result, c.node).sql for a in c.args]
    return Typed(f"coalesce({', '.join(parts)})", result)


@scalar("nullif")
def _nullif(c: Call) -> Typed:
    c.arity(2)
    first, second = c.args
    common = ty.common_super_type(first.type, second.type)
    if common is None:
        raise c.mismatch()
    a = c.t.expressions.coerce(first, common, c.node).sql
    b = c.t.expressions.coerce(second, common, c.node).sql
    return Typed(f"(CASE WHEN {a} = {b} THEN NULL ELSE {first.sql} END)", first.type)


@scalar("greatest", "least")
def _greatest(c: Call) -> Typed:
    if not c.raw:
        raise c.mismatch()
    result = ty.common_of([a.type for a in c.args], f"{c.name} arguments")
    if not ty.orderable(result):
        raise c.mismatch()
    parts = [c.t.expressions.coerce(a, result, c.node).sql for a in c.args]
    # Trino's answer is NULL as soon as one argument is NULL; DuckDB skips NULLs.
    nulls = " OR ".join(f"{p} IS NULL" for p in parts)
    return Typed(f"(CASE WHEN {nulls} THEN NULL ELSE {c.name}({', '.join(parts)}) END)", result)


@scalar("try")
def _try(c: Call) -> Typed:
    c.arity(1)
    value = c.args[0]
    return Typed(f"TRY({value.sql})", value.type)


@scalar("typeof")
def _typeof(c: Call) -> Typed:
    c.arity(1)
    text = str(c.args[0].type)
    return Typed(string(text), ty.varchar(len(text)), text)


@scalar("if")
def _if(c: Call) -> Typed:
    c.arity(2, 3)
    node = exp.If(this=c.raw[0], true=c.raw[1], false=c.raw[2] if len(c.raw) == 3 else None)
    return c.t.expressions._If(node, c.scope)


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


# --- strings ----------------------------------------------------------------------------------


def concat(t: Translator, args: list[Typed], node: exp.Expression) -> Typed:
    """`||` and concat(): strings (NULL if any is NULL), or arrays and elements."""
    if any(a.type.name == "array" for a in args):
        return _array_concat(t, args, node)
    for a in args:
        if not (a.type.is_string or a.type.is_unknown):
            raise fail(
                "TYPE_MISMATCH" if len(args) == 2 else "FUNCTION_NOT_FOUND",
                "Cannot apply operator: " + " || ".join(str(x.type) for x in args),
                node,
            )
    return Typed("(" + " || ".join(a.sql for a in args) + ")", ty.VARCHAR)


def _array_concat(t: Translator, args: list[Typed], node: exp.Expression) -> Typed:
    """Left to right: array || array of a common type, array || element, element || array."""
    result = args[0]
    for right in args[1:]:
        result = _concat_two(t, result, right, node)
    return result


def _concat_two(t: Translator, left: Typed, right: Typed, node: exp.Expression) -> Typed:
    coerce = t.expressions.coerce
    a, b = left.type, right.type
    if a.name == "array" and b.name == "array":
        common = ty.common_super_type(a, b)
        if common is not None:
            return Typed(
                f"list_concat({coerce(left, common, node).sql}, {coerce(right, common, node).sql})",
                common,
            )
    if b.name == "array" and ty.common_super_type(a, b.element) is not None:
        element = ty.common_super_type(a, b.element)
        common = ty.array(element)
        return Typed(
            f"list_prepend({coerce(left, element, node).sql}, {coerce(right, common, node).sql})",
            common,
        )
    if a.name == "array" and ty.common_super_type(b, a.element) is not None:
        element = ty.common_super_type(b, a.element)
        common = ty.array(element)
        return Typed(
            f"list_append({coerce(left, common, node).sql}, {coerce(right, element, node).sql})",
            common,
        )
    raise fail("TYPE_MISMATCH", f"Cannot apply operator: {a} || {b}", node)


def _unused_array_concat(t: Translator, args: list[Typed], node: exp.Expression) -> Typed:
    arrays = [a for a in args if a.type.name == "array"]
    element = ty.common_of([a.type.element for a in arrays], "array elements")
    # An element next to arrays of its own type is appended (ARRAY[1] || 2).
    result = ty.array(element)
    parts = []
    for a in args:
        if a.type.name == "array" and ty.can_coerce(a.type, result):
            parts.append(t.expressions.coerce(a, result, node).sql)
        elif ty.can_coerce(a.type, element):
            parts.append("[" + t.expressions.coerce(a, element, node).sql + "]")
        elif a.type.name == "array" and ty.can_coerce(result, a.type.element):
            # ARRAY[4, 5] || ARRAY[ARRAY[1, 2]]: the first is an element of the second.
            return _array_concat(t, [Typed(f"[{args[0].sql}]", ty.array(args[0].type))] + args[1:], node)
        else:
            raise fail("TYPE_MISMATCH", f"Cannot concatenate {a.type} and {result}", node)
    text = parts[0]
    for part in parts[1:]:
        text = f"list_concat({text}, {part})"
    return Typed(text, result)


@scalar("concat")
def _concat(c: Call) -> Typed:
    if len(c.raw) < 2:
        raise fail(
            "INVALID_FUNCTION_ARGUMENT", "There must be two or more concatenation arguments", c.node
        )
    return concat(c.t, c.args, c.node)


@scalar("concat_ws")
def _concat_ws(c: Call) -> Typed:
    if len(c.raw) < 2:
        raise c.mismatch()
    separator = c.string(0)
    if len(c.raw) == 2 and c.args[1].type.name == "array":
        items = c.kind(1, "array")
        if not (items.type.element.is_string or items.type.element.is_unknown):
            raise c.mismatch()
        return Typed(
            f"(CASE WHEN {separator} IS NULL THEN NULL ELSE "
            f"array_to_string(list_filter({items.sql}, lambda x: x IS NOT NULL), {separator}) END)",
            ty.VARCHAR,
        )
    parts = [c.string(i) for i in range(1, len(c.raw))]
    return Typed(f"concat_ws({separator}, {', '.join(parts)})", ty.VARCHAR)


simple("length", [ty.VARCHAR], ty.BIGINT, "length({0})")
simple("lower", [ty.VARCHAR], ty.VARCHAR, "lower({0})")
simple("upper", [ty.VARCHAR], ty.VARCHAR, "upper({0})")
simple("ltrim", [ty.VARCHAR], ty.VARCHAR, "ltrim({0}, ' ')")
simple("rtrim", [ty.VARCHAR], ty.VARCHAR, "rtrim({0}, ' ')")
simple("starts_with", [ty.VARCHAR, ty.VARCHAR], ty.BOOLEAN, "starts_with({0}, {1})")
simple("translate", [ty.VARCHAR, ty.VARCHAR, ty.VARCHAR], ty.VARCHAR, "translate({0}, {1}, {2})")
simple("chr", [ty.BIGINT], ty.varchar(1), "chr(CAST({0} AS INTEGER))")
simple("codepoint", [ty.VARCHAR], ty.INTEGER, "unicode({0})")
simple("levenshtein_distance", [ty.VARCHAR, ty.VARCHAR], ty.BIGINT, "levenshtein({0}, {1})")
simple("hamming_distance", [ty.VARCHAR, ty.VARCHAR], ty.BIGINT, "__t_hamming_distance({0}, {1})", ("hamming_distance",))
simple("luhn_check", [ty.VARCHAR], ty.BOOLEAN, "__t_luhn_check({0})", ("luhn_check",))
simple("to_utf8", [ty.VARCHAR], ty.VARBINARY, "encode({0})")
simple("from_utf8", [ty.VARBINARY], ty.VARCHAR, "decode({0})")
simple("lpad", [ty.VARCHAR, ty.BIGINT, ty.VARCHAR], ty.VARCHAR, "__t_lpad({0}, {1}, {2})", ("lpad",))
simple("rpad", [ty.VARCHAR, ty.BIGINT, ty.VARCHAR], ty.VARCHAR, "__t_rpad({0}, {1}, {2})", ("rpad",))
simple("split_part", [ty.VARCHAR, ty.VARCHAR, ty.BIGINT], ty.VARCHAR, "__t_split_part({0}, {1}, {2})", ("split_part",))
simple("split_to_map", [ty.VARCHAR, ty.VARCHAR, ty.VARCHAR], ty.map_of(ty.VARCHAR, ty.VARCHAR), "__t_split_to_map({0}, {1}, {2})", ("split_to_map",))
simple("url_encode", [ty.VARCHAR], ty.VARCHAR, "__t_url_encode({0})", ("url_encode",))
simple("url_decode", [ty.VARCHAR], ty.VARCHAR, "__t_url_decode({0})", ("url_decode",))
simple("format_number", [ty.DOUBLE], ty.VARCHAR, "__t_format_number({0})", ("format_number",))
simple("parse_data_size", [ty.VARCHAR], ty.decimal(38, 0), "CAST(__t_parse_data_size({0}) AS DECIMAL(38,0))", ("parse_data_size",))


@scalar("ltrim", "rtrim")
def _side_trim(c: Call) -> Typed:
    c.arity(1, 2)
    value = c.string(0)
    chars = c.string(1) if len(c.raw) == 2 else "' '"
    return Typed(f"{c.name}({value}, {chars})", ty.VARCHAR)


def trim(t: Translator, node: exp.Trim, scope: Scope) -> Typed:
    c = Call(t, "trim", node, scope, [node.this] + ([node.expression] if node.expression else []))
    value = c.string(0)
    chars = c.string(1) if node.expression is not None else "' '"
    side = (node.args.get("position") or "BOTH").upper()
    function = {"LEADING": "ltrim", "TRAILING": "rtrim", "BOTH": "trim"}[side]
    return Typed(f"{function}({value}, {chars})", ty.VARCHAR)


@scalar("trim")
def _trim(c: Call) -> Typed:
    c.arity(1, 2)
    value = c.string(0)
    chars = c.string(1) if len(c.raw) == 2 else "' '"
    return Typed(f"trim({value}, {chars})", ty.VARCHAR)


@scalar("substr", "substring")
def _substr(c: Call) -> Typed:
    c.arity(2, 3)
    if c.args[0].type.name == "varbinary":
        raise c.mismatch()
    value = c.string(0)
    start = c.coerce(1, ty.BIGINT)
    length = c.coerce(2, ty.BIGINT) if len(c.raw) == 3 else "2147483647"
    c.need("substr")
    return Typed(f"__t_substr({value}, {start}, {length})", ty.VARCHAR)


@scalar("strpos")
def _strpos(c: Call) -> Typed:
    c.arity(2, 3)
    value, sub = c.string(0), c.string(1)
    if len(c.raw) == 3:
        c.need("strpos_instance")
        return Typed(f"__t_strpos_instance({value}, {sub}, {c.coerce(2, ty.BIGINT)})", ty.BIGINT)
    return Typed(f"strpos({value}, {sub})", ty.BIGINT)


@scalar("replace")
def _replace(c: Call) -> Typed:
    c.arity(2, 3)
    value, search = c.string(0), c.string(1)
    replacement = c.string(2) if len(c.raw) == 3 else "''"
    c.need("replace_all")
    return Typed(f"__t_replace_all({value}, {search}, {replacement})", ty.VARCHAR)


@scalar("reverse")
def _reverse(c: Call) -> Typed:
    c.arity(1)
    value = c.args[0]
    if value.type.name == "array":
        return Typed(f"list_reverse({value.sql})", value.type)
    return Typed(f"reverse({c.string(0)})", ty.VARCHAR)


@scalar("split")
def _split(c: Call) -> Typed:
    c.arity(2, 3)
    value, delimiter = c.string(0), c.string(1)
    if len(c.raw) == 3:
        c.need("split_limit")
        return Typed(
            f"__t_split_limit({value}, {delimiter}, {c.coerce(2, ty.BIGINT)})", ty.array(ty.VARCHAR)
        )
    c.need("split")
    return Typed(f"__t_split({value}, {delimiter})", ty.array(ty.VARCHAR))


@scalar("format")
def _format(c: Call) -> Typed:
    if not c.raw:
        raise c.mismatch()
    pattern = c.string(0)
    values, kinds = [], []
    for a in c.args[1:]:
        if a.type.name in ("array", "map", "row", "json", "timestamptz", "varbinary"):
            raise fail("NOT_SUPPORTED", f"format() of {a.type} is not supported", c.node)
        if a.type.name == "timestamp":
            text = f"strftime({a.sql}, '%Y-%m-%dT%H:%M:%S.%f')"
        else:
            text = casts.cast(c.t, a, ty.VARCHAR, c.node).sql
        values.append(text)
        kinds.append(string(a.type.name))
    c.need("format")
    return Typed(
        f"__t_format({pattern}, [{', '.join(values)}]::VARCHAR[], [{', '.join(kinds)}]::VARCHAR[])",
        ty.VARCHAR,
    )


# --- regular expressions ----------------------------------------------------------------------


@scalar("regexp_like")
def _regexp_like(c: Call) -> Typed:
    c.arity(2)
    c.need("regexp_like")
    return Typed(f"__t_regexp_like({c.string(0)}, {c.string(1)})", ty.BOOLEAN)


@scalar("regexp_extract")
def _regexp_extract(c: Call) -> Typed:
    c.arity(2, 3)
    group = c.coerce(2, ty.BIGINT) if len(c.raw) == 3 else "0"
    c.need("regexp_extract")
    return Typed(f"__t_regexp_extract({c.string(0)}, {c.string(1)}, {group})", ty.VARCHAR)


@scalar("regexp_extract_all")
def _regexp_extract_all(c: Call) -> Typed:
    c.arity(2, 3)
    group = c.coerce(2, ty.BIGINT) if len(c.raw) == 3 else "0"
    c.need("regexp_extract_all")
    return Typed(
        f"__t_regexp_extract_all({c.string(0)}, {c.string(1)}, {group})", ty.array(ty.VARCHAR)
    )


@scalar("regexp_count")
def _regexp_count(c: Call) -> Typed:
    c.arity(2)
    c.need("regexp_count")
    return Typed(f"__t_regexp_count({c.string(0)}, {c.string(1)})", ty.BIGINT)


@scalar("regexp_position")
def _regexp_position(c: Call) -> Typed:
    c.arity(2, 3, 4)
    start = c.coerce(2, ty.BIGINT) if len(c.raw) >= 3 else "1"
    occurrence = c.coerce(3, ty.BIGINT) if len(c.raw) == 4 else "1"
    c.need("regexp_position")
    return Typed(
        f"__t_regexp_position({c.string(0)}, {c.string(1)}, {start}, {occurrence})", ty.BIGINT
    )


@scalar("regexp_split")
def _regexp_split(c: Call) -> Typed:
    c.arity(2)
    c.need("regexp_split")
    return Typed(f"__t_regexp_split({c.string(0)}, {c.string(1)})", ty.array(ty.VARCHAR))


@scalar("regexp_replace")
def _regexp_replace(c: Call) -> Typed:
    c.arity(2, 3)
    if len(c.raw) == 3 and isinstance(c.raw[2], exp.Lambda):
        value = c.t.expr(c.raw[0], c.scope)
        pattern = c.t.expr(c.raw[1], c.scope)
        c._args = [value, pattern]
        text, p = c.string(0), c.string(1)
        function, body = c.lambda_(2, [ty.array(ty.VARCHAR)])
        if not (body.type.is_string or body.type.is_unknown):
            raise c.mismatch()
        c.need("regexp_segments")
        segment = c.t.fresh("l")
        return Typed(
            f"array_to_string(list_transform(__t_regexp_segments({text}, {p}), lambda {segment}: "
            f"CASE WHEN {segment}.m THEN coalesce({_apply(function, segment + '.g')}, '') "
            f"ELSE {segment}.t END), '')",
            ty.VARCHAR,
        )
    replacement = c.string(2) if len(c.raw) == 3 else "''"
    c.need("regexp_replace")
    return Typed(f"__t_regexp_replace({c.string(0)}, {c.string(1)}, {replacement})", ty.VARCHAR)


def _apply(function: str, argument: str) -> str:
    """Apply a translated one-parameter lambda to an argument (DuckDB has no lambda call)."""
    params, body = function[len("lambda ") :].split(": ", 1)
    return body.replace(params.strip(), argument)


# --- JSON -------------------------------------------------------------------------------------


def _json_text(c: Call, index: int) -> str:
    value = c.args[index]
    if value.type.name == "json" or value.type.is_string or value.type.is_unknown:
        return f"CAST({value.sql} AS VARCHAR)"
    raise c.mismatch()


@scalar("json_parse")
def _json_parse(c: Call) -> Typed:
    c.arity(1)
    c.need("json_parse")
    return Typed(f"__t_json_parse({c.string(0)})", ty.JSON)


@scalar("json_format")
def _json_format(c: Call) -> Typed:
    c.arity(1)
    c.kind(0, "json")
    c.need("json_format")
    return Typed(f"__t_json_format(CAST({c.args[0].sql} AS VARCHAR))", ty.VARCHAR)


@scalar("json_extract")
def _json_extract(c: Call) -> Typed:
    c.arity(2)
    c.need("json_extract")
    return Typed(f"__t_json_extract({_json_text(c, 0)}, {c.string(1)})", ty.JSON)


@scalar("json_extract_scalar")
def _json_extract_scalar(c: Call) -> Typed:
    c.arity(2)
    c.need("json_extract_scalar")
    return Typed(f"__t_json_extract_scalar({_json_text(c, 0)}, {c.string(1)})", ty.VARCHAR)


@scalar("json_size")
def _json_size(c: Call) -> Typed:
    c.arity(2)
    c.need("json_size")
    return Typed(f"__t_json_size({_json_text(c, 0)}, {c.string(1)})", ty.BIGINT)


@scalar("json_array_get")
def _json_array_get(c: Call) -> Typed:
    c.arity(2)
    c.need("json_array_get")
    return Typed(f"__t_json_array_get({_json_text(c, 0)}, {c.coerce(1, ty.BIGINT)})", ty.JSON)


@scalar("json_array_length")
def _json_array_length(c: Call) -> Typed:
    c.arity(1)
    c.need("json_array_length")
    return Typed(f"__t_json_array_length({_json_text(c, 0)})", ty.BIGINT)


@scalar("json_array_contains")
def _json_array_contains(c: Call) -> Typed:
    c.arity(2)
    value = c.args[1]
    if value.type.name not in ("boolean", "varchar", "bigint", "integer", "double") and not (
        value.type.is_exact or value.type.is_string
    ):
        raise c.mismatch()
    needle = casts.cast(c.t, value, ty.JSON, c.node).sql
    c.need("json_array_contains")
    return Typed(
        f"__t_json_array_contains({_json_text(c, 0)}, CAST({needle} AS VARCHAR))", ty.BOOLEAN
    )


@scalar("is_json_scalar")
def _is_json_scalar(c: Call) -> Typed:
    c.arity(1)
    c.need("is_json_scalar")
    return Typed(f"__t_is_json_scalar({_json_text(c, 0)})", ty.BOOLEAN)


# --- URLs -------------------------------------------------------------------------------------

_URL = r"'^(?:([A-Za-z][A-Za-z0-9+.-]*):)?(?://(?:[^@/?#]*@)?(\[[^\]]*\]|[^:/?#]*)(?::(\d*))?)?([^?#]*)(?:\?([^#]*))?(?:#(.*))?$'"


def _url_part(c: Call, group: int) -> str:
    url = c.string(0)
    part = f"regexp_extract({url}, {_URL}, {group})"
    matched = f"regexp_matches({url}, {_URL})"
    if group == 4:
        return f"(CASE WHEN {matched} THEN {part} END)"
    # A part that is not in the URL is NULL (regexp_extract gives '').
    present = {
        1: f"regexp_matches({url}, '^[A-Za-z][A-Za-z0-9+.-]*:')",
        2: f"regexp_matches({url}, '^(?:[A-Za-z][A-Za-z0-9+.-]*:)?//')",
        3: f"regexp_matches({url}, '^(?:[A-Za-z][A-Za-z0-9+.-]*:)?//[^/?#]*:\\d')",
        5: f"regexp_matches({url}, '^[^#]*\\?')",
        6: f"regexp_matches({url}, '#')",
    }[group]
    return f"(CASE WHEN {matched} AND {present} THEN {part} END)"


@scalar("url_extract_protocol", "url_extract_host", "url_extract_path", "url_extract_query",
        "url_extract_fragment", "url_extract_port")  # fmt: skip
def _url_extract(c: Call) -> Typed:
    c.arity(1)
    group = {"protocol": 1, "host": 2, "port": 3, "path": 4, "query": 5, "fragment": 6}[
        c.name.removeprefix("url_extract_")
    ]
    text = _url_part(c, group)
    if group == 3:
        return Typed(f"TRY_CAST({text} AS BIGINT)", ty.BIGINT)
    return Typed(text, ty.VARCHAR)


@scalar("url_extract_parameter")
def _url_extract_parameter(c: Call) -> Typed:
    c.arity(2)
    c._args = [c.args[0], c.args[1]]
    query = _url_part(c, 5)
    name = c.string(1)
    item = c.t.fresh("l")
    pairs = f"list_filter(string_split({query}, '&'), lambda {item}: split_part({item}, '=', 1) = {name})"
    first = c.t.fresh("l")
    return Typed(
        f"(CASE WHEN len({pairs}) = 0 THEN NULL ELSE "
        f"(list_transform({pairs}, lambda {first}: substr({first}, length({name}) + 2)))[1] END)",
        ty.VARCHAR,
    )


# --- arrays -----------------------------------------------------------------------------------


def _array(c: Call, index: int) -> Typed:
    value = c.args[index]
    if value.type.is_unknown:
        return Typed(f"CAST(NULL AS INTEGER[])", ty.array(ty.UNKNOWN))
    if value.type.name != "array":
        raise c.mismatch()
    return value


@scalar("cardinality")
def _cardinality(c: Call) -> Typed:
    c.arity(1)
    value = c.args[0]
    if value.type.name == "map":
        return Typed(f"CAST(cardinality({value.sql}) AS BIGINT)", ty.BIGINT)
    return Typed(f"CAST(len({_array(c, 0).sql}) AS BIGINT)", ty.BIGINT)


@scalar("contains")
def _contains(c: Call) -> Typed:
    c.arity(2)
    array = _array(c, 0)
    common = ty.common_super_type(array.type.element, c.args[1].type)
    if common is None:
        raise c.mismatch()
    items = c.t.expressions.coerce(array, ty.array(common), c.node).sql
    value = c.coerce(1, common)
    # Trino: NULL when the element is not found and the array holds a NULL.
    return Typed(
        f"(CASE WHEN {value} IS NULL THEN NULL WHEN list_contains({items}, {value}) THEN TRUE "
        f"WHEN list_contains(list_transform({items}, lambda x: x IS NULL), TRUE) THEN NULL "
        f"ELSE FALSE END)",
        ty.BOOLEAN,
    )


@scalar("element_at")
def _element_at(c: Call) -> Typed:
    c.arity(2)
    value = c.args[0]
    if value.type.name == "map":
        key = c.coerce(1, value.type.key)
        return Typed(f"{value.sql}[{key}]", value.type.value)
    array = _array(c, 0)
    index = c.coerce(1, ty.BIGINT)
    c.need("element_at")
    return Typed(f"__t_element_at({array.sql}, {index})", array.type.element)


@scalar("array_join")
def _array_join(c: Call) -> Typed:
    c.arity(2, 3)
    array = _array(c, 0)
    separator = c.string(1)
    element = array.type.element
    name = c.t.fresh("l")
    text = casts.cast(c.t, Typed(name, element), ty.VARCHAR, c.node).sql if not (
        element.is_string
    ) else name
    items = f"list_transform({array.sql}, lambda {name}: {text})"
    if len(c.raw) == 3:
        null = c.string(2)
        other = c.t.fresh("l")
        items = f"list_transform({items}, lambda {other}: coalesce({other}, {null}))"
    return Typed(f"array_to_string({items}, {separator})", ty.VARCHAR)


@scalar("flatten")
def _flatten(c: Call) -> Typed:
    c.arity(1)
    array = _array(c, 0)
    if array.type.element.name != "array":
        raise c.mismatch()
    return Typed(f"flatten({array.sql})", array.type.element)


@scalar("filter")
def _filter(c: Call) -> Typed:
    c.arity(2)
    array = _array(c, 0)
    function, body = c.lambda_(1, [array.type.element])
    if body.type.name not in ("boolean", "unknown"):
        raise c.mismatch()
    return Typed(f"list_filter({array.sql}, {function})", array.type)


@scalar("transform")
def _transform(c: Call) -> Typed:
    c.arity(2)
    array = _array(c, 0)
    function, body = c.lambda_(1, [array.type.element])
    return Typed(f"list_transform({array.sql}, {function})", ty.array(body.type))


@scalar("any_match", "all_match", "none_match")
def _match(c: Call) -> Typed:
    c.arity(2)
    array = _array(c, 0)
    function, body = c.lambda_(1, [array.type.element])
    results = f"list_transform({array.sql}, {function})"
    if c.name == "any_match":
        text = f"(CASE WHEN list_contains({results}, TRUE) THEN TRUE WHEN list_contains(list_transform({results}, lambda x: x IS NULL), TRUE) THEN NULL ELSE FALSE END)"
    elif c.name == "all_match":
        text = f"(CASE WHEN list_contains({results}, FALSE) THEN FALSE WHEN list_contains(list_transform({results}, lambda x: x IS NULL), TRUE) THEN NULL ELSE TRUE END)"
    else:
        text = f"(CASE WHEN list_contains({results}, TRUE) THEN FALSE WHEN list_contains(list_transform({results}, lambda x: x IS NULL), TRUE) THEN NULL ELSE TRUE END)"
    return Typed(text, ty.BOOLEAN)


@scalar("reduce")
def _reduce(c: Call) -> Typed:
    c.arity(4)
    array = _array(c, 0)
    initial = c.t.expr(c.raw[1], c.scope)
    state_type = initial.type
    function, body = c.lambda_(2, [state_type, array.type.element])
    if body.type != state_type:
        common = ty.common_super_type(state_type, body.type)
        if common is None:
            raise c.mismatch()
        state_type = common
        initial = c.t.expressions.coerce(initial, state_type, c.node)
        function, body = c.lambda_(2, [state_type, array.type.element])
        if body.type != state_type:
            function = _coerced_lambda(c, function, body, state_type)
    output, result = c.lambda_(3, [state_type])
    # DuckDB's list_reduce takes (accumulator, element) and an initial value.
    return Typed(
        f"({_apply(output, f'list_reduce({array.sql}, {function}, {initial.sql})')})",
        result.type,
    )


def _coerced_lambda(c: Call, function: str, body: Typed, target: T) -> str:
    params, text = function[len("lambda ") :].split(": ", 1)
    cast = c.t.expressions.coerce(Typed(text, body.type), target, c.node).sql
    return f"lambda {params}: {cast}"


@scalar("array_sort")
def _array_sort(c: Call) -> Typed:
    c.arity(1, 2)
    array = _array(c, 0)
    if len(c.raw) == 1:
        if not ty.orderable(array.type.element):
            raise c.mismatch()
        return Typed(f"list_sort({array.sql}, 'ASC', 'NULLS LAST')", array.type)
    function, body = c.lambda_(1, [array.type.element, array.type.element])
    if not body.type.is_integer:
        raise c.mismatch()
    params, text = function[len("lambda ") :].split(": ", 1)
    x, y = (p.strip() for p in params.split(","))
    return Typed(_comparator_sort(c, array, x, y, text), array.type)


def _comparator_sort(c: Call, array: Typed, x: str, y: str, body: str) -> str:
    """Sort with a comparator: each element's position is how many elements compare below it
    (a stable insertion order for ties)."""
    i, j = c.t.fresh("l"), c.t.fresh("l")
    a = array.sql
    cmp = body.replace(x, f"{a}[{i}]").replace(y, f"{a}[{j}]")
    position = (
        f"len(list_filter(range(1, len({a}) + 1), lambda {j}: ({cmp}) > 0 "
        f"OR (({cmp}) = 0 AND {j} < {i})))"
    )
    k = c.t.fresh("l")
    pairs = f"list_transform(range(1, len({a}) + 1), lambda {i}: [{position}, {i}])"
    return f"list_transform(list_sort({pairs}), lambda {k}: {a}[{k}[2]])"


@scalar("array_distinct")
def _array_distinct(c: Call) -> Typed:
    c.arity(1)
    array = _array(c, 0)
    # First occurrences, in order (DuckDB's list_distinct drops NULL and reorders).
    i = c.t.fresh("l")
    a = array.sql
    return Typed(
        f"list_transform(list_filter(range(1, len({a}) + 1), lambda {i}: "
        f"list_position({a}, {a}[{i}]) = {i} OR ({a}[{i}] IS NULL AND "
        f"list_position(list_transform({a}, lambda x: x IS NULL), TRUE) = {i})), lambda {i}: {a}[{i}])",
        array.type,
    )


def _two_arrays(c: Call) -> tuple[str, str, T]:
    c.arity(2)
    a, b = _array(c, 0), _array(c, 1)
    common = ty.common_super_type(a.type, b.type)
    if common is None:
        raise c.mismatch()
    return (
        c.t.expressions.coerce(a, common, c.node).sql,
        c.t.expressions.coerce(b, common, c.node).sql,
        common,
    )


@scalar("array_intersect")
def _array_intersect(c: Call) -> Typed:
    a, b, t = _two_arrays(c)
    return Typed(f"list_distinct(list_intersect({a}, {b}))", t)


@scalar("array_union")
def _array_union(c: Call) -> Typed:
    a, b, t = _two_arrays(c)
    return Typed(f"list_distinct(list_concat({a}, {b}))", t)


@scalar("array_except")
def _array_except(c: Call) -> Typed:
    a, b, t = _two_arrays(c)
    x = c.t.fresh("l")
    return Typed(f"list_distinct(list_filter({a}, lambda {x}: NOT list_contains({b}, {x})))", t)


@scalar("arrays_overlap")
def _arrays_overlap(c: Call) -> Typed:
    a, b, _ = _two_arrays(c)
    return Typed(f"(len(list_intersect({a}, {b})) > 0)", ty.BOOLEAN)


@scalar("array_max", "array_min")
def _array_max(c: Call) -> Typed:
    c.arity(1)
    array = _array(c, 0)
    function = "list_max" if c.name == "array_max" else "list_min"
    # Trino: NULL if any element is NULL.
    x = c.t.fresh("l")
    return Typed(
        f"(CASE WHEN list_contains(list_transform({array.sql}, lambda {x}: {x} IS NULL), TRUE) "
        f"THEN NULL ELSE {function}({array.sql}) END)",
        array.type.element,
    )


@scalar("array_position")
def _array_position(c: Call) -> Typed:
    c.arity(2)
    array = _array(c, 0)
    value = c.coerce(1, array.type.element)
    return Typed(f"CAST(coalesce(list_position({array.sql}, {value}), 0) AS BIGINT)", ty.BIGINT)


@scalar("array_remove")
def _array_remove(c: Call) -> Typed:
    c.arity(2)
    array = _array(c, 0)
    value = c.coerce(1, array.type.element)
    x = c.t.fresh("l")
    return Typed(f"list_filter({array.sql}, lambda {x}: {x} <> {value} OR {x} IS NULL)", array.type)


@scalar("slice")
def _slice(c: Call) -> Typed:
    c.arity(3)
    array = _array(c, 0)
    start, length = c.coerce(1, ty.BIGINT), c.coerce(2, ty.BIGINT)
    a = array.sql
    begin = f"(CASE WHEN {start} > 0 THEN {start} ELSE len({a}) + {start} + 1 END)"
    c.need("check")
    return Typed(
        f"(CASE WHEN __t_check({start} = 0, "
        f"'INVALID_FUNCTION_ARGUMENT: SQL array indices start at 1') THEN NULL "
        f"WHEN {begin} < 1 THEN [] ELSE {a}[{begin}:{begin} + {length} - 1] END)",
        array.type,
    )


@scalar("trim_array")
def _trim_array(c: Call) -> Typed:
    c.arity(2)
    array = _array(c, 0)
    n = c.coerce(1, ty.BIGINT)
    return Typed(f"{array.sql}[1:len({array.sql}) - {n}]", array.type)


@scalar("contains_sequence")
def _contains_sequence(c: Call) -> Typed:
    a, b, _ = _two_arrays(c)
    i = c.t.fresh("l")
    return Typed(
        f"(len({b}) = 0 OR len(list_filter(range(1, len({a}) - len({b}) + 2), "
        f"lambda {i}: {a}[{i}:{i} + len({b}) - 1] = {b})) > 0)",
        ty.BOOLEAN,
    )


@scalar("repeat")
def _repeat(c: Call) -> Typed:
    c.arity(2)
    value = c.args[0]
    count = c.coerce(1, ty.BIGINT)
    x = c.t.fresh("l")
    return Typed(f"list_transform(range({count}), lambda {x}: {value.sql})", ty.array(value.type))


@scalar("sequence")
def _sequence(c: Call) -> Typed:
    c.arity(2, 3)
    start, stop = c.args[0], c.args[1]
    if start.type.is_integer and stop.type.is_integer:
        a, b = c.coerce(0, ty.BIGINT), c.coerce(1, ty.BIGINT)
        step = c.coerce(2, ty.BIGINT) if len(c.raw) == 3 else f"(CASE WHEN {a} <= {b} THEN 1 ELSE -1 END)"
        return Typed(f"generate_series({a}, {b}, {step})", ty.array(ty.BIGINT))
    if start.type.name == "date" and stop.type.name == "date":
        step = c.args[2].sql if len(c.raw) == 3 else (
            f"(CASE WHEN {start.sql} <= {stop.sql} THEN to_days(1) ELSE to_days(-1) END)"
        )
        x = c.t.fresh("l")
        return Typed(
            f"list_transform(generate_series(CAST({start.sql} AS TIMESTAMP), CAST({stop.sql} AS TIMESTAMP), {step}), lambda {x}: CAST({x} AS DATE))",
            ty.array(ty.DATE),
        )
    if start.type.name == "timestamp" and stop.type.name == "timestamp" and len(c.raw) == 3:
        return Typed(f"generate_series({start.sql}, {stop.sql}, {c.args[2].sql})", ty.array(start.type))
    raise c.mismatch()


@scalar("zip")
def _zip(c: Call) -> Typed:
    if len(c.raw) < 2:
        raise c.mismatch()
    arrays = [_array(c, i) for i in range(len(c.raw))]
    fields = [(f"field{i}", a.type.element) for i, a in enumerate(arrays)]
    i = c.t.fresh("l")
    longest = "greatest(" + ", ".join(f"len({a.sql})" for a in arrays) + ")"
    parts = ", ".join(f'"field{n}" := {a.sql}[{i}]' for n, a in enumerate(arrays))
    return Typed(
        f"list_transform(range(1, {longest} + 1), lambda {i}: struct_pack({parts}))",
        ty.array(ty.row([(None, t) for _, t in fields])),
    )


@scalar("zip_with")
def _zip_with(c: Call) -> Typed:
    c.arity(3)
    a, b = _array(c, 0), _array(c, 1)
    function, body = c.lambda_(2, [a.type.element, b.type.element])
    i = c.t.fresh("l")
    params, text = function[len("lambda ") :].split(": ", 1)
    x, y = (p.strip() for p in params.split(","))
    applied = text.replace(x, f"{a.sql}[{i}]").replace(y, f"{b.sql}[{i}]")
    return Typed(
        f"list_transform(range(1, greatest(len({a.sql}), len({b.sql})) + 1), lambda {i}: {applied})",
        ty.array(body.type),
    )


@scalar("array_histogram")
def _array_histogram(c: Call) -> Typed:
    c.arity(1)
    array = _array(c, 0)
    x = c.t.fresh("l")
    element = array.type.element
    result = ty.map_of(element, ty.BIGINT)
    values = f"list_filter({array.sql}, lambda {x}: {x} IS NOT NULL)"
    y = c.t.fresh("l")
    keys = f"list_distinct({values})"
    return Typed(
        f"map_from_entries(list_transform({keys}, lambda {y}: struct_pack(key := {y}, value := "
        f"CAST(len(list_filter({values}, lambda {x}: {x} = {y})) AS BIGINT))))",
        result,
    )


# --- maps -------------------------------------------------------------------------------------


@scalar("map")
def _map(c: Call) -> Typed:
    if not c.raw:
        return Typed("MAP {}", ty.map_of(ty.UNKNOWN, ty.UNKNOWN))
    c.arity(2)
    keys, values = _array(c, 0), _array(c, 1)
    result = ty.map_of(keys.type.element, values.type.element)
    c.need("check")
    e = c.t.fresh("l")
    return Typed(
        f"map_from_entries(list_transform(list_zip({keys.sql}, {values.sql}), lambda {e}: "
        f"struct_pack(key := CASE WHEN __t_check(len({keys.sql}) <> len({values.sql}), "
        f"'INVALID_FUNCTION_ARGUMENT: Key and value arrays must be the same length') "
        f"OR __t_check(len(list_distinct({keys.sql})) <> len({keys.sql}), "
        f"'INVALID_FUNCTION_ARGUMENT: Duplicate map keys are not allowed') "
        f"THEN NULL ELSE {e}[1] END, value := {e}[2])))",
        result,
    )


@scalar("map_from_entries")
def _map_from_entries(c: Call) -> Typed:
    c.arity(1)
    array = _array(c, 0)
    element = array.type.element
    if element.name != "row" or len(element.fields) != 2:
        raise c.mismatch()
    (kf, kt), (vf, vt) = element.fields
    x = c.t.fresh("l")
    k, v = quote(ty.field_name(kf, 0)), quote(ty.field_name(vf, 1))
    return Typed(
        f"map_from_entries(list_transform({array.sql}, lambda {x}: "
        f"struct_pack(key := {x}.{k}, value := {x}.{v})))",
        ty.map_of(kt, vt),
    )


@scalar("multimap_from_entries")
def _multimap_from_entries(c: Call) -> Typed:
    c.arity(1)
    array = _array(c, 0)
    element = array.type.element
    if element.name != "row" or len(element.fields) != 2:
        raise c.mismatch()
    (kf, kt), (vf, vt) = element.fields
    k, v = quote(ty.field_name(kf, 0)), quote(ty.field_name(vf, 1))
    x, y, z = c.t.fresh("l"), c.t.fresh("l"), c.t.fresh("l")
    keys = f"list_distinct(list_transform({array.sql}, lambda {x}: {x}.{k}))"
    return Typed(
        f"map_from_entries(list_transform({keys}, lambda {y}: struct_pack(key := {y}, value := "
        f"list_transform(list_filter({array.sql}, lambda {z}: {z}.{k} = {y}), lambda {z}: {z}.{v}))))",
        ty.map_of(kt, ty.array(vt)),
    )


def _map_arg(c: Call, index: int) -> Typed:
    value = c.args[index]
    if value.type.name != "map":
        raise c.mismatch()
    return value


@scalar("map_keys")
def _map_keys(c: Call) -> Typed:
    c.arity(1)
    m = _map_arg(c, 0)
    return Typed(f"map_keys({m.sql})", ty.array(m.type.key))


@scalar("map_values")
def _map_values(c: Call) -> Typed:
    c.arity(1)
    m = _map_arg(c, 0)
    return Typed(f"map_values({m.sql})", ty.array(m.type.value))


@scalar("map_entries")
def _map_entries(c: Call) -> Typed:
    c.arity(1)
    m = _map_arg(c, 0)
    x = c.t.fresh("l")
    return Typed(
        f"list_transform(map_entries({m.sql}), lambda {x}: struct_pack(field0 := {x}.key, field1 := {x}.value))",
        ty.array(ty.row([(None, m.type.key), (None, m.type.value)])),
    )


@scalar("map_concat")
def _map_concat(c: Call) -> Typed:
    if len(c.raw) < 1:
        raise c.mismatch()
    maps = [_map_arg(c, i) for i in range(len(c.raw))]
    result = ty.common_of([m.type for m in maps], "map_concat arguments")
    parts = [c.t.expressions.coerce(m, result, c.node).sql for m in maps]
    return Typed(f"map_concat({', '.join(parts)})", result)


@scalar("map_filter")
def _map_filter(c: Call) -> Typed:
    c.arity(2)
    m = _map_arg(c, 0)
    function, body = c.lambda_(1, [m.type.key, m.type.value])
    e = c.t.fresh("l")
    applied = _apply2(function, f"{e}.key", f"{e}.value")
    return Typed(
        f"map_from_entries(list_filter(map_entries({m.sql}), lambda {e}: coalesce({applied}, FALSE)))",
        m.type,
    )


def _apply2(function: str, first: str, second: str) -> str:
    params, body = function[len("lambda ") :].split(": ", 1)
    x, y = (p.strip() for p in params.split(","))
    return "(" + body.replace(x, first).replace(y, second) + ")"


@scalar("transform_keys", "transform_values")
def _transform_map(c: Call) -> Typed:
    c.arity(2)
    m = _map_arg(c, 0)
    function, body = c.lambda_(1, [m.type.key, m.type.value])
    e = c.t.fresh("l")
    applied = _apply2(function, f"{e}.key", f"{e}.value")
    if c.name == "transform_keys":
        entry = f"struct_pack(key := {applied}, value := {e}.value)"
        result = ty.map_of(body.type, m.type.value)
    else:
        entry = f"struct_pack(key := {e}.key, value := {applied})"
        result = ty.map_of(m.type.key, body.type)
    return Typed(f"map_from_entries(list_transform(map_entries({m.sql}), lambda {e}: {entry}))", result)


@scalar("map_zip_with")
def _map_zip_with(c: Call) -> Typed:
    c.arity(3)
    a, b = _map_arg(c, 0), _map_arg(c, 1)
    if a.type.key != b.type.key and ty.common_super_type(a.type.key, b.type.key) is None:
        raise c.mismatch()
    function, body = c.lambda_(2, [a.type.key, a.type.value, b.type.value])
    params, text = function[len("lambda ") :].split(": ", 1)
    k, v1, v2 = (p.strip() for p in params.split(","))
    key = c.t.fresh("l")
    keys = f"list_distinct(list_concat(map_keys({a.sql}), map_keys({b.sql})))"
    applied = text.replace(v1, f"{a.sql}[{key}]").replace(v2, f"{b.sql}[{key}]").replace(k, key)
    return Typed(
        f"map_from_entries(list_transform({keys}, lambda {key}: struct_pack(key := {key}, value := {applied})))",
        ty.map_of(a.type.key, body.type),
    )


# --- rows -------------------------------------------------------------------------------------


def row_constructor(t: Translator, args: list[Typed]) -> Typed:
    fields = [(None, a.type if not a.type.is_unknown else ty.UNKNOWN) for a in args]
    parts = ", ".join(f'"field{i}" := {a.sql}' for i, a in enumerate(args))
    return Typed(f"struct_pack({parts})", ty.row(fields))


@scalar("row")
def _row(c: Call) -> Typed:
    if not c.raw:
        raise c.mismatch()
    return row_constructor(c.t, c.args)


# --- dates and times --------------------------------------------------------------------------

from orders_pipeline.local_stack.athena import datetimes  # noqa: E402

extract = datetimes.extract
at_timezone = datetimes.at_timezone
datetimes.register(scalar, simple)
