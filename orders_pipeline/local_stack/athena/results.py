"""Athena's view of a DuckDB result: column types (ColumnInfo), value text, result CSV, pages."""

from __future__ import annotations

import datetime as dt
import json
import math
from decimal import Decimal
from typing import Any

from sqlglot import exp

MAX_PAGE_SIZE = 1000
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
    typ, precision, scale = athena_type(duckdb_type)
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
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if value == 0 or 1e-3 <= abs(value) < 1e7:
        return repr(value)
    sign, digits, exponent = Decimal(repr(value)).normalize().as_tuple()
    fraction = "".join(map(str, digits[1:])) or "0"
    return f"{'-' if sign else ''}{digits[0]}.{fraction}E{len(digits) - 1 + exponent}"


def format_value(value: Any) -> str | None:
    """Athena's text for one value (None stays NULL)."""
    if value is None:
        return None
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


def _nested(value: Any) -> str:
    text = format_value(value)
    return "null" if text is None else text


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
