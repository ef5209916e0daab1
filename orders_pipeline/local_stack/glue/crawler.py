"""The Glue crawler's work: list S3 targets, infer JSON-lines/Parquet schemas and Hive partitions,
create or update the catalog tables and their partitions."""

from __future__ import annotations

import gzip
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from orders_pipeline.local_stack.data_access import (
    GlueCatalog,
    ObjectStore,
    StoredObject,
    as_folder,
    is_data_object,
    split_s3_url,
)
from orders_pipeline.local_stack.glue.tables import partition_input, table_input, table_to_input

# Glue's classifiers look at the start of each file only; sampling keeps crawls of big
# deliveries fast while still seeing every object's keys.
SAMPLE_BYTES = 1024 * 1024
_INT32 = range(-(2**31), 2**31)
_PARTITION_FOLDER = re.compile(r"^([^=/]+)=([^/]*)$")

# An inferred type is a Hive primitive name, ("struct", {name: type}), ("array", type) or None
# (only nulls seen so far).
HiveType = Any


class CrawlError(Exception):
    """A crawl that cannot complete; the message becomes LastCrawl.ErrorMessage."""


@dataclass(frozen=True)
class CrawlerSettings:
    name: str
    database: str
    s3_targets: list[str]
    table_prefix: str = ""
    update_behavior: str = "UPDATE_IN_DATABASE"


@dataclass
class CrawlSummary:
    tables_created: list[str] = field(default_factory=list)
    tables_updated: list[str] = field(default_factory=list)
    partitions_created: int = 0


def infer_json_type(value: Any) -> HiveType:
    if value is None:
        return None
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "int" if value in _INT32 else "bigint"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        element: HiveType = None
        for item in value:
            element = merge_types(element, infer_json_type(item))
        return ("array", element)
    if isinstance(value, dict):
        return ("struct", {k.lower(): infer_json_type(v) for k, v in value.items()})
    raise TypeError(f"unexpected JSON value of type {type(value).__name__}")


def merge_types(a: HiveType, b: HiveType) -> HiveType:
    """Glue's widening: int < bigint < double; anything with string, or a shape clash, is string."""
    if a is None or a == b:
        return b
    if b is None:
        return a
    numeric = ["int", "bigint", "double"]
    if a in numeric and b in numeric:
        return numeric[max(numeric.index(a), numeric.index(b))]
    if isinstance(a, tuple) and isinstance(b, tuple) and a[0] == b[0]:
        if a[0] == "array":
            return ("array", merge_types(a[1], b[1]))
        fields = dict(a[1])
        for name, typ in b[1].items():
            fields[name] = merge_types(fields.get(name), typ)
        return ("struct", fields)
    return "string"


def render_type(typ: HiveType) -> str:
    if typ is None:
        return "string"
    if isinstance(typ, str):
        return typ
    if typ[0] == "array":
        return f"array<{render_type(typ[1])}>"
    return "struct<" + ",".join(f"{k}:{render_type(v)}" for k, v in typ[1].items()) + ">"


def infer_json_lines_schema(lines: Iterable[bytes], where: str) -> dict[str, HiveType]:
    """Column types in first-seen order; a malformed line fails the crawl naming the object."""
    columns: dict[str, HiveType] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise CrawlError(f"{where} line {number}: not valid JSON ({err.msg})") from None
        if not isinstance(record, dict):
            raise CrawlError(f"{where} line {number}: expected a JSON object, got {line[:60]!r}")
        for key, value in record.items():
            name = key.lower()
            columns[name] = merge_types(columns.get(name), infer_json_type(value))
    return columns


def _arrow_to_hive(typ: pa.DataType) -> str:
    if pa.types.is_boolean(typ):
        return "boolean"
    if pa.types.is_int8(typ) or pa.types.is_int16(typ) or pa.types.is_int32(typ):
        return "int"
    if pa.types.is_integer(typ):
        return "bigint"
    if pa.types.is_float32(typ):
        return "float"
    if pa.types.is_floating(typ):
        return "double"
    if pa.types.is_decimal(typ):
        return f"decimal({typ.precision},{typ.scale})"
    if pa.types.is_date(typ):
        return "date"
    if pa.types.is_timestamp(typ):
        return "timestamp"
    if pa.types.is_list(typ) or pa.types.is_large_list(typ):
        return f"array<{_arrow_to_hive(typ.value_type)}>"
    if pa.types.is_map(typ):
        return f"map<{_arrow_to_hive(typ.key_type)},{_arrow_to_hive(typ.item_type)}>"
    if pa.types.is_struct(typ):
        fields = ",".join(f"{f.name.lower()}:{_arrow_to_hive(f.type)}" for f in typ)
        return f"struct<{fields}>"
    if pa.types.is_binary(typ) or pa.types.is_large_binary(typ):
        return "binary"
    return "string"


def _parquet_schema(data: bytes) -> dict[str, HiveType]:
    schema = pq.read_schema(io.BytesIO(data))
    return {f.name.lower(): _arrow_to_hive(f.type) for f in schema}


def _sample_lines(data: bytes) -> list[bytes]:
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    if len(data) <= SAMPLE_BYTES:
        return data.splitlines()
    # Drop the last, probably cut, line of the sample.
    return data[:SAMPLE_BYTES].splitlines()[:-1]


