"""CAST with Trino's semantics: rounding to integers, double and timestamp text, JSON in and out,
timestamps with their zone, nested types element by element; casts Trino refuses fail."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlglot import exp

from orders_pipeline.local_stack.athena import types as ty
from orders_pipeline.local_stack.athena import zones
from orders_pipeline.local_stack.athena.errors import AthenaError
from orders_pipeline.local_stack.athena.typed import Typed, quote, string
from orders_pipeline.local_stack.athena.types import T

if TYPE_CHECKING:
    from orders_pipeline.local_stack.athena.translate import Translator

_SCALARS = {
    "boolean", "tinyint", "smallint", "integer", "bigint", "real", "double", "decimal",
    "varchar", "char", "date", "timestamp", "time", "varbinary",
}  # fmt: skip


def _refuse(source: T, target: T, node: exp.Expression | None) -> AthenaError:
    from orders_pipeline.local_stack.athena.translate import fail

    return fail("TYPE_MISMATCH", f"Cannot cast {source} to {target}", node)


def timestamp_text(sql: str, precision: int) -> str:
    """Trino's text of a timestamp(p): `yyyy-mm-dd hh:mm:ss[.f...]`."""
    base = f"strftime({sql}, '%Y-%m-%d %H:%M:%S')"
    if precision == 0:
        return base
    return f"({base} || '.' || substr(strftime({sql}, '%f'), 1, {precision}))"


def round_timestamp(sql: str, precision: int) -> str:
    """A DuckDB timestamp (microseconds) rounded half up to `precision` fractional digits."""
    if precision >= 6:
        return sql
    unit = 10 ** (6 - precision)
    return (
        f"make_timestamp(CAST(floor((epoch_us({sql}) + {unit // 2}) / {unit}) AS BIGINT) * {unit})"
    )


def cast(t: Translator, value: Typed, target: T, node: exp.Expression | None) -> Typed:
    source = value.type
    s, n = source.name, target.name
    sql = value.sql
    if source == target:
        return value
    if source.is_unknown:
        return Typed(f"CAST(NULL AS {target.duck()})", target, None)
    if n == "json":
        return _to_json(t, value, node)
    if s == "json":
        return _from_json(t, value, target, node)
    if n in ("varchar", "char"):
        if s in ("double", "real"):
            t.need("double_text")
            text = f"__t_double_text(CAST({sql} AS DOUBLE), {str(s == 'real').upper()})"
        elif s == "timestamp":
            text = timestamp_text(sql, source.precision)
        elif s == "timestamptz":
            local = zones.local_of(t, sql)
            text = f"({timestamp_text(local, source.precision)} || ' ' || ({sql}).z)"
        elif s == "time":
            text = f"strftime(CAST('2000-01-01' AS DATE) + {sql}, '%H:%M:%S.%g')"
        elif s in ("varchar", "char", "boolean", "date", "decimal", "uuid") or source.is_integer:
            text = f"CAST({sql} AS VARCHAR)"
        elif s == "varbinary":
            raise _refuse(source, target, node)
        else:
            raise _refuse(source, target, node)
        if target.params and n == "varchar":
            text = f"substr({text}, 1, {target.params[0]})"
        return Typed(text, target)
    if target.is_integer:
        if s in ("double", "real", "decimal"):
            # Trino rounds half away from zero; DuckDB's CAST of a double rounds half to even.
            return Typed(f"CAST(round({sql}) AS {target.duck()})", target)
        if source.is_integer or s in ("boolean",):
            return Typed(f"CAST({sql} AS {target.duck()})", target)
        if source.is_string:
            return Typed(f"CAST(trim({sql}) AS {target.duck()})", target)
        raise _refuse(source, target, node)
    if n in ("decimal", "double", "real"):
        if source.is_numeric or s == "boolean":
            return Typed(f"CAST({sql} AS {target.duck()})", target)
        if source.is_string:
            return Typed(f"CAST(trim({sql}) AS {target.duck()})", target)
        raise _refuse(source, target, node)
    if n == "boolean":
        if source.is_numeric or source.is_string:
            return Typed(f"CAST({sql} AS BOOLEAN)", target)
        raise _refuse(source, target, node)
    if n == "date":
        if s == "timestamptz":
            return Typed(f"CAST({zones.local_of(t, sql)} AS DATE)", target)
        if s in ("timestamp", "date") or source.is_string:
            if source.is_string:
                return Typed(f"CAST(trim({sql}) AS DATE)", target)
            return Typed(f"CAST({sql} AS DATE)", target)
        raise _refuse(source, target, node)
    if n == "timestamp":
        if s == "timestamptz":
            local = zones.local_of(t, sql)
            return Typed(round_timestamp(local, target.precision), target)
        if s == "timestamp":
            return Typed(round_timestamp(sql, target.precision), target)
        if s == "date":
            return Typed(f"CAST({sql} AS TIMESTAMP)", target)
        if source.is_string:
            parsed = f"CAST(trim({sql}) AS TIMESTAMP)"
            return Typed(round_timestamp(parsed, target.precision), target)
        raise _refuse(source, target, node)
    if n == "timestamptz":
        if s == "timestamptz":
            rounded = round_timestamp(f"timezone('UTC', ({sql}).i)", target.precision)
            return Typed(f"{{'i': timezone('UTC', {rounded}), 'z': ({sql}).z}}", target)
        if s in ("timestamp", "date"):
            local = round_timestamp(f"CAST({sql} AS TIMESTAMP)", target.precision)
            return Typed(f"{{'i': timezone('UTC', {local}), 'z': 'UTC'}}", target)
        if source.is_string:
            t.need("timestamptz_text")
            return Typed(f"__t_timestamptz_text({sql})", target)
        raise _refuse(source, target, node)
    if n == "time":
        if s in ("timestamp", "time") or source.is_string:
            return Typed(f"CAST({sql} AS TIME)", target)
        if s == "timestamptz":
            return Typed(f"CAST({zones.local_of(t, sql)} AS TIME)", target)
        raise _refuse(source, target, node)
    if n == "varbinary":
        if source.is_string:
            return Typed(f"encode({sql})", target)
        raise _refuse(source, target, node)
    if n == "array" and s == "array":
        if _native(source.element, target.element):
            return Typed(f"CAST({sql} AS {target.duck()})", target)
        name = t.fresh("l")
        body = cast(t, Typed(name, source.element), target.element, node).sql
        return Typed(f"list_transform({sql}, lambda {name}: {body})", target)
    if n == "map" and s == "map":
        if _native(source.key, target.key) and _native(source.value, target.value):
            return Typed(f"CAST({sql} AS {target.duck()})", target)
        name = t.fresh("l")
        key = cast(t, Typed(f"{name}.key", source.key), target.key, node).sql
        val = cast(t, Typed(f"{name}.value", source.value), target.value, node).sql
        return Typed(
            f"map_from_entries(list_transform(map_entries({sql}), lambda {name}: "
            f"{{'key': {key}, 'value': {val}}}))",
            target,
        )
    if n == "row" and s == "row":
        if len(source.fields) != len(target.fields):
            raise _refuse(source, target, node)
        parts = []
        for position, ((sf, st), (tf, tt)) in enumerate(
            zip(source.fields, target.fields, strict=True)
        ):
            item = Typed(f"({sql}).{quote(ty.field_name(sf, position))}", st)
            parts.append(f"{quote(ty.field_name(tf, position))} := {cast(t, item, tt, node).sql}")
        return Typed(f"struct_pack({', '.join(parts)})", target)
    raise _refuse(source, target, node)


