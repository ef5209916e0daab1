"""Athena's view of a DuckDB result: column types (ColumnInfo), value text, result CSV, pages."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo
from decimal import Context as DecimalContext
from decimal import Decimal
from typing import Any

from sqlglot import exp

from orders_pipeline.local_stack.athena import pyfunctions
from orders_pipeline.local_stack.athena import types as ty
from orders_pipeline.local_stack.athena.types import T

MAX_PAGE_SIZE = 1000
_WIDE = DecimalContext(prec=80)
# Athena's ColumnInfo.Precision for the fixed-size types (what it reports, not what fits).
_PRECISION = {
    "boolean": 0, "tinyint": 3, "smallint": 5, "integer": 10, "bigint": 19, "real": 17,
    "double": 17, "date": 0, "timestamp": 3, "timestamp with time zone": 3, "varchar": 2147483647,
    "varbinary": 1073741824, "array": 0, "map": 0, "row": 0, "time": 3,
}  # fmt: skip
_DUCKDB_TO_ATHENA = {
    "BOOLEAN": "boolean", "TINYINT": "tinyint", "SMALLINT": "smallint", "INTEGER": "integer",
    "BIGINT": "bigint", "UTINYINT": "smallint", "USMALLINT": "integer", "UINTEGER": "bigint",
    # DuckDB widens SUM/COUNT-like results to 128 bits where Athena stays at bigint.
    "HUGEINT": "bigint", "UBIGINT": "bigint", "FLOAT": "real", "DOUBLE": "double",
    "DATE": "date", "TIMESTAMP": "timestamp", "TIMESTAMP_MS": "timestamp",
    "TIMESTAMP_NS": "timestamp", "TIMESTAMP_S": "timestamp",
    "TIMESTAMP WITH TIME ZONE": "timestamp with time zone", "VARCHAR": "varchar",
    "BLOB": "varbinary", "TIME": "time", "UUID": "varchar", "JSON": "json", "INTERVAL": "varchar",
}  # fmt: skip


def athena_type(duckdb_type: str) -> tuple[str, int, int]:
    """(Athena type name, Precision, Scale) for a DuckDB type's text."""
    text = duckdb_type.upper()
    if text.startswith("DECIMAL"):
        precision, scale = (int(x) for x in text[text.index("(") + 1 : -1].split(","))
        return "decimal", precision, scale
    if text.endswith("]"):
        return "array", 0, 0
    if text.startswith("STRUCT"):
        return "row", 0, 0
    if text.startswith("MAP"):
        return "map", 0, 0
    name = _DUCKDB_TO_ATHENA.get(text)
    if name is None:
        raise ValueError(f"result column type: unsupported DuckDB type {duckdb_type!r}")
    return name, _PRECISION[name], 0


def hive_type(duckdb_type: str) -> str:
    """The Glue column type for a DuckDB type (what CTAS registers)."""
    text = duckdb_type.upper()
    if text in ("HUGEINT", "UBIGINT", "UINTEGER"):
        return "bigint"
    if text.startswith("TIMESTAMP"):
        return "timestamp"
    rendered = exp.DataType.build(duckdb_type, dialect="duckdb").sql(dialect="hive")
    return rendered.lower().replace(" ", "")


def column_info(name: str, duckdb_type: str) -> dict[str, Any]:
    return _column_info(name, *athena_type(duckdb_type))


def _column_info(name: str, typ: str, precision: int, scale: int) -> dict[str, Any]:
    """One ResultSetMetadata.ColumnInfo entry, as Athena writes it."""
    return {
        "CatalogName": "hive",
        "SchemaName": "",
        "TableName": "",
        "Name": name,
        "Label": name,
        "Type": typ,
        "Precision": precision,
        "Scale": scale,
        "Nullable": "UNKNOWN",
        "CaseSensitive": typ in ("varchar", "char"),
    }


def _java_double(value: float) -> str:
    """Trino prints doubles the way Java's Double.toString does (1.0E7, 0.001, NaN)."""
    return pyfunctions.java_double(value)