def partition_path(relative_key: str) -> list[tuple[str, str]]:
    """`dt=2024-01-01/part-1.json` -> [("dt", "2024-01-01")]; folders without `=` end it."""
    pairs = []
    for folder in relative_key.split("/")[:-1]:
        match = _PARTITION_FOLDER.match(folder)
        if not match:
            break
        pairs.append((match.group(1).lower(), match.group(2)))
    return pairs


def table_name_for(target: str, prefix: str) -> str:
    """Glue names the table after the target's last folder, lower case, `-` as `_`."""
    _, key = split_s3_url(target)
    last = key.rstrip("/").rsplit("/", 1)[-1] or split_s3_url(target)[0]
    return (prefix + last).lower().replace("-", "_")


@dataclass
class _TargetScan:
    table: str
    location: str
    data_format: str
    columns: dict[str, HiveType]
    partition_keys: list[str]
    partitions: dict[tuple[str, ...], str]


def _scan_target(target: str, settings: CrawlerSettings, store: ObjectStore) -> _TargetScan | None:
    location = as_folder(target)
    bucket, prefix = split_s3_url(location)
    objects: list[StoredObject] = [
        obj for obj in store.list_objects(bucket, prefix) if is_data_object(obj, prefix)
    ]
    if not objects:
        return None
    columns: dict[str, HiveType] = {}
    formats: set[str] = set()
    partition_keys: list[str] | None = None
    partitions: dict[tuple[str, ...], str] = {}
    for obj in objects:
        relative = obj.key[len(prefix) :]
        pairs = partition_path(relative)
        keys = [k for k, _ in pairs]
        if partition_keys is None:
            partition_keys = keys
        elif keys != partition_keys:
            raise CrawlError(
                f"s3://{bucket}/{obj.key}: partition folders {keys} differ from {partition_keys} "
                f"seen elsewhere under {location}"
            )
        if pairs:
            folder = "/".join(f"{k}={v}" for k, v in pairs)
            partitions[tuple(v for _, v in pairs)] = f"{location}{folder}/"
        data = store.read_object(bucket, obj.key)
        where = f"s3://{bucket}/{obj.key}"
        if data[:4] == b"PAR1":
            formats.add("parquet")
            found = _parquet_schema(data)
        else:
            formats.add("json")
            found = infer_json_lines_schema(_sample_lines(data), where)
        for name, typ in found.items():
            columns[name] = merge_types(columns.get(name), typ)
    if len(formats) > 1:
        raise CrawlError(f"{location}: mixes JSON lines and Parquet objects")
    for key in partition_keys or []:
        columns.pop(key, None)
    return _TargetScan(
        table=table_name_for(target, settings.table_prefix),
        location=location,
        data_format=formats.pop(),
        columns=columns,
        partition_keys=partition_keys or [],
        partitions=partitions,
    )


def _merged_columns(
    existing: list[dict[str, str]], found: dict[str, HiveType], update_types: bool
) -> list[dict[str, str]]:
    """Catalog columns keep their place (and type unless updating); new ones are appended."""
    merged = []
    for column in existing:
        name = column["Name"]
        typ = column["Type"]
        if update_types and name in found:
            typ = render_type(found[name])
        merged.append({**column, "Type": typ})
    known = {c["Name"] for c in existing}
    merged += [{"Name": n, "Type": render_type(t)} for n, t in found.items() if n not in known]
    return merged


def crawl(settings: CrawlerSettings, store: ObjectStore, catalog: GlueCatalog) -> CrawlSummary:
    if not catalog.database_exists(settings.database):
        raise CrawlError(f"Database {settings.database} not found.")
    summary = CrawlSummary()
    for target in settings.s3_targets:
        scan = _scan_target(target, settings, store)
        if scan is None:
            continue
        found_columns = [{"Name": n, "Type": render_type(t)} for n, t in scan.columns.items()]
        wanted = table_input(
            name=scan.table,
            data_format=scan.data_format,
            columns=found_columns,
            partition_keys=[{"Name": k, "Type": "string"} for k in scan.partition_keys],
            location=scan.location,
            parameters={"UPDATED_BY_CRAWLER": settings.name, "typeOfData": "file"},
        )
        current = catalog.get_table(settings.database, scan.table)
        if current is None:
            catalog.create_table(settings.database, wanted)
            summary.tables_created.append(scan.table)
            table = wanted
        else:
            table = table_to_input(current)
            update_types = settings.update_behavior == "UPDATE_IN_DATABASE"
            columns = _merged_columns(
                table["StorageDescriptor"].get("Columns", []), scan.columns, update_types
            )
            if columns != table["StorageDescriptor"].get("Columns", []):
                table["StorageDescriptor"] = {**table["StorageDescriptor"], "Columns": columns}
                catalog.update_table(settings.database, table)
                summary.tables_updated.append(scan.table)
        known = {tuple(p["Values"]) for p in catalog.get_partitions(settings.database, scan.table)}
        new = [
            partition_input(table, list(values), location)
            for values, location in sorted(scan.partitions.items())
            if values not in known
        ]
        if new:
            catalog.create_partitions(settings.database, scan.table, new)
            summary.partitions_created += len(new)
    return summary
