"""Window calls: the function (aggregate or ranking) and its OVER clause, frames included."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlglot import exp

from orders_pipeline.local_stack.athena import functions
from orders_pipeline.local_stack.athena.typed import Typed

if TYPE_CHECKING:
    from orders_pipeline.local_stack.athena.translate import Scope, Translator


def _bound(t: Translator, value: object, side: str | None, scope: Scope) -> str:
    if isinstance(value, str):
        text = value.upper()
    elif isinstance(value, exp.Expression):
        text = t.expr(value, scope).sql
    else:
        text = "CURRENT ROW"
    return f"{text} {side.upper()}" if side else text


def _named_window(scope: Scope | None, name: str) -> exp.Window | None:
    while scope is not None:
        if name in scope.windows:
            return scope.windows[name]
        scope = scope.parent
    return None


def window(t: Translator, node: exp.Window, scope: Scope) -> Typed:
    from orders_pipeline.local_stack.athena.translate import fail

    named = node.args.get("alias")
    if named is not None:
        # OVER w: the WINDOW clause's specification.
        found = _named_window(scope, named.name.lower())
        if found is None:
            raise fail("INVALID_WINDOW_REFERENCE", f"Cannot resolve WINDOW name {named.name}", node)
        if any(node.args.get(k) for k in ("partition_by", "order", "spec")):
            raise fail("NOT_SUPPORTED", "A named window cannot be refined here", node)
        node = exp.Window(
            this=node.this,
            partition_by=found.args.get("partition_by"),
            order=found.args.get("order"),
            spec=found.args.get("spec"),
        )
    target = node.this
    filter_ = None
    if isinstance(target, exp.Filter):
        target, filter_ = target.this, target.expression
    nulls = ""
    if isinstance(target, exp.IgnoreNulls | exp.RespectNulls):
        nulls = " IGNORE NULLS" if isinstance(target, exp.IgnoreNulls) else " RESPECT NULLS"
        target = target.this
        name = target.name.lower() if isinstance(target, exp.Anonymous) else ""
        if name not in ("lag", "lead", "first_value", "last_value", "nth_value"):
            raise fail("NOT_SUPPORTED", f"{nulls.strip()} is not supported with {name}", node)
    typed = functions.call(t, target, scope, filter_=filter_, window=True)
    if nulls:
        typed = Typed(typed.sql[:-1] + nulls + ")", typed.type)
    parts = []
    partition = node.args.get("partition_by") or []
    if partition:
        parts.append("PARTITION BY " + ", ".join(t.expr(p, scope).sql for p in partition))
    order = node.args.get("order")
    if order is not None:
        keys = []
        for ordered in order.expressions:
            value = t.expr(ordered.this, scope).sql
            direction = " DESC" if ordered.args.get("desc") else " ASC"
            nulls = " NULLS FIRST" if ordered.args.get("nulls_first") else " NULLS LAST"
            keys.append(value + direction + nulls)
        parts.append("ORDER BY " + ", ".join(keys))
    spec = node.args.get("spec")
    if spec is not None:
        kind = (spec.args.get("kind") or "ROWS").upper()
        start = _bound(t, spec.args.get("start"), spec.args.get("start_side"), scope)
        end_value = spec.args.get("end")
        if end_value is None:
            parts.append(f"{kind} {start}")
        else:
            end = _bound(t, end_value, spec.args.get("end_side"), scope)
            parts.append(f"{kind} BETWEEN {start} AND {end}")
    over = f" OVER ({' '.join(parts)})"
    if "/*agg*/" in typed.sql:
        # Right after each aggregate call the handler wrote (it may be inside a CAST).
        return Typed(typed.sql.replace("/*agg*/", over), typed.type)
    return Typed(f"{typed.sql}{over}", typed.type)