def _native(source: T, target: T) -> bool:
    """DuckDB's own CAST gives Trino's answer for these element types."""
    simple = {"boolean", "tinyint", "smallint", "integer", "bigint", "decimal", "varchar", "date"}
    return (
        source.name in simple
        and target.name in simple
        and not (target.is_integer and source.name == "decimal")
        and not (target.is_string and source.name not in ("varchar", "char"))
    ) or source == target


def _to_json(t: Translator, value: Typed, node: exp.Expression | None) -> Typed:
    source = value.type
    if source.name in ("varchar", "char"):
        return Typed(f"to_json(CAST({value.sql} AS VARCHAR))", ty.JSON)
    if source.name in ("boolean", "decimal", "double", "real") or source.is_integer:
        if source.name in ("double", "real"):
            t.need("double_json")
            return Typed(f"__t_double_json(CAST({value.sql} AS DOUBLE))", ty.JSON)
        return Typed(f"to_json({value.sql})", ty.JSON)
    if source.name in ("date", "timestamp", "timestamptz"):
        text = cast(t, value, ty.VARCHAR, node)
        return Typed(f"to_json({text.sql})", ty.JSON)
    if source.name in ("array", "map", "row"):
        if not _json_ready(source):
            raise _refuse(source, ty.JSON, node)
        if source.name == "row" and any(f is None for f, _ in source.fields):
            items = ", ".join(
                _to_json(t, Typed(f"({value.sql}).{quote(ty.field_name(f, i))}", ft), node).sql
                for i, (f, ft) in enumerate(source.fields)
            )
            return Typed(f"CAST(('[' || concat_ws(',', {items}) || ']') AS JSON)", ty.JSON)
        if source.name == "map" and not source.key.is_string:
            raise (
                _refuse(source, ty.JSON, node)
                if source.key.name not in ("tinyint", "smallint", "integer", "bigint")
                else AthenaError("NOT_SUPPORTED", "CAST of a map with integer keys to JSON")
            )
        t.need("json_canonical")
        return Typed(f"__t_json_canonical(CAST(to_json({value.sql}) AS VARCHAR))", ty.JSON)
    raise _refuse(source, ty.JSON, node)


def _json_ready(t: T) -> bool:
    """Nested values DuckDB's to_json writes as Trino does (no doubles, zones or anonymous rows
    inside)."""
    if t.name in ("array",):
        return _json_ready(t.element)
    if t.name == "map":
        return t.key.is_string and _json_ready(t.value)
    if t.name == "row":
        return all(f is not None and _json_ready(ft) for f, ft in t.fields)
    return t.name in ("boolean", "varchar", "char", "json", "decimal", "date") or t.is_integer


def _from_json(t: Translator, value: Typed, target: T, node: exp.Expression | None) -> Typed:
    """JSON -> SQL value: a Python helper checks the JSON against the type (Trino refuses a JSON
    array as a varchar) and hands DuckDB text it casts."""
    if not _json_target(target):
        raise _refuse(ty.JSON, target, node)
    t.need("json_cast")
    text = f"__t_json_cast(CAST({value.sql} AS VARCHAR), {string(str(target))})"
    if target.is_string:
        return Typed(text, target)
    if target.name in ("array", "map", "row"):
        return Typed(f"CAST(CAST({text} AS JSON) AS {target.duck()})", target)
    return Typed(f"CAST({text} AS {target.duck()})", target)


def _json_target(t: T) -> bool:
    if t.name == "array":
        return _json_target(t.element)
    if t.name == "map":
        return (t.key.is_string or t.key.is_integer) and _json_target(t.value)
    if t.name == "row":
        return all(_json_target(ft) for _, ft in t.fields)
    return t.name in ("boolean", "varchar", "json", "double", "real", "decimal") or t.is_integer
