"""What DESCRIBE and SHOW CREATE TABLE print for a Glue table (Hive's layout, as Athena shows it).
Pure: the table is the Glue API's dict."""

from __future__ import annotations

from typing import Any

_WIDTH = 20


def _cell(text: str) -> str:
    return text.ljust(_WIDTH)


def describe_rows(table: dict[str, Any]) -> list[list[str]]:
    """col_name / data_type / comment rows; partition keys listed again under their heading."""
    columns = table["StorageDescriptor"].get("Columns", [])
    keys = table.get("PartitionKeys", [])
    rows = [
        [_cell(c["Name"]), _cell(c["Type"]), _cell(c.get("Comment", ""))] for c in columns + keys
    ]
    if keys:
        rows.append(["", "", ""])
        rows.append([_cell("# Partition Information"), _cell(""), _cell("")])
        rows.append([_cell("# col_name"), _cell("data_type"), _cell("comment")])
        rows.append(["", "", ""])
        rows += [[_cell(k["Name"]), _cell(k["Type"]), _cell(k.get("Comment", ""))] for k in keys]
    return rows


def show_create_table(database: str, table: dict[str, Any]) -> list[str]:
    """The lines of the table's Hive DDL."""
    descriptor = table["StorageDescriptor"]
    columns = descriptor.get("Columns", [])
    lines = [f"CREATE EXTERNAL TABLE `{database}`.`{table['Name']}`("]
    lines += [
        f"  `{c['Name']}` {c['Type']}{',' if i < len(columns) - 1 else ')'}"
        for i, c in enumerate(columns)
    ] or [")"]
    keys = table.get("PartitionKeys", [])
    if keys:
        lines.append("PARTITIONED BY ( ")
        lines += [
            f"  `{k['Name']}` {k['Type']}{',' if i < len(keys) - 1 else ')'}"
            for i, k in enumerate(keys)
        ]
    buckets = descriptor.get("BucketColumns") or []
    if buckets:
        names = ", ".join(f"`{b}`" for b in buckets)
        lines.append(
            f"CLUSTERED BY ( \n  {names}) \nINTO {descriptor.get('NumberOfBuckets')} BUCKETS"
        )
    serde = (descriptor.get("SerdeInfo") or {}).get("SerializationLibrary")
    if serde:
        lines += ["ROW FORMAT SERDE ", f"  '{serde}' "]
    lines += [
        "STORED AS INPUTFORMAT ",
        f"  '{descriptor.get('InputFormat', '')}' ",
        "OUTPUTFORMAT ",
        f"  '{descriptor.get('OutputFormat', '')}'",
        "LOCATION",
        f"  '{descriptor.get('Location', '')}'",
    ]
    parameters = table.get("Parameters") or {}
    if parameters:
        lines.append("TBLPROPERTIES (")
        items = sorted(parameters.items())
        lines += [
            f"  '{k}'='{v}'{',' if i < len(items) - 1 else ')'}" for i, (k, v) in enumerate(items)
        ]
    return lines


def show_create_view(database: str, name: str, original_sql: str) -> list[str]:
    return [f'CREATE VIEW "{database}"."{name}" AS', *original_sql.strip().splitlines()]


def partition_name(keys: list[str], values: list[str]) -> str:
    return "/".join(f"{k}={v}" for k, v in zip(keys, values, strict=True))
