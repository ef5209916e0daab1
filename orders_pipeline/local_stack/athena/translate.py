"""Athena queries -> DuckDB SQL with Trino's semantics: every relation and expression is typed with
Trino's types (Glue schemas for tables), and only what this module and the function table know is
translated; anything else fails with Athena's error kind. Pure: the catalog is a callback."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlglot import exp

from orders_pipeline.local_stack.athena import types as ty
from orders_pipeline.local_stack.athena.errors import AthenaError
from orders_pipeline.local_stack.athena.typed import Typed, quote
from orders_pipeline.local_stack.athena.types import T


@dataclass
class Source:
    """What the catalog gives for a table name: a DuckDB relation and its Trino columns, or the
    query of a view (translated in place)."""

    duck: str | None = None
    columns: list[tuple[str, T]] = field(default_factory=list)
    hidden: dict[str, T] = field(default_factory=dict)
    view: exp.Expression | None = None
    view_database: str | None = None


Resolver = Callable[[exp.Table, exp.Expression], Source]


@dataclass
class Relation:
    alias: str | None
    duck: str
    columns: list[tuple[str, T]]
    hidden: dict[str, T] = field(default_factory=dict)


@dataclass
class Scope:
    relations: list[Relation] = field(default_factory=list)
    parent: Scope | None = None
    lambdas: dict[str, Typed] = field(default_factory=dict)
    # Output columns a GROUP BY ordinal / ORDER BY may refer to: (name, Typed).
    outputs: list[tuple[str, Typed]] | None = None
    aggregate_ok: bool = True
    # JOIN ... USING columns: one column each (unqualified name, first in SELECT *), and the
    # relations whose own copy of it * leaves out.
    using: dict[str, Typed] = field(default_factory=dict)
    using_hidden: set[tuple[str, str]] = field(default_factory=set)
    windows: dict[str, exp.Window] = field(default_factory=dict)  # WINDOW w AS (...)


@dataclass
class Translated:
    sql: str
    columns: list[tuple[str, T]]


def position(node: exp.Expression | None) -> str:
    """`line L:C: ` of a node, as Trino prefixes its messages (when the parser recorded it)."""
    while node is not None:
        meta = node.meta
        if "line" in meta and "start" in meta:
            line, start = meta["line"], meta["start"]
            text_col = meta.get("col", 0) - (meta.get("end", start) - start)
            return f"line {line}:{max(text_col, 1)}: "
        for child in node.iter_expressions():
            if "line" in child.meta:
                node = child
                break
        else:
            return ""
    return ""


def fail(kind: str, message: str, node: exp.Expression | None = None) -> AthenaError:
    return AthenaError(kind, position(node) + message)


class Translator:
    """One query's translation: fresh DuckDB aliases, the helpers (macros, UDFs) it needs."""

    def __init__(self, resolver: Resolver, default_database: str | None) -> None:
        from orders_pipeline.local_stack.athena import expressions

        self.resolver = resolver
        self.default_database = default_database
        self.helpers: set[str] = set()
        self._names = itertools.count(1)
        self.ctes: list[dict[str, Translated]] = []
        self.expressions = expressions.Expressions(self)

    def fresh(self, prefix: str = "r") -> str:
        # The trailing _ keeps one name from being the prefix of another (__l1_ vs __l12_).
        return f"__{prefix}{next(self._names)}_"

    def need(self, helper: str) -> None:
        self.helpers.add(helper)

    # --- queries ----------------------------------------------------------------------------

    def query(self, node: exp.Expression, parent: Scope | None = None) -> Translated:
        if isinstance(node, exp.Subquery) and not node.args.get("alias"):
            return self.with_modifiers(node, self.query(node.this, parent), parent)
        with_ = node.args.get("with_") or node.args.get("with")
        if with_ is not None:
            return self._with(node, with_, parent)
        if isinstance(node, exp.Select):
            return self.select(node, parent)
        if isinstance(node, exp.SetOperation):
            return self.set_operation(node, parent)
        if isinstance(node, exp.Values):
            return self.values(node, parent)
        if isinstance(node, exp.Paren):
            return self.query(node.this, parent)
        raise fail("NOT_SUPPORTED", f"Unsupported query: {node.key}", node)

    def _with(self, node: exp.Expression, with_: exp.With, parent: Scope | None) -> Translated:
        if with_.args.get("recursive"):
            raise fail("NOT_SUPPORTED", "WITH RECURSIVE is not supported", node)
        frame: dict[str, Translated] = {}
        self.ctes.append(frame)
        try:
            parts = []
            for cte in with_.expressions:
                name = cte.alias_or_name.lower()
                body = self.query(cte.this, parent)
                alias = cte.args.get("alias")
                names = [c.name.lower() for c in alias.columns] if alias and alias.columns else []
                columns = body.columns
                if names:
                    if len(names) != len(columns):
                        raise fail(
                            "MISMATCHED_COLUMN_ALIASES",
                            f"WITH query {name} has {len(columns)} columns but {len(names)} "
                            "aliases were specified",
                            cte,
                        )
                    columns = [(n, t) for n, (_, t) in zip(names, columns, strict=True)]
                duck = self.fresh("cte")
                cols = ", ".join(quote(n) for n, _ in columns)
                parts.append(f"{duck}({cols}) AS ({body.sql})")
                frame[name] = Translated(duck, columns)
            inner = node.copy()
            inner.set("with_", None)
            inner.set("with", None)
            body = self.query(inner, parent)
        finally:
            self.ctes.pop()
        return Translated(f"WITH {', '.join(parts)} {body.sql}", body.columns)

    def _find_cte(self, name: str) -> Translated | None:
        for frame in reversed(self.ctes):
            if name in frame:
                return frame[name]
        return None

    def values(self, node: exp.Values, parent: Scope | None) -> Translated:
        scope = Scope(parent=parent)
        rows: list[list[Typed]] = []
        for item in node.expressions:
            cells = item.expressions if isinstance(item, exp.Tuple) else [item]
            rows.append([self.expr(c, scope) for c in cells])
        width = len(rows[0])
        if any(len(r) != width for r in rows):
            raise fail("TYPE_MISMATCH", "Values rows have mismatched sizes", node)
        types = [ty.common_of([r[i].type for r in rows], "values") for i in range(width)]
        names = [f"_col{i}" for i in range(width)]
        rendered = ", ".join(
            "("
            + ", ".join(
                self.expressions.coerce(c, t, node).sql for c, t in zip(r, types, strict=True)
            )
            + ")"
            for r in rows
        )
        duck = self.fresh("v")
        cols = ", ".join(quote(n) for n in names)
        return Translated(
            f"SELECT * FROM (VALUES {rendered}) AS {duck}({cols})",
            list(zip(names, types, strict=True)),
        )

    def set_operation(self, node: exp.SetOperation, parent: Scope | None) -> Translated:
        left = self.query(node.this, parent)
        right = self.query(node.expression, parent)
        if len(left.columns) != len(right.columns):
            raise fail(
                "TYPE_MISMATCH",
                f"{node.key.upper()} query has different number of fields: "
                f"{len(left.columns)}, {len(right.columns)}",
                node,
            )
        types = [
            ty.common_of([a, b], f"{node.key} columns")
            for (_, a), (_, b) in zip(left.columns, right.columns, strict=True)
        ]
        sides = [self._cast_columns(side, types) for side in (left, right)]
        word = {"union": "UNION", "intersect": "INTERSECT", "except": "EXCEPT"}[node.key]
        distinct = node.args.get("distinct")
        word += "" if distinct else " ALL"
        columns = [(n, t) for (n, _), t in zip(left.columns, types, strict=True)]
        result = Translated(f"({sides[0]}) {word} ({sides[1]})", columns)
        return self.with_modifiers(node, result, parent)

    def _cast_columns(self, side: Translated, types: list[T]) -> str:
        if all(t == c for (_, c), t in zip(side.columns, types, strict=True)):
            return side.sql
        duck = self.fresh("s")
        casts = ", ".join(
            self.expressions.coerce(Typed(f"{duck}.{quote(n)}", c), t, None).sql + f" AS {quote(n)}"
            for (n, c), t in zip(side.columns, types, strict=True)
        )
        return f"SELECT {casts} FROM ({side.sql}) AS {duck}"

    def with_modifiers(
        self, node: exp.Expression, result: Translated, parent: Scope | None
    ) -> Translated:
        """ORDER BY / LIMIT / OFFSET on a set operation or a parenthesized query."""
        order = node.args.get("order")
        limit, offset = node.args.get("limit"), node.args.get("offset")
        if order is None and limit is None and offset is None:
            return result
        duck = self.fresh("q")
        relation = Relation(None, duck, result.columns)
        scope = Scope([relation], parent)
        outputs = [(n, Typed(f"{duck}.{quote(n)}", t)) for n, t in result.columns]
        scope.outputs = outputs
        text = f"SELECT * FROM ({result.sql}) AS {duck}"
        text += self._order_limit(node, scope, outputs, distinct=False)
        return Translated(text, result.columns)

    # --- SELECT -----------------------------------------------------------------------------

    def select(self, node: exp.Select, parent: Scope | None) -> Translated:
        for unsupported in ("qualify", "connect", "sample", "settings", "into"):
            if node.args.get(unsupported):
                raise fail("NOT_SUPPORTED", f"{unsupported.upper()} is not supported", node)
        scope = Scope(parent=parent)
        scope.windows = {w.name.lower(): w for w in node.args.get("windows") or []}
        from_sql = ""
        source = node.args.get("from_") or node.args.get("from")
        if source is not None:
            from_sql = " FROM " + self.from_item(source.this, scope)
            for join in node.args.get("joins") or []:
                from_sql += self.join(join, scope)
        where = ""
        if node.args.get("where") is not None:
            condition = self.condition(node.args["where"].this, scope, "WHERE", aggregates=False)
            where = f" WHERE {condition}"
        projections: list[tuple[str, Typed]] = []
        for item in node.expressions:
            projections.extend(self.projection(item, scope, len(projections)))
        scope.outputs = projections
        group = self.group_by(node.args.get("group"), scope, projections)
        having = ""
        if node.args.get("having") is not None:
            having = " HAVING " + self.condition(node.args["having"].this, scope, "HAVING")
        distinct = node.args.get("distinct")
        if distinct is not None and distinct.args.get("on"):
            raise fail("NOT_SUPPORTED", "DISTINCT ON is not supported", node)
        select_list = ", ".join(f"{t.sql} AS {quote(n)}" for n, t in projections)
        text = (
            f"SELECT {'DISTINCT ' if distinct else ''}{select_list}{from_sql}{where}{group}{having}"
        )
        text += self._order_limit(node, scope, projections, distinct=bool(distinct))
        return Translated(text, [(n, t.type) for n, t in projections])

    def condition(
        self, node: exp.Expression, scope: Scope, clause: str, aggregates: bool = True
    ) -> str:
        was = scope.aggregate_ok
        scope.aggregate_ok = aggregates
        try:
            typed = self.expr(node, scope)
        finally:
            scope.aggregate_ok = was
        if typed.type.name not in ("boolean", "unknown"):
            raise fail(
                "TYPE_MISMATCH",
                f"{clause} clause must evaluate to a boolean: actual type {typed.type}",
                node,
            )
        return typed.sql

    def projection(self, item: exp.Expression, scope: Scope, start: int) -> list[tuple[str, Typed]]:
        if isinstance(item, exp.Star):
            return self._star(scope, None, item)
        if isinstance(item, exp.Column) and isinstance(item.this, exp.Star):
            return self._star(scope, item.table.lower(), item)
        if isinstance(item, exp.Alias):
            name = item.alias
            if name == "":
                raise fail("SYNTAX_ERROR", "Zero-length delimited identifier not allowed", item)
            return [(name.lower(), self.expr(item.this, scope))]
        typed = self.expr(item, scope)
        if isinstance(item, exp.Column):
            return [(item.name.lower(), typed)]
        if isinstance(item, exp.Dot) and isinstance(item.expression, exp.Identifier):
            return [(item.expression.name.lower(), typed)]
        return [(f"_col{start}", typed)]

    def _star(
        self, scope: Scope, table: str | None, node: exp.Expression
    ) -> list[tuple[str, Typed]]:
        found = []
        relations = [r for r in scope.relations if table is None or r.alias == table]
        if table is not None and not relations:
            raise fail("TABLE_NOT_FOUND", f"Table '{table}' not found", node)
        if not scope.relations:
            raise fail("SYNTAX_ERROR", "SELECT * not allowed in queries without FROM clause", node)
        hidden: set[tuple[str, str]] = set()
        if table is None:
            # JOIN ... USING: the joined columns once, first; then everything else.
            found = [(name, typed) for name, typed in scope.using.items()]
            hidden = scope.using_hidden
        for relation in relations:
            for name, t in relation.columns:
                if (relation.duck, name) not in hidden:
                    found.append((name, Typed(f"{relation.duck}.{quote(name)}", t)))
        return found

    def group_by(
        self, group: exp.Group | None, scope: Scope, projections: list[tuple[str, Typed]]
    ) -> str:
        if group is None:
            return ""
        if group.args.get("all") is not None:
            raise fail("NOT_SUPPORTED", "GROUP BY ALL is not supported", group)

        def key(node: exp.Expression) -> str:
            if isinstance(node, exp.Rollup | exp.Cube):
                word = "ROLLUP" if isinstance(node, exp.Rollup) else "CUBE"
                return f"{word} (" + ", ".join(key(e) for e in node.expressions) + ")"
            if isinstance(node, exp.GroupingSets):
                items = [
                    sets(e) if isinstance(e, exp.Tuple) else f"({key(e)})" for e in node.expressions
                ]
                return "GROUPING SETS (" + ", ".join(items) + ")"
            if isinstance(node, exp.Paren):
                return key(node.this)
            if isinstance(node, exp.Tuple):
                return ", ".join(key(e) for e in node.expressions)
            if isinstance(node, exp.Literal) and not node.is_string:
                index = int(node.name)
                if not 1 <= index <= len(projections):
                    raise fail(
                        "INVALID_COLUMN_REFERENCE",
                        f"GROUP BY position {index} is not in select list",
                        node,
                    )
                return projections[index - 1][1].sql
            was = scope.aggregate_ok
            scope.aggregate_ok = False
            try:
                return self.expr(node, scope).sql
            finally:
                scope.aggregate_ok = was

        def sets(node: exp.Expression) -> str:
            return "(" + ", ".join(key(e) for e in node.expressions) + ")"

        parts = [key(e) for e in group.expressions]
        for rollup in group.args.get("rollup") or []:
            parts.append("ROLLUP (" + ", ".join(key(e) for e in rollup.expressions) + ")")
        for cube in group.args.get("cube") or []:
            parts.append("CUBE (" + ", ".join(key(e) for e in cube.expressions) + ")")
        for grouping in group.args.get("grouping_sets") or []:
            items = []
            for e in grouping.expressions:
                items.append(sets(e) if isinstance(e, exp.Tuple) else f"({key(e)})")
            parts.append("GROUPING SETS (" + ", ".join(items) + ")")
        parts = [p for p in parts if p]
        return " GROUP BY " + ", ".join(parts) if parts else ""

    def _order_limit(
        self, node: exp.Expression, scope: Scope, outputs: list[tuple[str, Typed]], distinct: bool
    ) -> str:
        text = ""
        order = node.args.get("order")
        if order is not None:
            keys = []
            for ordered in order.expressions:
                keys.append(self._order_key(ordered, scope, outputs, distinct))
            text += " ORDER BY " + ", ".join(keys)
        offset = node.args.get("offset")
        limit = node.args.get("limit")
        if isinstance(limit, exp.Fetch):
            count = limit.args.get("count")
            limit_sql = self._count(count, "FETCH FIRST") if count is not None else "1"
            if limit.args.get("with_ties"):
                raise fail("NOT_SUPPORTED", "FETCH FIRST WITH TIES is not supported", limit)
            text += f" LIMIT {limit_sql}"
        elif limit is not None:
            expression = limit.args.get("expression")
            if isinstance(expression, exp.Var) and expression.name.upper() == "ALL":
                pass
            else:
                text += f" LIMIT {self._count(expression, 'LIMIT')}"
        if offset is not None:
            text += f" OFFSET {self._count(offset.args.get('expression'), 'OFFSET')}"
        return text

    def _count(self, node: exp.Expression | None, clause: str) -> str:
        if isinstance(node, exp.Literal) and not node.is_string and node.name.isdigit():
            return node.name
        if isinstance(node, exp.Parameter | exp.Placeholder):
            return self.expr(node, Scope()).sql
        raise fail("SYNTAX_ERROR", f"{clause} must be a non-negative integer literal", node)

    def _order_key(
        self,
        ordered: exp.Ordered,
        scope: Scope,
        outputs: list[tuple[str, Typed]],
        distinct: bool,
    ) -> str:
        node = ordered.this
        while isinstance(node, exp.Paren):
            node = node.this
        typed: Typed | None = None
        output_index = None
        if isinstance(node, exp.Literal) and not node.is_string and node.name.isdigit():
            output_index = int(node.name) - 1
            if not 0 <= output_index < len(outputs):
                raise fail(
                    "INVALID_COLUMN_REFERENCE",
                    f"ORDER BY position {node.name} is not in select list",
                    node,
                )
        elif isinstance(node, exp.Column) and not node.table:
            matches = [i for i, (n, _) in enumerate(outputs) if n == node.name.lower()]
            if len(matches) == 1:
                output_index = matches[0]
        if output_index is not None:
            typed = outputs[output_index][1]
            key = str(output_index + 1)
        else:
            typed = self.expr(node, scope)
            key = typed.sql
            if distinct and typed.sql not in {t.sql for _, t in outputs}:
                raise fail(
                    "EXPRESSION_NOT_IN_DISTINCT",
                    "For SELECT DISTINCT, ORDER BY expressions must appear in select list",
                    node,
                )
        if not ty.orderable(typed.type) and not typed.type.is_unknown:
            raise fail("TYPE_MISMATCH", f"Type {typed.type} is not orderable", node)
        desc = bool(ordered.args.get("desc"))
        # Trino puts NULLs last unless told otherwise, in both directions (the parser knows).
        first = bool(ordered.args.get("nulls_first"))
        return f"{key}{' DESC' if desc else ' ASC'} NULLS {'FIRST' if first else 'LAST'}"

    # --- FROM -------------------------------------------------------------------------------

    def from_item(self, node: exp.Expression, scope: Scope, lateral: bool = False) -> str:
        alias_node = node.args.get("alias")
        alias = alias_node.name.lower() if alias_node is not None and alias_node.name else None
        column_aliases = (
            [c.name.lower() for c in alias_node.columns]
            if alias_node is not None and alias_node.columns
            else []
        )
        if isinstance(node, exp.Table):
            if node.args.get("sample") or node.args.get("version") or node.args.get("when"):
                raise fail("NOT_SUPPORTED", "TABLESAMPLE / FOR VERSION are not supported", node)
            return self._table(node, scope, alias, column_aliases)
        if isinstance(node, exp.Subquery):
            body = node.this
            if isinstance(body, exp.Values):
                translated = self.values(body, scope.parent)
            else:
                translated = self.query(body, scope if lateral else scope.parent)
            translated = self.with_modifiers(node, translated, scope.parent)
            return self._bind(translated, alias, column_aliases, scope, node)
        if isinstance(node, exp.Values):
            return self._bind(self.values(node, scope.parent), alias, column_aliases, scope, node)
        if isinstance(node, exp.Unnest):
            return self._unnest(node, scope, alias, column_aliases)
        if isinstance(node, exp.Lateral):
            raise fail("NOT_SUPPORTED", "LATERAL is not supported", node)
        raise fail("NOT_SUPPORTED", f"Unsupported relation: {node.key}", node)

    def _bind(
        self,
        translated: Translated,
        alias: str | None,
        column_aliases: list[str],
        scope: Scope,
        node: exp.Expression,
    ) -> str:
        columns = translated.columns
        if column_aliases:
            if len(column_aliases) != len(columns):
                raise fail(
                    "MISMATCHED_COLUMN_ALIASES",
                    f"Column alias list has {len(column_aliases)} entries but '{alias}' has "
                    f"{len(columns)} columns available",
                    node,
                )
            columns = [(n, t) for n, (_, t) in zip(column_aliases, columns, strict=True)]
        duck = self.fresh()
        scope.relations.append(Relation(alias, duck, columns))
        names = ", ".join(quote(n) for n, _ in columns)
        return f"({translated.sql}) AS {duck}({names})"

    def _table(
        self, node: exp.Table, scope: Scope, alias: str | None, column_aliases: list[str]
    ) -> str:
        name = node.name.lower()
        if not node.db:
            cte = self._find_cte(name)
            if cte is not None:
                return self._bind(
                    Translated(f"SELECT * FROM {cte.sql}", cte.columns),
                    alias or name,
                    column_aliases,
                    scope,
                    node,
                )
        source = self.resolver(node, node)
        if source.view is not None:
            saved_db, saved_ctes = self.default_database, self.ctes
            self.default_database, self.ctes = source.view_database, []
            try:
                translated = self.query(source.view)
            finally:
                self.default_database, self.ctes = saved_db, saved_ctes
            return self._bind(translated, alias or name, column_aliases, scope, node)
        duck = self.fresh()
        columns = source.columns
        renamed = ""
        if column_aliases:
            if len(column_aliases) != len(columns):
                raise fail(
                    "MISMATCHED_COLUMN_ALIASES",
                    f"Column alias list has {len(column_aliases)} entries but '{name}' has "
                    f"{len(columns)} columns available",
                    node,
                )
            original = columns
            columns = [(n, t) for n, (_, t) in zip(column_aliases, columns, strict=True)]
            renamed = ", ".join(
                f"{quote(o)} AS {quote(n)}"
                for (o, _), (n, _) in zip(original, columns, strict=True)
            )
        scope.relations.append(Relation(alias or name, duck, columns, dict(source.hidden)))
        if renamed:
            return f"(SELECT {renamed} FROM {source.duck}) AS {duck}"
        return f"{source.duck} AS {duck}"

    def _unnest(
        self, node: exp.Unnest, scope: Scope, alias: str | None, column_aliases: list[str]
    ) -> str:
        arrays = [self.expr(e, scope) for e in node.expressions]
        inner: list[str] = []  # one UNNEST per argument: DuckDB walks them in step
        outer: list[str] = []  # the relation's columns (a row element expands to its fields)
        columns: list[tuple[str, T]] = []
        names = iter(column_aliases)
        offset = node.args.get("offset")
        ordinality = bool(offset)
        width = sum(
            len(a.type.element.fields)
            if a.type.name == "array" and a.type.element.name == "row"
            else 2
            if a.type.name == "map"
            else 1
            for a in arrays
        )
        expand_rows = not column_aliases or len(column_aliases) >= width + (
            ordinality and not isinstance(offset, exp.Identifier)
        )
        lengths = []
        for index, array in enumerate(arrays):
            slot = f"c{index}"
            if array.type.name == "map":
                inner.append(f"UNNEST(map_keys({array.sql})) AS k{index}")
                inner.append(f"UNNEST(map_values({array.sql})) AS v{index}")
                lengths.append(f"coalesce(cardinality({array.sql}), 0)")
                for part, t in ((f"k{index}", array.type.key), (f"v{index}", array.type.value)):
                    outer.append(part)
                    columns.append((next(names, f"_col{len(columns)}"), t))
                continue
            if array.type.is_unknown:
                continue
            if array.type.name != "array":
                raise fail(
                    "TYPE_MISMATCH", f"Cannot unnest type: {array.type}", node.expressions[index]
                )
            inner.append(f"UNNEST({array.sql}) AS {slot}")
            lengths.append(f"coalesce(len({array.sql}), 0)")
            element = array.type.element
            if element.name == "row" and expand_rows:
                for position, (fname, ftype) in enumerate(element.fields):
                    outer.append(f"{slot}.{quote(ty.field_name(fname, position))}")
                    columns.append((next(names, fname or f"_col{len(columns)}"), ftype))
                continue
            outer.append(slot)
            columns.append((next(names, f"_col{len(columns)}"), element))
        if ordinality:
            longest = lengths[0] if len(lengths) == 1 else f"greatest({', '.join(lengths)})"
            inner.append(f"UNNEST(range(1, {longest or '0'} + 1)) AS o")
            outer.append("o")
            name = offset.name.lower() if isinstance(offset, exp.Identifier) else None
            columns.append((name or next(names, f"_col{len(columns)}"), ty.BIGINT))
        if not inner:
            inner, outer = ["NULL AS c0 LIMIT 0"], ["c0"]
            columns = [(next(names, "_col0"), ty.UNKNOWN)]
        duck = self.fresh()
        scope.relations.append(Relation(alias, duck, columns))
        renamed = ", ".join(quote(n) for n, _ in columns)
        body = f"SELECT {', '.join(outer)} FROM (SELECT {', '.join(inner)})"
        return f"LATERAL ({body}) AS {duck}({renamed})"

    def join(self, join: exp.Join, scope: Scope) -> str:
        kind = (join.args.get("kind") or "").upper()
        side = (join.args.get("side") or "").upper()
        method = join.args.get("method")
        if method:
            raise fail("NOT_SUPPORTED", f"{method} JOIN is not supported", join)
        target = join.this
        lateral_ok = isinstance(target, exp.Unnest) or (isinstance(target, exp.Lateral))
        before = len(scope.relations)
        # The right side of a join sees the left side only when it is an UNNEST (Trino's rule).
        item = self.from_item(target, scope, lateral=lateral_ok)
        on = join.args.get("on")
        using = join.args.get("using")
        if kind == "CROSS" or (not kind and not side and on is None and not using):
            return f" CROSS JOIN {item}"
        word = {"": "INNER", "INNER": "INNER", "OUTER": ""}.get(kind, kind)
        words = " ".join(w for w in (side, word if side == "" or word != "INNER" else "") if w)
        if side and kind in ("", "OUTER"):
            words = f"{side} OUTER"
        words = words or "INNER"
        if using:
            left_rel = scope.relations[:before]
            right_rel = scope.relations[before:]
            conditions = []
            for identifier in using:
                name = identifier.name.lower()
                left_col = self._column_in(left_rel, name, join)
                right_col = self._column_in(right_rel, name, join)
                common = ty.common_super_type(left_col.type, right_col.type)
                if common is None:
                    raise fail(
                        "TYPE_MISMATCH",
                        f"Column types of USING column {name} are not compatible: "
                        f"{left_col.type}, {right_col.type}",
                        join,
                    )
                a = self.expressions.coerce(left_col, common, join)
                b = self.expressions.coerce(right_col, common, join)
                conditions.append(f"{a.sql} = {b.sql}")
                # The one column Trino keeps: the left's, the right's, or either for FULL.
                merged = {"RIGHT": b.sql, "FULL": f"coalesce({a.sql}, {b.sql})"}.get(side, a.sql)
                scope.using[name] = Typed(merged, common)
                for relation in scope.relations:
                    if relation in left_rel + right_rel and any(
                        c == name for c, _ in relation.columns
                    ):
                        scope.using_hidden.add((relation.duck, name))
            return f" {words} JOIN {item} ON " + " AND ".join(conditions)
        if on is None:
            raise fail("SYNTAX_ERROR", "JOIN requires an ON or USING clause", join)
        condition = self.condition(on, scope, "JOIN ON", aggregates=False)
        return f" {words} JOIN {item} ON {condition}"

    def _column_in(self, relations: list[Relation], name: str, node: exp.Expression) -> Typed:
        for relation in relations:
            for column, t in relation.columns:
                if column == name:
                    return Typed(f"{relation.duck}.{quote(column)}", t)
        raise fail("COLUMN_NOT_FOUND", f"Column '{name}' is missing from USING relation", node)

    # --- expressions ------------------------------------------------------------------------

    def expr(self, node: exp.Expression, scope: Scope) -> Typed:
        return self.expressions.expr(node, scope)


def translate_query(
    tree: exp.Expression, resolver: Resolver, default_database: str | None
) -> tuple[Translated, set[str]]:
    """The DuckDB text and Trino output columns of a query, and the helpers it calls."""
    translator = Translator(resolver, default_database)
    translated = translator.query(tree)
    return translated, translator.helpers
