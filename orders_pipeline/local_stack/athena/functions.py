"""The function table: every Trino function the engine answers like Athena, with its argument types,
result type and DuckDB text. A name not here is FUNCTION_NOT_FOUND, as on Athena for an unknown
function: an allow-list, so no DuckDB-only function (read_csv, getenv, ...) is reachable."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from sqlglot import exp

from orders_pipeline.local_stack.athena import types as ty
from orders_pipeline.local_stack.athena.errors import AthenaError
from orders_pipeline.local_stack.athena.typed import Typed, string
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
                Typed("NULL", T("lambda"))
                if isinstance(a, exp.Lambda)
                else self.t.expr(a, self.scope)
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
        return with_filter(c, typed)
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


def with_filter(c: Call, typed: Typed) -> Typed:
    if c.filter_ is None:
        return typed
    condition = c.t.expressions.boolean(c.filter_.this, c.scope, "FILTER")
    text = typed.sql
    # The FILTER applies to each aggregate call the handler wrote (marked /*agg*/).
    marker = "/*agg*/"
    if marker not in text:
        raise fail("NOT_SUPPORTED", f"FILTER is not supported with {c.name}", c.node)
    return Typed(text.replace(marker, f" FILTER (WHERE {condition.sql}){marker}"), typed.type)


def agg_call(c: Call, function: str, args: list[str]) -> str:
    """An aggregate call with DISTINCT / ORDER BY; /*agg*/ marks where a FILTER goes."""
    inner = ", ".join(args)
    if c.distinct:
        inner = "DISTINCT " + inner
    if c.order:
        inner += " ORDER BY " + ", ".join(order_sql(c, o) for o in c.order)
    return f"{function}({inner})/*agg*/"


def order_sql(c: Call, ordered: exp.Ordered) -> str:
    value = c.t.expr(ordered.this, c.scope)
    desc = " DESC" if ordered.args.get("desc") else " ASC"
    nulls = " NULLS FIRST" if ordered.args.get("nulls_first") else " NULLS LAST"
    return value.sql + desc + nulls


def apply_lambda(function: str, argument: str) -> str:
    """Apply a translated one-parameter lambda to an argument (DuckDB has no lambda call)."""
    params, body = function[len("lambda ") :].split(": ", 1)
    return body.replace(params.strip(), argument)


def apply_lambda2(function: str, first: str, second: str) -> str:
    params, body = function[len("lambda ") :].split(": ", 1)
    x, y = (p.strip() for p in params.split(","))
    return "(" + body.replace(x, first).replace(y, second) + ")"


# --- conditional ------------------------------------------------------------------------------


@scalar("coalesce")
def _coalesce(c: Call) -> Typed:
    if len(c.raw) < 2:
        raise fail(
            "SYNTAX_ERROR", "The 'coalesce' function must have at least two arguments", c.node
        )
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


# --- the rest of the table ---------------------------------------------------------------------

from orders_pipeline.local_stack.athena import (  # noqa: E402,F401 - they register their functions
    aggregates,
    arrays,
    datetimes,
    json_functions,
    numbers,
    strings,
)

concat = strings.concat
listagg = aggregates.listagg
extract = datetimes.extract
at_timezone = datetimes.at_timezone
trim = strings.trim
datetimes.register(scalar, simple)