def format_value(value: Any, t: T | None = None) -> str | None:
    """Athena's text for one value of Trino type `t` (None stays NULL)."""
    if value is None:
        return None
    if t is not None:
        return _typed_text(value, t)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, float):
        return _java_double(value)
    if isinstance(value, dt.datetime):
        text = value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d}"
        return text + (" UTC" if value.tzinfo is not None else "")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_nested(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_nested(k)}={_nested(v)}" for k, v in value.items()) + "}"
    if isinstance(value, bytes):
        return value.hex(" ")
    return str(value)


def _nested(value: Any, t: T | None = None) -> str:
    text = format_value(value, t)
    return "null" if text is None else text


def _fraction(micros: int, precision: int) -> str:
    return "." + f"{micros:06d}"[:precision] if precision else ""


def _zone_local(instant: dt.datetime, zone: str) -> dt.datetime:
    if zone[:1] in "+-":
        sign = -1 if zone[0] == "-" else 1
        offset = dt.timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])) * sign
        return instant.astimezone(dt.timezone(offset))
    return instant.astimezone(zoneinfo.ZoneInfo(zone))


def _typed_text(value: Any, t: T) -> str | None:
    n = t.name
    if value is None or n == "unknown":
        return None
    if n == "boolean":
        return "true" if value else "false"
    if t.is_integer:
        return str(int(value))
    if n == "double":
        return pyfunctions.java_double(float(value))
    if n == "real":
        return pyfunctions.java_double(float(value), real=True)
    if n == "decimal":
        exponent = Decimal(1).scaleb(-t.scale)
        return format(Decimal(value).quantize(exponent, context=_WIDE), "f")
    if n == "date":
        return value.isoformat()
    if n == "time":
        return value.strftime("%H:%M:%S") + _fraction(value.microsecond, t.precision)
    if n == "timestamp":
        return value.strftime("%Y-%m-%d %H:%M:%S") + _fraction(value.microsecond, t.precision)
    if n == "timestamptz":
        moment = _zone_local(value["i"], value["z"])
        text = moment.strftime("%Y-%m-%d %H:%M:%S") + _fraction(moment.microsecond, t.precision)
        return f"{text} {value['z']}"
    if n == ty.DAY_SECOND:
        micros = int(value)
        sign = "-" if micros < 0 else ""
        micros = abs(micros)
        days, rest = divmod(micros, 86_400_000_000)
        hours, rest = divmod(rest, 3_600_000_000)
        minutes, rest = divmod(rest, 60_000_000)
        seconds, rest = divmod(rest, 1_000_000)
        return f"{sign}{days} {hours:02d}:{minutes:02d}:{seconds:02d}.{rest // 1000:03d}"
    if n == ty.YEAR_MONTH:
        months = int(value)
        sign = "-" if months < 0 else ""
        return f"{sign}{abs(months) // 12}-{abs(months) % 12}"
    if n == "varbinary":
        return bytes(value).hex(" ")
    if n == "array":
        return "[" + ", ".join(_nested(v, t.element) for v in value) + "]"
    if n == "map":
        items = list(value.items()) if isinstance(value, dict) else list(value)
        ordered = java_hash_map_order(items, t.key)
        return (
            "{" + ", ".join(f"{_nested(k, t.key)}={_nested(v, t.value)}" for k, v in ordered) + "}"
        )
    if n == "row":
        values = list(value.values()) if isinstance(value, dict) else list(value)
        if all(f is None for f, _ in t.fields):
            return (
                "{"
                + ", ".join(_nested(v, ft) for v, (_, ft) in zip(values, t.fields, strict=False))
                + "}"
            )
        return (
            "{"
            + ", ".join(
                f"{f or ty.field_name(f, i)}={_nested(v, ft)}"
                for i, (v, (f, ft)) in enumerate(zip(values, t.fields, strict=False))
            )
            + "}"
        )
    return str(value)


