"""Trino's date and time functions: fields, date_add/date_diff/date_trunc units, time zones (an
instant and its zone travel together), ISO 8601, MySQL and Joda format strings, unix time."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlglot import exp

from orders_pipeline.local_stack.athena import casts, zones
from orders_pipeline.local_stack.athena import types as ty
from orders_pipeline.local_stack.athena.errors import AthenaError
from orders_pipeline.local_stack.athena.typed import Typed, string
from orders_pipeline.local_stack.athena.types import T

if TYPE_CHECKING:
    from orders_pipeline.local_stack.athena.functions import Call
    from orders_pipeline.local_stack.athena.translate import Translator

_UNITS = ("millisecond", "second", "minute", "hour", "day", "week", "month", "quarter", "year")
_DATE_UNITS = ("day", "week", "month", "quarter", "year")


def fail(kind: str, message: str, node: exp.Expression | None = None) -> AthenaError:
    from orders_pipeline.local_stack.athena.translate import fail as located

    return located(kind, message, node)


def local(t: Translator, value: Typed) -> str:
    """The local date-time of a date, timestamp or timestamp with time zone, as a TIMESTAMP."""
    if value.type.name == "timestamptz":
        return zones.local_of(t, value.sql)
    if value.type.name == "date":
        return f"CAST({value.sql} AS TIMESTAMP)"
    return value.sql


def _temporal(c: Call, index: int, *kinds: str) -> Typed:
    value = c.args[index]
    if value.type.name not in kinds:
        raise c.mismatch()
    return value


def _unit(c: Call, index: int, value: Typed) -> str:
    unit = c.args[index]
    if not unit.is_literal or not isinstance(unit.value, str):
        raise fail("NOT_SUPPORTED", f"{c.name}: the unit must be a string literal", c.node)
    name = unit.value.lower()
    allowed = _DATE_UNITS if value.type.name == "date" else _UNITS
    if value.type.name == "time":
        allowed = ("millisecond", "second", "minute", "hour")
    if name not in allowed:
        raise fail(
            "INVALID_FUNCTION_ARGUMENT",
            f"'{unit.value}' is not a valid {value.type.name} field",
            c.node,
        )
    return name


def _rezone(t: Translator, value: Typed, moved_local: str) -> str:
    """A timestamp with time zone whose local time became `moved_local` (same zone)."""
    back = zones.instant(t, moved_local, f"({value.sql}).z")
    return f"{{'i': {back}, 'z': ({value.sql}).z}}"


def _date_add(c: Call) -> Typed:
    c.arity(3)
    value = _temporal(c, 2, "date", "timestamp", "timestamptz", "time")
    unit = _unit(c, 0, value)
    amount = c.coerce(1, ty.BIGINT)
    if unit == "quarter":
        step = f"(INTERVAL 3 MONTH * {amount})"
    elif unit == "week":
        step = f"(INTERVAL 7 DAY * {amount})"
    else:
        step = f"to_{unit}s({amount})" if unit != "millisecond" else f"to_milliseconds({amount})"
    if value.type.name == "date":
        return Typed(f"CAST({value.sql} + {step} AS DATE)", ty.DATE)
    if value.type.name == "timestamptz":
        if unit in ("day", "week", "month", "quarter", "year"):
            return Typed(_rezone(c.t, value, f"({local(c.t, value)} + {step})"), value.type)
        return Typed(f"{{'i': ({value.sql}).i + {step}, 'z': ({value.sql}).z}}", value.type)
    return Typed(f"({value.sql} + {step})", value.type)


def _date_diff(c: Call) -> Typed:
    c.arity(3)
    first = _temporal(c, 1, "date", "timestamp", "timestamptz", "time")
    second = _temporal(c, 2, "date", "timestamp", "timestamptz", "time")
    if first.type.name != second.type.name:
        raise c.mismatch()
    unit = _unit(c, 0, first)
    if first.type.name == "timestamptz" and unit in ("millisecond", "second", "minute", "hour"):
        a, b = f"({first.sql}).i", f"({second.sql}).i"
    else:
        a, b = local(c.t, first), local(c.t, second)
    # date_sub counts whole units elapsed (Trino's rule); date_diff would count boundaries.
    return Typed(f"CAST(date_sub('{unit}', {a}, {b}) AS BIGINT)", ty.BIGINT)


def _date_trunc(c: Call) -> Typed:
    c.arity(2)
    value = _temporal(c, 1, "date", "timestamp", "timestamptz", "time")
    unit = _unit(c, 0, value)
    if value.type.name == "date":
        return Typed(f"CAST(date_trunc('{unit}', {value.sql}) AS DATE)", ty.DATE)
    if value.type.name == "timestamptz":
        return Typed(_rezone(c.t, value, f"date_trunc('{unit}', {local(c.t, value)})"), value.type)
    if value.type.name == "time":
        return Typed(
            f"CAST(date_trunc('{unit}', TIMESTAMP '2000-01-01' + {value.sql}) AS TIME)", value.type
        )
    return Typed(f"CAST(date_trunc('{unit}', {value.sql}) AS TIMESTAMP)", value.type)


_FIELDS = {
    "year": "year({0})", "quarter": "quarter({0})", "month": "month({0})", "week": "week({0})",
    "week_of_year": "week({0})", "day": "day({0})", "day_of_month": "day({0})",
    "day_of_week": "isodow({0})", "dow": "isodow({0})", "day_of_year": "dayofyear({0})",
    "doy": "dayofyear({0})", "year_of_week": "isoyear({0})", "yow": "isoyear({0})",
    "hour": "hour({0})", "minute": "minute({0})", "second": "second({0})",
    "millisecond": "(millisecond({0}) % 1000)",
}  # fmt: skip
_TIME_FIELDS = {"hour", "minute", "second", "millisecond"}


def field(t: Translator, name: str, value: Typed, node: exp.Expression, c: Call | None) -> Typed:
    kind = value.type.name
    if name in ("timezone_hour", "timezone_minute"):
        if kind != "timestamptz":
            raise (c.mismatch() if c else fail("TYPE_MISMATCH", f"Cannot extract {name}", node))
        minutes = (
            f"CAST((epoch({zones.local_of(t, value.sql)}) - epoch(({value.sql}).i)) / 60 AS BIGINT)"
        )
        if name == "timezone_hour":
            return Typed(f"CAST(trunc({minutes} / 60) AS BIGINT)", ty.BIGINT)
        return Typed(f"CAST(({minutes}) % 60 AS BIGINT)", ty.BIGINT)
    template = _FIELDS.get(name)
    if template is None:
        raise fail("INVALID_FUNCTION_ARGUMENT", f"Invalid EXTRACT field: {name}", node)
    if kind == ty.DAY_SECOND:
        if name not in ("day", "hour", "minute", "second", "millisecond"):
            raise (c.mismatch() if c else fail("TYPE_MISMATCH", f"Cannot extract {name}", node))
        total = f"(CAST(epoch({value.sql}) * 1000 AS BIGINT))"
        part = {
            "day": f"{total} // 86400000", "hour": f"({total} // 3600000) % 24",
            "minute": f"({total} // 60000) % 60", "second": f"({total} // 1000) % 60",
            "millisecond": f"{total} % 1000",
        }[name]  # fmt: skip
        return Typed(f"CAST({part} AS BIGINT)", ty.BIGINT)
    if kind == ty.YEAR_MONTH:
        if name not in ("year", "month"):
            raise (c.mismatch() if c else fail("TYPE_MISMATCH", f"Cannot extract {name}", node))
        months = f"(datepart('year', {value.sql}) * 12 + datepart('month', {value.sql}))"
        part = f"{months} // 12" if name == "year" else f"{months} % 12"
        return Typed(f"CAST({part} AS BIGINT)", ty.BIGINT)
    if kind == "date" and name in _TIME_FIELDS:
        raise (
            c.mismatch() if c else fail("TYPE_MISMATCH", f"Cannot extract {name} from date", node)
        )
    if kind == "time":
        if name not in _TIME_FIELDS:
            raise (c.mismatch() if c else fail("TYPE_MISMATCH", f"Cannot extract {name}", node))
        return Typed(f"CAST({template.format(value.sql)} AS BIGINT)", ty.BIGINT)
    if kind not in ("date", "timestamp", "timestamptz"):
        raise (
            c.mismatch() if c else fail("TYPE_MISMATCH", f"Cannot extract from {value.type}", node)
        )
    return Typed(f"CAST({template.format(local(t, value))} AS BIGINT)", ty.BIGINT)


def extract(t: Translator, name: str, value: Typed, node: exp.Expression) -> Typed:
    aliases = {"dow": "day_of_week", "doy": "day_of_year", "yow": "year_of_week"}
    return field(t, aliases.get(name, name), value, node, None)


def _field_function(name: str) -> Callable[[Call], Typed]:
    def handler(c: Call) -> Typed:
        c.arity(1)
        return field(c.t, name, c.args[0], c.node, c)

    return handler


def _zone_literal(c: Call, zone: Typed) -> str:
    if zone.is_literal and isinstance(zone.value, str):
        canonical = zones.canonical(zone.value)
        if canonical is None:
            raise fail(
                "INVALID_FUNCTION_ARGUMENT", f"Time zone not supported: {zone.value}", c.node
            )
        return string(canonical)
    if not (zone.type.is_string):
        raise c.mismatch()
    return zone.sql


def at_timezone(t: Translator, value: Typed, zone: Typed, node: exp.Expression) -> Typed:
    from orders_pipeline.local_stack.athena.functions import Call

    c = Call(t, "at_timezone", node, None, [], _args=[value, zone])  # type: ignore[arg-type]
    z = _zone_literal(c, zone)
    if value.type.name == "timestamptz":
        return Typed(f"{{'i': ({value.sql}).i, 'z': {z}}}", value.type)
    if value.type.name in ("timestamp", "date"):
        precision = value.type.precision if value.type.name == "timestamp" else 3
        instant = f"timezone('UTC', CAST({value.sql} AS TIMESTAMP))"
        return Typed(f"{{'i': {instant}, 'z': {z}}}", ty.timestamptz(precision))
    raise c.mismatch()


def _at_timezone(c: Call) -> Typed:
    c.arity(2)
    return at_timezone(c.t, c.args[0], c.args[1], c.node)


def _with_timezone(c: Call) -> Typed:
    c.arity(2)
    value = _temporal(c, 0, "timestamp")
    z = _zone_literal(c, c.args[1])
    return Typed(
        f"{{'i': {zones.instant(c.t, value.sql, z)}, 'z': {z}}}",
        ty.timestamptz(value.type.precision),
    )


def _from_unixtime(c: Call) -> Typed:
    c.arity(1, 2, 3)
    seconds = c.coerce(0, ty.DOUBLE)
    instant = f"make_timestamptz(CAST(round({seconds} * 1000000) AS BIGINT))"
    if len(c.raw) == 1:
        zone = "'UTC'"
    elif len(c.raw) == 2:
        zone = _zone_literal(c, c.args[1])
    else:
        hours, minutes = c.coerce(1, ty.BIGINT), c.coerce(2, ty.BIGINT)
        zone = (
            f"(CASE WHEN {hours} = 0 AND {minutes} = 0 THEN 'UTC' ELSE "
            f"(CASE WHEN {hours} < 0 OR {minutes} < 0 THEN '-' ELSE '+' END) || "
            f"lpad(CAST(abs({hours}) AS VARCHAR), 2, '0') || ':' || "
            f"lpad(CAST(abs({minutes}) AS VARCHAR), 2, '0') END)"
        )
    return Typed(f"{{'i': {instant}, 'z': {zone}}}", ty.timestamptz(3))


def _to_unixtime(c: Call) -> Typed:
    c.arity(1)
    value = _temporal(c, 0, "timestamp", "timestamptz")
    instant = f"({value.sql}).i" if value.type.name == "timestamptz" else value.sql
    return Typed(f"(epoch_us({instant}) / 1000000.0)", ty.DOUBLE)


def _from_iso8601_timestamp(c: Call) -> Typed:
    c.arity(1)
    text = c.string(0)
    zone = (
        f"(CASE WHEN regexp_matches({text}, '[zZ]$') THEN 'UTC' "
        f"WHEN regexp_matches({text}, 'T.*[+-]\\d\\d(:?\\d\\d)?$') THEN "
        f"regexp_replace(regexp_extract({text}, '([+-]\\d\\d):?(\\d\\d)?$', 0), "
        f"'^([+-]\\d\\d):?(\\d\\d)?$', '\\1:\\2') ELSE 'UTC' END)"
    )
    normalized = f"(CASE WHEN {zone} IN ('+00:00', '-00:00') THEN 'UTC' ELSE {zone} END)"
    instant = f"CAST({text} AS TIMESTAMPTZ)"
    return Typed(f"{{'i': {instant}, 'z': {normalized}}}", ty.timestamptz(3))


def _from_iso8601_date(c: Call) -> Typed:
    c.arity(1)
    c.need("from_iso8601_date")
    return Typed(f"__t_from_iso8601_date({c.string(0)})", ty.DATE)


def _to_iso8601(c: Call) -> Typed:
    c.arity(1)
    value = _temporal(c, 0, "date", "timestamp", "timestamptz")
    if value.type.name == "date":
        return Typed(f"strftime({value.sql}, '%Y-%m-%d')", ty.VARCHAR)
    text = casts.timestamp_text(local(c.t, value), value.type.precision).replace(
        "'%Y-%m-%d %H:%M:%S'", "'%Y-%m-%dT%H:%M:%S'"
    )
    if value.type.name == "timestamp":
        return Typed(text, ty.VARCHAR)
    minutes = f"CAST((epoch({local(c.t, value)}) - epoch(({value.sql}).i)) / 60 AS BIGINT)"
    offset = (
        f"(CASE WHEN {minutes} = 0 THEN 'Z' ELSE (CASE WHEN {minutes} < 0 THEN '-' ELSE '+' END) "
        f"|| lpad(CAST(abs({minutes}) // 60 AS VARCHAR), 2, '0') || ':' || "
        f"lpad(CAST(abs({minutes}) % 60 AS VARCHAR), 2, '0') END)"
    )
    return Typed(f"({text} || {offset})", ty.VARCHAR)


_MYSQL = {
    "a": "%a", "b": "%b", "c": "%-m", "d": "%d", "e": "%-d", "f": "%f", "H": "%H", "h": "%I",
    "I": "%I", "i": "%M", "j": "%j", "k": "%-H", "l": "%-I", "M": "%B", "m": "%m", "p": "%p",
    "r": "%I:%M:%S %p", "S": "%S", "s": "%S", "T": "%H:%M:%S", "v": "%V", "W": "%A", "x": "%G",
    "Y": "%Y", "y": "%y", "%": "%%",
}  # fmt: skip
_MYSQL_PARSE = {**_MYSQL, "c": "%m", "e": "%d", "k": "%H", "l": "%I"}


def mysql_format(pattern: str, parse: bool, node: exp.Expression | None) -> str:
    table = _MYSQL_PARSE if parse else _MYSQL
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "%" and i + 1 < len(pattern):
            spec = pattern[i + 1]
            if spec not in table:
                raise fail("NOT_SUPPORTED", f"date format specifier %{spec} is not supported", node)
            out.append(table[spec])
            i += 2
        else:
            out.append(ch)
            i += 1
    return "".join(out)


_JODA = {
    ("y", 4): "%Y", ("y", 2): "%y", ("y", 1): "%Y", ("Y", 4): "%Y", ("x", 4): "%G",
    ("x", 2): "%g", ("w", 2): "%V", ("w", 1): "%-V", ("e", 1): "%u", ("E", 3): "%a",
    ("E", 4): "%A", ("E", 1): "%a", ("D", 3): "%j", ("D", 1): "%-j", ("M", 1): "%-m",
    ("M", 2): "%m", ("M", 3): "%b", ("M", 4): "%B", ("d", 1): "%-d", ("d", 2): "%d",
    ("a", 1): "%p", ("h", 1): "%-I", ("h", 2): "%I", ("H", 1): "%-H", ("H", 2): "%H",
    ("m", 1): "%-M", ("m", 2): "%M", ("s", 1): "%-S", ("s", 2): "%S", ("S", 3): "%g",
    ("S", 6): "%f",
}  # fmt: skip


def joda_format(pattern: str, node: exp.Expression | None) -> str:
    out, i = [], 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "'":
            end = pattern.find("'", i + 1)
            if end < 0:
                raise fail("INVALID_FUNCTION_ARGUMENT", f"Invalid format: '{pattern}'", node)
            literal = pattern[i + 1 : end] or "'"
            out.append(literal.replace("%", "%%"))
            i = end + 1
            continue
        if ch.isalpha():
            j = i
            while j < len(pattern) and pattern[j] == ch:
                j += 1
            count = j - i
            key = (ch, min(count, 4) if ch in "yEMxY" and count >= 4 else count)
            if key not in _JODA:
                raise fail(
                    "NOT_SUPPORTED",
                    f"format_datetime pattern {ch * count!r} is not supported",
                    node,
                )
            out.append(_JODA[key])
            i = j
            continue
        out.append("%%" if ch == "%" else ch)
        i += 1
    return "".join(out)


def _literal_pattern(c: Call, index: int) -> str:
    pattern = c.args[index]
    if not (pattern.is_literal and isinstance(pattern.value, str)):
        raise fail("NOT_SUPPORTED", f"{c.name}: the format must be a string literal", c.node)
    return pattern.value


def _date_format(c: Call) -> Typed:
    c.arity(2)
    value = _temporal(c, 0, "date", "timestamp", "timestamptz")
    pattern = mysql_format(_literal_pattern(c, 1), False, c.node)
    return Typed(f"strftime({local(c.t, value)}, {string(pattern)})", ty.VARCHAR)


def _date_parse(c: Call) -> Typed:
    c.arity(2)
    text = c.string(0)
    pattern = mysql_format(_literal_pattern(c, 1), True, c.node)
    return Typed(f"CAST(strptime({text}, {string(pattern)}) AS TIMESTAMP)", ty.timestamp(3))


def _format_datetime(c: Call) -> Typed:
    c.arity(2)
    value = _temporal(c, 0, "timestamp", "timestamptz", "date")
    pattern = joda_format(_literal_pattern(c, 1), c.node)
    return Typed(f"strftime({local(c.t, value)}, {string(pattern)})", ty.VARCHAR)


def _parse_datetime(c: Call) -> Typed:
    c.arity(2)
    text = c.string(0)
    pattern = joda_format(_literal_pattern(c, 1), c.node)
    parsed = f"CAST(strptime({text}, {string(pattern)}) AS TIMESTAMP)"
    return Typed(f"{{'i': timezone('UTC', {parsed}), 'z': 'UTC'}}", ty.timestamptz(3))


def _last_day_of_month(c: Call) -> Typed:
    c.arity(1)
    value = _temporal(c, 0, "date", "timestamp", "timestamptz")
    return Typed(f"last_day({local(c.t, value)})", ty.DATE)


def _date(c: Call) -> Typed:
    c.arity(1)
    return casts.cast(c.t, c.args[0], ty.DATE, c.node)


def _parse_duration(c: Call) -> Typed:
    c.arity(1)
    c.need("parse_duration")
    return Typed(f"to_microseconds(__t_parse_duration({c.string(0)}))", ty.INTERVAL_DS)


def _to_milliseconds(c: Call) -> Typed:
    c.arity(1)
    value = c.kind(0, ty.DAY_SECOND)
    return Typed(f"CAST(round(epoch({value.sql}) * 1000) AS BIGINT)", ty.BIGINT)


def _human_readable_seconds(c: Call) -> Typed:
    c.arity(1)
    c.need("human_readable_seconds")
    return Typed(f"__t_human_readable_seconds({c.coerce(0, ty.DOUBLE)})", ty.VARCHAR)


def _current_timezone(c: Call) -> Typed:
    c.arity(0)
    return Typed("'UTC'", ty.VARCHAR)


def _now(c: Call) -> Typed:
    c.arity(0)
    return Typed("{'i': current_timestamp, 'z': 'UTC'}", ty.timestamptz(3))


def register(scalar: Callable, simple: Callable) -> None:
    table: dict[str, Callable[[Call], Typed]] = {
        "date_add": _date_add, "date_diff": _date_diff, "date_trunc": _date_trunc,
        "at_timezone": _at_timezone, "with_timezone": _with_timezone,
        "from_unixtime": _from_unixtime, "to_unixtime": _to_unixtime,
        "from_iso8601_timestamp": _from_iso8601_timestamp,
        "from_iso8601_date": _from_iso8601_date, "to_iso8601": _to_iso8601,
        "date_format": _date_format, "date_parse": _date_parse,
        "format_datetime": _format_datetime, "parse_datetime": _parse_datetime,
        "last_day_of_month": _last_day_of_month, "date": _date,
        "parse_duration": _parse_duration, "to_milliseconds": _to_milliseconds,
        "human_readable_seconds": _human_readable_seconds,
        "current_timezone": _current_timezone, "now": _now,
    }  # fmt: skip
    for name in list(_FIELDS) + ["timezone_hour", "timezone_minute"]:
        table[name] = _field_function(name)
    for name, handler in table.items():
        scalar(name)(handler)


__all__ = ["T", "at_timezone", "extract", "register"]
