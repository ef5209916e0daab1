"""Expressions: literals, columns, operators, CAST, CASE, subscripts, subqueries, lambdas and
windows, each typed with Trino's rules and written in DuckDB. Function calls go to functions.py."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from sqlglot import exp

from orders_pipeline.local_stack.athena import types as ty
from orders_pipeline.local_stack.athena.errors import AthenaError
from orders_pipeline.local_stack.athena.typed import Typed, quote, string
from orders_pipeline.local_stack.athena.types import T

if TYPE_CHECKING:
    from orders_pipeline.local_stack.athena.translate import Scope, Translator

_ARITHMETIC = {exp.Add: "+", exp.Sub: "-", exp.Mul: "*", exp.Div: "/", exp.Mod: "%"}
_COMPARISON = {exp.EQ: "=", exp.NEQ: "<>", exp.LT: "<", exp.LTE: "<=", exp.GT: ">", exp.GTE: ">="}
_TIMESTAMP_TEXT = re.compile(
    r"\s*(\d{4,})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d*))?)?)?"
    r"\s*(.*?)\s*$"
)
_INTERVAL_UNITS = ("YEAR", "MONTH", "DAY", "HOUR", "MINUTE", "SECOND")


def fail(kind: str, message: str, node: exp.Expression | None = None) -> AthenaError:
    from orders_pipeline.local_stack.athena.translate import fail as located

    return located(kind, message, node)


def zone_of(text: str, node: exp.Expression | None) -> str:
    """A zone id as Trino accepts it: a region id, UTC (Z, GMT, UT) or a +hh:mm offset."""
    from orders_pipeline.local_stack.athena import zones

    found = zones.canonical(text)
    if found is None:
        raise fail("INVALID_FUNCTION_ARGUMENT", f"Time zone not supported: {text}", node)
    return found


class Expressions:
    def __init__(self, translator: Translator) -> None:
        self.t = translator

    # --- dispatch ---------------------------------------------------------------------------

    def expr(self, node: exp.Expression, scope: Scope) -> Typed:
        handler = getattr(self, f"_{type(node).__name__}", None)
        if handler is None:
            for cls, op in _ARITHMETIC.items():
                if type(node) is cls:
                    return self.arithmetic(node, op, scope)
            for cls, op in _COMPARISON.items():
                if type(node) is cls:
                    return self.comparison(node, op, scope)
            raise fail(
                "NOT_SUPPORTED", f"Unsupported expression: {node.sql(dialect='trino')}", node
            )
        return handler(node, scope)

    # --- literals ---------------------------------------------------------------------------

    def _Literal(self, node: exp.Literal, scope: Scope) -> Typed:
        text = node.this
        if node.is_string:
            return Typed(string(text), ty.varchar(len(text)), text)
        lowered = text.lower()
        if "e" in lowered:
            return Typed(f"CAST({text} AS DOUBLE)", ty.DOUBLE, float(text))
        if "." in text:
            return self.decimal_literal(text, node)
        value = int(text)
        if -(2**31) <= value < 2**31:
            return Typed(text, ty.INTEGER, value)
        if -(2**63) <= value < 2**63:
            return Typed(f"CAST({text} AS BIGINT)", ty.BIGINT, value)
        if len(text.lstrip("0")) <= ty.MAX_DECIMAL:
            return self.decimal_literal(text, node)
        raise fail("INVALID_LITERAL", f"Invalid numeric literal: {text}", node)

    def decimal_literal(self, text: str, node: exp.Expression) -> Typed:
        match = re.fullmatch(r"\s*([+-]?)(\d*)(?:\.(\d*))?\s*", text)
        if match is None or not (match.group(2) or match.group(3)):
            raise fail("INVALID_LITERAL", f"'{text}' is not a valid decimal literal", node)
        integral, fraction = match.group(2), match.group(3) or ""
        precision = max(len(integral) + len(fraction), 1)
        scale = len(fraction)
        if precision > ty.MAX_DECIMAL:
            raise fail("INVALID_LITERAL", f"Decimal literal too long: {text}", node)
        value = Decimal(text.strip())
        t = ty.decimal(precision, scale)
        return Typed(f"CAST({string(str(value))} AS {t.duck()})", t, value)

    def _Null(self, node: exp.Null, scope: Scope) -> Typed:
        return Typed("NULL", ty.UNKNOWN, None)

    def _Boolean(self, node: exp.Boolean, scope: Scope) -> Typed:
        value = bool(node.this)
        return Typed("TRUE" if value else "FALSE", ty.BOOLEAN, value)

    def _HexString(self, node: exp.HexString, scope: Scope) -> Typed:
        hexdigits = node.this
        if len(hexdigits) % 2:
            raise fail(
                "INVALID_LITERAL", "Binary literal must contain an even number of digits", node
            )
        escaped = "".join(f"\\x{hexdigits[i : i + 2]}" for i in range(0, len(hexdigits), 2))
        return Typed(f"'{escaped}'::BLOB", ty.VARBINARY)

    def typed_literal(self, node: exp.Cast, scope: Scope) -> Typed:
        """`TYPE 'text'`: the type comes from the text for DECIMAL, TIMESTAMP and TIME."""
        text = node.this.name if isinstance(node.this, exp.Literal) else None
        if text is None:
            return self.cast_node(node, scope, safe=False)
        kind = node.to.this
        D = exp.DataType.Type
        if kind == D.DECIMAL and not node.to.expressions:
            return self.decimal_literal(text, node)
        if kind in (D.TIMESTAMP, D.TIMESTAMPTZ):
            return self.timestamp_literal(text, node)
        if kind in (D.TIME, D.TIMETZ):
            return self.time_literal(text, node)
        if kind == D.JSON:
            self.t.need("json_parse")
            return Typed(f"__t_json_parse({string(text)})", ty.JSON)
        if kind == D.DATE:
            try:
                value = dt.date.fromisoformat(text.strip())
            except ValueError:
                raise fail(
                    "INVALID_LITERAL", f"'{text}' is not a valid date literal", node
                ) from None
            return Typed(f"DATE '{value.isoformat()}'", ty.DATE, value)
        return self.cast(self._Literal(node.this, scope), ty.from_sqlglot(node.to), node)

    def timestamp_literal(self, text: str, node: exp.Expression) -> Typed:
        match = _TIMESTAMP_TEXT.fullmatch(text)
        if match is None:
            raise fail("INVALID_LITERAL", f"'{text}' is not a valid timestamp literal", node)
        year, month, day, hour, minute, second, fraction, zone = match.groups()
        fraction = fraction or ""
        precision = len(fraction)
        try:
            value = dt.datetime(
                int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0)
            )
        except ValueError:
            raise fail(
                "INVALID_LITERAL", f"'{text}' is not a valid timestamp literal", node
            ) from None
        if precision > 6:
            raise fail("NOT_SUPPORTED", f"Timestamp precision {precision} is not supported", node)
        micros = int((fraction + "000000")[:6]) if fraction else 0
        local = value.strftime("%Y-%m-%d %H:%M:%S") + f".{micros:06d}"
        if not zone:
            return Typed(f"TIMESTAMP '{local}'", ty.timestamp(precision))
        zone_id = zone_of(zone, node)
        from orders_pipeline.local_stack.athena import zones

        moment = zones.instant(self.t, f"TIMESTAMP '{local}'", string(zone_id))
        return Typed(f"{{'i': {moment}, 'z': {string(zone_id)}}}", ty.timestamptz(precision))

    def time_literal(self, text: str, node: exp.Expression) -> Typed:
        match = re.fullmatch(r"\s*(\d{1,2}):(\d{1,2})(?::(\d{1,2})(?:\.(\d*))?)?\s*(.*?)\s*", text)
        if match is None:
            raise fail("INVALID_LITERAL", f"'{text}' is not a valid time literal", node)
        hour, minute, second, fraction, zone = match.groups()
        if zone:
            if re.fullmatch(r"[+-]\d{1,2}(:\d{2})?", zone):
                raise fail("NOT_SUPPORTED", "time with time zone is not supported", node)
            raise fail("INVALID_LITERAL", f"'{text}' is not a valid time literal", node)
        fraction = fraction or ""
        micros = int((fraction + "000000")[:6]) if fraction else 0
        value = f"{int(hour):02d}:{int(minute):02d}:{int(second or 0):02d}.{micros:06d}"
        return Typed(f"TIME '{value}'", ty.time(len(fraction)))

    def _Interval(self, node: exp.Interval, scope: Scope) -> Typed:
        unit = node.args.get("unit")
        unit_text = unit.sql(dialect="trino").upper() if unit is not None else ""
        value = node.this
        if not isinstance(value, exp.Literal) or not value.is_string:
            if isinstance(value, exp.Literal):
                text = value.name
            else:
                raise fail("SYNTAX_ERROR", "INTERVAL needs a string literal", node)
        else:
            text = value.name
        parts = re.split(r"\s+TO\s+", unit_text)
        first = parts[0].rstrip("S")
        if first not in _INTERVAL_UNITS:
            raise fail("SYNTAX_ERROR", f"Invalid interval unit: {unit_text}", node)
        negative = text.strip().startswith("-")
        body = text.strip().lstrip("+-")
        year_month = first in ("YEAR", "MONTH")
        sign = "-" if negative else ""
        if len(parts) == 1:
            if not re.fullmatch(r"\d+(\.\d+)?", body) or ("." in body and first != "SECOND"):
                raise fail("INVALID_LITERAL", f"Invalid interval value: '{text}'", node)
            sql = f"INTERVAL '{sign}{body}' {first}"
        else:
            last = parts[1].rstrip("S")
            if year_month:
                m = re.fullmatch(r"(\d+)-(\d+)", body)
                if m is None or last != "MONTH":
                    raise fail("INVALID_LITERAL", f"Invalid interval value: '{text}'", node)
                sql = f"(INTERVAL '{sign}{m.group(1)}' YEAR + INTERVAL '{sign}{m.group(2)}' MONTH)"
            else:
                sql = f"({sign or ''}INTERVAL '{body}')"
                sql = self._day_time_interval(body, first, last, sign, node)
        return Typed(sql, ty.INTERVAL_YM if year_month else ty.INTERVAL_DS)

    def _day_time_interval(self, body: str, first: str, last: str, sign: str, node) -> str:
        fields = re.split(r"[ :]", body)
        order = ["DAY", "HOUR", "MINUTE", "SECOND"]
        if first not in order or last not in order:
            raise fail("INVALID_LITERAL", f"Invalid interval value: '{body}'", node)
        units = order[order.index(first) : order.index(last) + 1]
        if len(fields) != len(units):
            raise fail("INVALID_LITERAL", f"Invalid interval value: '{body}'", node)
        terms = [f"INTERVAL '{sign}{v}' {u}" for v, u in zip(fields, units, strict=True)]
        return "(" + " + ".join(terms) + ")"

    # --- names ------------------------------------------------------------------------------

    def _Column(self, node: exp.Column, scope: Scope) -> Typed:
        parts = [p.name for p in node.parts]
        if isinstance(node.this, exp.Star):
            raise fail("SYNTAX_ERROR", "* is only allowed in a select list", node)
        return self.resolve(parts, node, scope)

    def _Identifier(self, node: exp.Identifier, scope: Scope) -> Typed:
        return self.resolve([node.name], node, scope)

    def _Var(self, node: exp.Var, scope: Scope) -> Typed:
        return self.resolve([node.name], node, scope)

    def resolve(self, parts: list[str], node: exp.Expression, scope: Scope) -> Typed:
        lowered = [p.lower() for p in parts]
        current: Scope | None = scope
        while current is not None:
            found = self._resolve_in(lowered, node, current)
            if found is not None:
                return found
            current = current.parent
        raise fail("COLUMN_NOT_FOUND", f"Column '{'.'.join(lowered)}' cannot be resolved", node)

    def _resolve_in(self, parts: list[str], node: exp.Expression, scope: Scope) -> Typed | None:
        if parts[0] in scope.lambdas:
            return self.fields(scope.lambdas[parts[0]], parts[1:], node)
        # [database.]relation.column[.field...]
        for qualifier in (1, 2):
            if len(parts) > qualifier:
                for relation in scope.relations:
                    if relation.alias == parts[qualifier - 1]:
                        column = self._column(relation, parts[qualifier], node)
                        if column is not None:
                            return self.fields(column, parts[qualifier + 1 :], node)
        # column[.field...]
        if parts[0] in scope.using:
            return self.fields(scope.using[parts[0]], parts[1:], node)
        matches = [
            found
            for relation in scope.relations
            if (found := self._column(relation, parts[0], node)) is not None
        ]
        if len(matches) > 1:
            raise fail("AMBIGUOUS_NAME", f"Column '{parts[0]}' is ambiguous", node)
        if matches:
            return self.fields(matches[0], parts[1:], node)
        return None

    @staticmethod
    def _column(relation, name: str, node: exp.Expression) -> Typed | None:
        for column, t in relation.columns:
            if column == name:
                return Typed(f"{relation.duck}.{quote(column)}", t)
        if name in relation.hidden:
            return Typed(f"{relation.duck}.{quote(name)}", relation.hidden[name])
        return None

    def fields(self, base: Typed, names: list[str], node: exp.Expression) -> Typed:
        for name in names:
            base = self.field(base, name, node)
        return base

    def field(self, base: Typed, name: str, node: exp.Expression) -> Typed:
        if base.type.name != "row":
            raise fail(
                "TYPE_MISMATCH", f"Expression {name!r} is not of type ROW: {base.type}", node
            )
        for position, (field_name, t) in enumerate(base.type.fields):
            if field_name is not None and field_name.lower() == name.lower():
                return Typed(f"({base.sql}).{quote(ty.field_name(field_name, position))}", t)
        raise fail("COLUMN_NOT_FOUND", f"Column '{name}' cannot be resolved", node)

    def _Dot(self, node: exp.Dot, scope: Scope) -> Typed:
        base = self.expr(node.this, scope)
        return self.field(base, node.expression.name, node)

    def _Paren(self, node: exp.Paren, scope: Scope) -> Typed:
        inner = self.expr(node.this, scope)
        return Typed(f"({inner.sql})", inner.type, inner.value)

    def _Placeholder(self, node: exp.Expression, scope: Scope) -> Typed:
        raise fail(
            "INVALID_PARAMETER_USAGE", "Incorrect number of parameters: expected more values", node
        )

    _Parameter = _Placeholder

    # --- coercion and CAST ------------------------------------------------------------------

    def coerce(self, value: Typed, target: T, node: exp.Expression | None) -> Typed:
        """Implicit coercion (Trino inserts it where the types differ but are compatible)."""
        if value.type == target:
            return value
        if not ty.can_coerce(value.type, target):
            raise fail("TYPE_MISMATCH", f"Cannot coerce {value.type} to {target}", node)
        if value.type.is_unknown:
            return Typed(f"CAST(NULL AS {target.duck()})", target, None)
        if value.type.is_string and target.is_string:
            return Typed(value.sql, target, value.value)
        return self.cast(value, target, node)

    def _Cast(self, node: exp.Cast, scope: Scope) -> Typed:
        if node.meta.get("typed_literal"):
            return self.typed_literal(node, scope)
        return self.cast_node(node, scope, safe=False)

    def _TryCast(self, node: exp.TryCast, scope: Scope) -> Typed:
        return self.cast_node(node, scope, safe=True)

    def cast_node(self, node: exp.Cast, scope: Scope, safe: bool) -> Typed:
        if node.args.get("format"):
            raise fail("NOT_SUPPORTED", "CAST ... FORMAT is not supported", node)
        value = self.expr(node.this, scope)
        target = ty.from_sqlglot(node.to)
        cast = self.cast(value, target, node)
        if safe:
            return Typed(f"TRY({cast.sql})", target)
        return cast

    def cast(self, value: Typed, target: T, node: exp.Expression | None) -> Typed:
        from orders_pipeline.local_stack.athena import casts

        return casts.cast(self.t, value, target, node)

    # --- operators --------------------------------------------------------------------------

    def _Neg(self, node: exp.Neg, scope: Scope) -> Typed:
        inner = self.expr(node.this, scope)
        if isinstance(node.this, exp.Literal) and not node.this.is_string:
            literal = self._Literal(exp.Literal(this="-" + node.this.name, is_string=False), scope)
            if inner.type.name != "decimal" or literal.type.name == "decimal":
                if inner.type.name == "decimal":
                    return Typed(literal.sql, inner.type, literal.value)
                if inner.type == ty.BIGINT and literal.type == ty.INTEGER:
                    return Typed(f"CAST({literal.sql} AS BIGINT)", ty.BIGINT, literal.value)
                return literal
        if not (inner.type.is_numeric or inner.type.is_interval or inner.type.is_unknown):
            raise fail("TYPE_MISMATCH", f"Cannot negate {inner.type}", node)
        if inner.type.is_integer:
            return Typed(f"(-{inner.sql})", inner.type)
        return Typed(f"(-({inner.sql}))", inner.type)

    def _Not(self, node: exp.Not, scope: Scope) -> Typed:
        inner = self.boolean(node.this, scope, "NOT")
        return Typed(f"(NOT {inner.sql})", ty.BOOLEAN)

    def boolean(self, node: exp.Expression, scope: Scope, what: str) -> Typed:
        value = self.expr(node, scope)
        if value.type.name not in ("boolean", "unknown"):
            raise fail(
                "TYPE_MISMATCH",
                f"Value of {what} must evaluate to a boolean (actual: {value.type})",
                node,
            )
        return value

    def _And(self, node: exp.And, scope: Scope) -> Typed:
        left = self.boolean(node.this, scope, "AND")
        right = self.boolean(node.expression, scope, "AND")
        return Typed(f"({left.sql} AND {right.sql})", ty.BOOLEAN)

    def _Or(self, node: exp.Or, scope: Scope) -> Typed:
        left = self.boolean(node.this, scope, "OR")
        right = self.boolean(node.expression, scope, "OR")
        return Typed(f"({left.sql} OR {right.sql})", ty.BOOLEAN)

    def arithmetic(self, node: exp.Expression, op: str, scope: Scope) -> Typed:
        from orders_pipeline.local_stack.athena import arithmetic

        left = self.expr(node.this, scope)
        right = self.expr(node.expression, scope)
        return arithmetic.binary(self.t, op, left, right, node)

    def _DPipe(self, node: exp.DPipe, scope: Scope) -> Typed:
        from orders_pipeline.local_stack.athena import functions

        left = self.expr(node.this, scope)
        right = self.expr(node.expression, scope)
        return functions.concat(self.t, [left, right], node)

    def comparison(self, node: exp.Expression, op: str, scope: Scope) -> Typed:
        left = self.expr(node.this, scope)
        right_node = node.expression
        if isinstance(right_node, exp.Anonymous) and right_node.name.upper() in (
            "ALL",
            "ANY",
            "SOME",
        ):
            # `x < ALL (VALUES ...)`: the parser took ALL for a function name.
            kind = exp.All if right_node.name.upper() == "ALL" else exp.Any
            right_node = kind(this=right_node.expressions[0])
        if isinstance(right_node, exp.Any | exp.All):
            return self.quantified(node, op, left, right_node, scope)
        right = self.expr(right_node, scope)
        return self.compare(op, left, right, node)

    def compare(self, op: str, left: Typed, right: Typed, node: exp.Expression) -> Typed:
        common = ty.common_super_type(left.type, right.type)
        if (
            common is None
            or (op in ("<", "<=", ">", ">=") and not ty.orderable(common))
            or (op in ("=", "<>") and not ty.comparable(common) and common.name != "map")
        ):
            raise fail(
                "TYPE_MISMATCH",
                f"Cannot apply operator: {left.type} {op} {right.type}",
                node,
            )
        a, b = self.coerce(left, common, node), self.coerce(right, common, node)
        if common.name == "timestamptz":
            a, b = Typed(f"({a.sql}).i", common), Typed(f"({b.sql}).i", common)
        text = f"({a.sql} {op} {b.sql})"
        if common.name in ("double", "real"):
            # IEEE: NaN is unequal to everything and unordered; DuckDB orders it last.
            if op == "=":
                text = f"({a.sql} = {b.sql} AND NOT isnan({a.sql}))"
            elif op == "<>":
                text = f"({a.sql} <> {b.sql} OR isnan({a.sql}))"
            else:
                text = f"({a.sql} {op} {b.sql} AND NOT isnan({a.sql}) AND NOT isnan({b.sql}))"
        return Typed(text, ty.BOOLEAN)

    def quantified(
        self, node: exp.Expression, op: str, left: Typed, right: exp.Expression, scope: Scope
    ) -> Typed:
        query = right.this
        if isinstance(query, exp.Subquery):
            query = query.this
        translated = self.t.query(query, scope)
        if len(translated.columns) != 1:
            raise fail(
                "SYNTAX_ERROR", "Multiple columns returned by subquery are not yet supported", node
            )
        column_type = translated.columns[0][1]
        common = ty.common_super_type(left.type, column_type)
        if common is None:
            raise fail(
                "TYPE_MISMATCH", f"Cannot apply operator: {left.type} {op} {column_type}", node
            )
        a = self.coerce(left, common, node)
        word = "ALL" if isinstance(right, exp.All) else "ANY"
        inner = self.t.fresh("q")
        column = Typed(f"{inner}.{quote(translated.columns[0][0])}", column_type)
        b = self.coerce(column, common, node)
        return Typed(
            f"({a.sql} {op} {word} (SELECT {b.sql} FROM ({translated.sql}) AS {inner}))",
            ty.BOOLEAN,
        )

    def _NullSafeEQ(self, node: exp.Expression, scope: Scope) -> Typed:
        return self._distinct(node, scope, "IS NOT DISTINCT FROM")

    def _NullSafeNEQ(self, node: exp.Expression, scope: Scope) -> Typed:
        return self._distinct(node, scope, "IS DISTINCT FROM")

    def _distinct(self, node: exp.Expression, scope: Scope, op: str) -> Typed:
        left, right = self.expr(node.this, scope), self.expr(node.expression, scope)
        common = ty.common_super_type(left.type, right.type)
        if common is None:
            raise fail(
                "TYPE_MISMATCH", f"Cannot apply operator: {left.type} {op} {right.type}", node
            )
        a, b = self.coerce(left, common, node), self.coerce(right, common, node)
        return Typed(f"({a.sql} {op} {b.sql})", ty.BOOLEAN)

    def _Is(self, node: exp.Is, scope: Scope) -> Typed:
        inner = self.expr(node.this, scope)
        target = node.expression
        if isinstance(target, exp.Null):
            return Typed(f"({inner.sql} IS NULL)", ty.BOOLEAN)
        raise fail("NOT_SUPPORTED", f"IS {target.sql()} is not supported", node)

    def _Between(self, node: exp.Between, scope: Scope) -> Typed:
        value = self.expr(node.this, scope)
        low, high = self.expr(node.args["low"], scope), self.expr(node.args["high"], scope)
        common = ty.common_of([value.type, low.type, high.type], "BETWEEN operands")
        if not ty.orderable(common):
            raise fail("TYPE_MISMATCH", f"Cannot apply BETWEEN to {common}", node)
        a, b, c = (self.coerce(x, common, node) for x in (value, low, high))
        if common.name == "timestamptz":
            a, b, c = (Typed(f"({x.sql}).i", common) for x in (a, b, c))
        if node.args.get("symmetric"):
            raise fail("NOT_SUPPORTED", "BETWEEN SYMMETRIC is not supported", node)
        return Typed(f"({a.sql} BETWEEN {b.sql} AND {c.sql})", ty.BOOLEAN)

    def _In(self, node: exp.In, scope: Scope) -> Typed:
        value = self.expr(node.this, scope)
        query = node.args.get("query")
        if query is not None:
            inner = query.this if isinstance(query, exp.Subquery) else query
            translated = self.t.query(inner, scope)
            if len(translated.columns) != 1:
                raise fail("SYNTAX_ERROR", "Multiple columns returned by subquery", node)
            column_type = translated.columns[0][1]
            common = ty.common_super_type(value.type, column_type)
            if common is None:
                raise fail(
                    "TYPE_MISMATCH", f"Cannot apply IN: {value.type} and {column_type}", node
                )
            alias = self.t.fresh("q")
            column = self.coerce(
                Typed(f"{alias}.{quote(translated.columns[0][0])}", column_type), common, node
            )
            left = self.coerce(value, common, node)
            return Typed(
                f"({left.sql} IN (SELECT {column.sql} FROM ({translated.sql}) AS {alias}))",
                ty.BOOLEAN,
            )
        if node.args.get("unnest") or node.args.get("field"):
            raise fail("NOT_SUPPORTED", "IN UNNEST is not supported", node)
        items = [self.expr(e, scope) for e in node.expressions]
        common = ty.common_of([value.type] + [i.type for i in items], "IN values")
        if not ty.comparable(common):
            raise fail("TYPE_MISMATCH", f"IN is not supported for {common}", node)
        left = self.coerce(value, common, node)
        rendered = ", ".join(self.coerce(i, common, node).sql for i in items)
        if common.name == "timestamptz":
            raise fail("NOT_SUPPORTED", "IN over timestamp with time zone is not supported", node)
        return Typed(f"({left.sql} IN ({rendered}))", ty.BOOLEAN)

    def _Like(self, node: exp.Like, scope: Scope) -> Typed:
        return self.like(node, scope, None)

    def _Escape(self, node: exp.Escape, scope: Scope) -> Typed:
        if not isinstance(node.this, exp.Like):
            raise fail("NOT_SUPPORTED", "ESCAPE outside LIKE", node)
        return self.like(node.this, scope, self.expr(node.expression, scope))

    def like(self, node: exp.Like, scope: Scope, escape: Typed | None) -> Typed:
        value, pattern = self.expr(node.this, scope), self.expr(node.expression, scope)
        for operand in (value, pattern) + ((escape,) if escape else ()):
            if not (operand.type.is_string or operand.type.is_unknown):
                raise fail("TYPE_MISMATCH", f"Cannot apply operator LIKE to {operand.type}", node)
        if escape is not None:
            if escape.is_literal and len(escape.value or "") != 1:
                raise fail(
                    "INVALID_FUNCTION_ARGUMENT", "Escape string must be a single character", node
                )
        # DuckDB's LIKE has no default escape character, like Trino's.
        word = "NOT LIKE" if node.args.get("negate") else "LIKE"
        if escape is not None:
            return Typed(f"({value.sql} {word} {pattern.sql} ESCAPE {escape.sql})", ty.BOOLEAN)
        return Typed(f"({value.sql} {word} {pattern.sql})", ty.BOOLEAN)

    # --- conditionals -----------------------------------------------------------------------

    def _Case(self, node: exp.Case, scope: Scope) -> Typed:
        operand = self.expr(node.this, scope) if node.this is not None else None
        whens = []
        results = []
        for branch in node.args.get("ifs") or []:
            condition = self.expr(branch.this, scope)
            whens.append((condition, branch.this))
            results.append(self.expr(branch.args["true"], scope))
        default = node.args.get("default")
        otherwise = self.expr(default, scope) if default is not None else None
        types = [r.type for r in results] + ([otherwise.type] if otherwise else [])
        result_type = ty.common_of(types, "CASE results")
        parts = []
        for (condition, condition_node), result in zip(whens, results, strict=True):
            if operand is not None:
                test = self.compare("=", operand, condition, condition_node).sql
            else:
                if condition.type.name not in ("boolean", "unknown"):
                    raise fail(
                        "TYPE_MISMATCH", "CASE WHEN clause must be a boolean", condition_node
                    )
                test = condition.sql
            parts.append(f"WHEN {test} THEN {self.coerce(result, result_type, node).sql}")
        tail = f" ELSE {self.coerce(otherwise, result_type, node).sql}" if otherwise else ""
        return Typed(f"(CASE {' '.join(parts)}{tail} END)", result_type)

    def _If(self, node: exp.If, scope: Scope) -> Typed:
        condition = self.boolean(node.this, scope, "IF")
        true = self.expr(node.args["true"], scope)
        false_node = node.args.get("false")
        false = (
            self.expr(false_node, scope) if false_node is not None else Typed("NULL", ty.UNKNOWN)
        )
        result = ty.common_of([true.type, false.type], "IF results")
        return Typed(
            f"(CASE WHEN {condition.sql} THEN {self.coerce(true, result, node).sql} "
            f"ELSE {self.coerce(false, result, node).sql} END)",
            result,
        )

    # --- structures -------------------------------------------------------------------------

    def _Array(self, node: exp.Array, scope: Scope) -> Typed:
        items = [self.expr(e, scope) for e in node.expressions]
        element = ty.common_of([i.type for i in items], "ARRAY elements")
        rendered = ", ".join(self.coerce(i, element, node).sql for i in items)
        if not items:
            return Typed("[]", ty.array(ty.UNKNOWN))
        return Typed(f"[{rendered}]", ty.array(element))

    def _Tuple(self, node: exp.Tuple, scope: Scope) -> Typed:
        from orders_pipeline.local_stack.athena import functions

        return functions.row_constructor(self.t, [self.expr(e, scope) for e in node.expressions])

    def _Bracket(self, node: exp.Bracket, scope: Scope) -> Typed:
        base = self.expr(node.this, scope)
        if len(node.expressions) != 1:
            raise fail("SYNTAX_ERROR", "Subscript takes one index", node)
        index_node = node.expressions[0]
        index = self.expr(index_node, scope)
        kind = base.type.name
        if kind == "array":
            index = self.coerce(index, ty.BIGINT, node)
            self.t.need("array_subscript")
            return Typed(f"__t_array_subscript({base.sql}, {index.sql})", base.type.element)
        if kind == "map":
            key = self.coerce(index, base.type.key, node)
            self.t.need("map_subscript")
            return Typed(f"__t_map_subscript({base.sql}, {key.sql})", base.type.value)
        if kind == "row":
            if not (index.is_literal and isinstance(index.value, int)):
                raise fail("INVALID_FUNCTION_ARGUMENT", "Row subscript must be a constant", node)
            position = index.value
            if not 1 <= position <= len(base.type.fields):
                raise fail("INVALID_FUNCTION_ARGUMENT", f"Invalid field index: {position}", node)
            name, t = base.type.fields[position - 1]
            return Typed(f"({base.sql}).{quote(ty.field_name(name, position - 1))}", t)
        if base.type.is_unknown:
            return Typed("NULL", ty.UNKNOWN, None)
        raise fail("TYPE_MISMATCH", f"Cannot use subscript on {base.type}", node)

    # --- subqueries -------------------------------------------------------------------------

    def _Subquery(self, node: exp.Subquery, scope: Scope) -> Typed:
        translated = self.t.query(node.this, scope)
        translated = self.t.with_modifiers(node, translated, scope)
        if len(translated.columns) != 1:
            # A multi-column scalar subquery is a row in Trino.
            raise fail(
                "NOT_SUPPORTED", "Multiple columns returned by subquery are not supported", node
            )
        return Typed(f"({translated.sql})", translated.columns[0][1])

    def _Select(self, node: exp.Select, scope: Scope) -> Typed:
        return self._Subquery(exp.Subquery(this=node), scope)

    def _Exists(self, node: exp.Exists, scope: Scope) -> Typed:
        inner = node.this.this if isinstance(node.this, exp.Subquery) else node.this
        translated = self.t.query(inner, scope)
        return Typed(f"(EXISTS ({translated.sql}))", ty.BOOLEAN)

    # --- time -------------------------------------------------------------------------------

    def _AtTimeZone(self, node: exp.AtTimeZone, scope: Scope) -> Typed:
        from orders_pipeline.local_stack.athena import functions

        value = self.expr(node.this, scope)
        zone = self.expr(node.args["zone"], scope)
        return functions.at_timezone(self.t, value, zone, node)

    def _CurrentDate(self, node: exp.Expression, scope: Scope) -> Typed:
        return Typed("CAST(timezone('UTC', current_timestamp) AS DATE)", ty.DATE)

    def _CurrentTimestamp(self, node: exp.Expression, scope: Scope) -> Typed:
        return Typed("{'i': current_timestamp, 'z': 'UTC'}", ty.timestamptz(3))

    def _Localtimestamp(self, node: exp.Expression, scope: Scope) -> Typed:
        return Typed("CAST(timezone('UTC', current_timestamp) AS TIMESTAMP)", ty.timestamp(3))

    def _CurrentTime(self, node: exp.Expression, scope: Scope) -> Typed:
        raise fail("NOT_SUPPORTED", "time with time zone is not supported", node)

    def _Localtime(self, node: exp.Expression, scope: Scope) -> Typed:
        return Typed("CAST(timezone('UTC', current_timestamp) AS TIME)", ty.time(3))

    def _CurrentUser(self, node: exp.Expression, scope: Scope) -> Typed:
        return Typed("'local'", ty.VARCHAR)

    # --- calls ------------------------------------------------------------------------------

    def _Anonymous(self, node: exp.Anonymous, scope: Scope) -> Typed:
        from orders_pipeline.local_stack.athena import functions

        return functions.call(self.t, node, scope)

    def _Window(self, node: exp.Window, scope: Scope) -> Typed:
        from orders_pipeline.local_stack.athena import windows

        return windows.window(self.t, node, scope)

    def _Filter(self, node: exp.Filter, scope: Scope) -> Typed:
        from orders_pipeline.local_stack.athena import functions

        return functions.call(self.t, node.this, scope, filter_=node.expression)

    def _Extract(self, node: exp.Extract, scope: Scope) -> Typed:
        from orders_pipeline.local_stack.athena import functions

        field = node.this.name.lower()
        value = self.expr(node.expression, scope)
        return functions.extract(self.t, field, value, node)

    def _Trim(self, node: exp.Trim, scope: Scope) -> Typed:
        from orders_pipeline.local_stack.athena import functions

        return functions.trim(self.t, node, scope)

    def _Substring(self, node: exp.Substring, scope: Scope) -> Typed:
        from orders_pipeline.local_stack.athena import functions

        args = [node.this, node.args.get("start"), node.args.get("length")]
        return functions.call_named(
            self.t, "substr", [a for a in args if a is not None], node, scope
        )

    def _StrPosition(self, node: exp.StrPosition, scope: Scope) -> Typed:
        from orders_pipeline.local_stack.athena import functions

        args = [node.this, node.args["substr"]]
        return functions.call_named(self.t, "strpos", args, node, scope)

    def _GroupConcat(self, node: exp.GroupConcat, scope: Scope) -> Typed:
        from orders_pipeline.local_stack.athena import functions

        return functions.listagg(self.t, node, scope, None)

    def _ParseJSON(self, node: exp.ParseJSON, scope: Scope) -> Typed:
        text = node.this.name if isinstance(node.this, exp.Literal) else None
        if text is None:
            raise fail("SYNTAX_ERROR", "JSON literal must be a string", node)
        self.t.need("json_parse")
        return Typed(f"__t_json_parse({string(text)})", ty.JSON)

    def lambda_(
        self, node: exp.Expression, params: list[T], scope: Scope, what: str
    ) -> tuple[str, Typed]:
        """A lambda argument: its DuckDB text (`lambda a, b: body`) and the body's Typed."""
        if not isinstance(node, exp.Lambda):
            raise fail("TYPE_MISMATCH", f"{what} expects a lambda expression", node)
        names = [e.name.lower() for e in node.expressions]
        if len(names) != len(params):
            raise fail(
                "TYPE_MISMATCH",
                f"{what}: lambda expects {len(params)} arguments, got {len(names)}",
                node,
            )
        from orders_pipeline.local_stack.athena.translate import Scope as Scope_

        inner = Scope_(relations=scope.relations, parent=scope.parent, lambdas=dict(scope.lambdas))
        inner.aggregate_ok = False
        ducks = []
        for name, t in zip(names, params, strict=True):
            duck = self.t.fresh("l")
            ducks.append(duck)
            inner.lambdas[name] = Typed(duck, t)
        body = self.expr(node.this, inner)
        return f"lambda {', '.join(ducks)}: {body.sql}", body


def decimal_value(text: str) -> Decimal | None:
    try:
        return Decimal(text)
    except InvalidOperation:
        return None