def _java_hash(value: Any, t: T) -> int | None:
    """Java's hashCode of a map key as Athena's result writer holds it (None: unknown)."""
    if t.is_string:
        h = 0
        for unit in str(value).encode("utf-16-be").hex(" ", 2).split():
            h = (31 * h + int(unit, 16)) & 0xFFFFFFFF
        return h
    if t.is_integer:
        v = int(value) & 0xFFFFFFFFFFFFFFFF
        return (v ^ (v >> 32)) & 0xFFFFFFFF
    if t.name == "boolean":
        return 1231 if value else 1237
    return None


def java_hash_map_order(items: list[tuple[Any, Any]], key_type: T) -> list[tuple[Any, Any]]:
    """Entries in the iteration order of a java.util.HashMap they were put into, in order."""
    hashes = [_java_hash(k, key_type) if k is not None else 0 for k, _ in items]
    if any(h is None for h in hashes):
        return items
    capacity = 16
    while len(items) > capacity * 0.75:
        capacity *= 2
    buckets: dict[int, list[tuple[Any, Any]]] = {}
    for (key, val), h in zip(items, hashes, strict=True):
        spread = h ^ (h >> 16)
        buckets.setdefault(spread & (capacity - 1), []).append((key, val))
    return [entry for index in sorted(buckets) for entry in buckets[index]]


def column_info_of(name: str, t: T) -> dict[str, Any]:
    return _column_info(name, *t.column_info())


def render_csv(header: list[str], rows: list[list[str | None]]) -> bytes:
    """Athena's result CSV: header row, every value double-quoted, NULL as an empty field."""

    def line(values: list[str | None]) -> str:
        return ",".join("" if v is None else '"' + v.replace('"', '""') + '"' for v in values)

    return ("\n".join(line(r) for r in [header, *rows]) + "\n").encode()


def render_text(rows: list[list[str | None]]) -> bytes:
    """DDL/utility results: tab-separated lines, no header (Athena's `.txt` output)."""
    return "".join("\t".join(v or "" for v in row) + "\n" for row in rows).encode()


def render_metadata(columns: list[dict[str, Any]]) -> bytes:
    return json.dumps({"ColumnInfo": columns}, indent=1).encode()


def wire_rows(rows: list[list[str | None]]) -> list[dict[str, Any]]:
    return [{"Data": [{} if v is None else {"VarCharValue": v} for v in row]} for row in rows]


def result_page(
    all_rows: list[dict[str, Any]], max_results: int | None, next_token: str | None
) -> tuple[list[dict[str, Any]], str | None]:
    """One page of GetQueryResults; the token is the offset of the next row."""
    size = MAX_PAGE_SIZE if max_results is None else int(max_results)
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise ValueError(f"MaxResults: {size} is not between 1 and {MAX_PAGE_SIZE}")
    try:
        start = int(next_token) if next_token else 0
    except ValueError:
        raise ValueError(f"NextToken: invalid value {next_token!r}") from None
    end = start + size
    return all_rows[start:end], (str(end) if end < len(all_rows) else None)


def parse_csv(data: bytes) -> list[list[str | None]]:
    """Rows of a result CSV written by render_csv: a quoted field is text ("" is ''), an empty
    unquoted field is NULL."""
    text = data.decode()
    rows: list[list[str | None]] = []
    row: list[str | None] = []
    i, n = 0, len(text)
    while i < n:
        if text[i] == '"':
            j, chunks = i + 1, []
            while True:
                k = text.index('"', j)
                chunks.append(text[j:k])
                if k + 1 < n and text[k + 1] == '"':
                    chunks.append('"')
                    j = k + 2
                    continue
                i = k + 1
                break
            row.append("".join(chunks))
        else:
            row.append(None)
        if i >= n or text[i] == "\n":
            rows.append(row)
            row = []
        i += 1  # the comma or the newline
    return rows


def parse_text(data: bytes, width: int) -> list[list[str | None]]:
    """Rows of a DDL/utility `.txt` result (tab-separated, written by render_text)."""
    rows = []
    for line in data.decode().split("\n")[:-1]:
        cells: list[str | None] = list(line.split("\t")) if width > 1 else [line]
        rows.append(cells + [""] * (width - len(cells)))
    return rows
