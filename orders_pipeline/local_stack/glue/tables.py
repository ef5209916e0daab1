"""Glue TableInput / PartitionInput shapes for JSON-lines and Parquet data, as Glue writes them."""

from __future__ import annotations

from typing import Any

_FORMATS: dict[str, dict[str, str]] = {
    "json": {
        "InputFormat": "org.apache.hadoop.mapred.TextInputFormat",
        "OutputFormat": "org.apache.hadoop.hive.ql.io.HiveIgnoreKeyTextOutputFormat",
        "SerializationLibrary": "org.openx.data.jsonserde.JsonSerDe",
    },
    "parquet": {
        "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
        "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
        "SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
    },
}
SUPPORTED_FORMATS = tuple(_FORMATS)


def storage_descriptor(
    data_format: str, columns: list[dict[str, str]], location: str
) -> dict[str, Any]:
    if data_format not in _FORMATS:
        raise ValueError(
            f"format: unsupported value {data_format!r} (expected one of {SUPPORTED_FORMATS})"
        )
    spec = _FORMATS[data_format]
    serde_parameters = {"paths": ",".join(c["Name"] for c in columns)}
    if data_format == "parquet":
        serde_parameters = {"serialization.format": "1"}
    return {
        "Columns": columns,
        "Location": location,
        "InputFormat": spec["InputFormat"],
        "OutputFormat": spec["OutputFormat"],
        "Compressed": False,
        "NumberOfBuckets": -1,
        "SerdeInfo": {
            "SerializationLibrary": spec["SerializationLibrary"],
            "Parameters": serde_parameters,
        },
        "Parameters": {"classification": data_format},
        "StoredAsSubDirectories": False,
    }


def table_input(
    name: str,
    data_format: str,
    columns: list[dict[str, str]],
    partition_keys: list[dict[str, str]],
    location: str,
    parameters: dict[str, str] | None = None,
) -> dict[str, Any]:
    return {
        "Name": name,
        "TableType": "EXTERNAL_TABLE",
        "Parameters": {"classification": data_format, **(parameters or {})},
        "PartitionKeys": partition_keys,
        "StorageDescriptor": storage_descriptor(data_format, columns, location),
    }


def partition_input(table: dict[str, Any], values: list[str], location: str) -> dict[str, Any]:
    """A partition inherits the table's storage descriptor with its own location."""
    descriptor = dict(table["StorageDescriptor"])
    descriptor["Location"] = location
    return {"Values": values, "StorageDescriptor": descriptor}


def table_format(table: dict[str, Any]) -> str:
    """`json` or `parquet`, from the classification or, failing that, the SerDe."""
    descriptor = table.get("StorageDescriptor") or {}
    classification = (table.get("Parameters") or {}).get("classification") or (
        descriptor.get("Parameters") or {}
    ).get("classification")
    if classification and classification.lower() in _FORMATS:
        return classification.lower()
    serde = (descriptor.get("SerdeInfo") or {}).get("SerializationLibrary", "")
    for data_format, spec in _FORMATS.items():
        if serde == spec["SerializationLibrary"]:
            return data_format
    raise ValueError(
        f"table {table.get('Name')!r}: unsupported storage (classification={classification!r}, "
        f"serde={serde!r})"
    )


def table_to_input(table: dict[str, Any]) -> dict[str, Any]:
    """GetTable's answer minus the read-only fields, ready for UpdateTable."""
    read_only = {
        "DatabaseName", "CreateTime", "UpdateTime", "CreatedBy", "IsRegisteredWithLakeFormation",
        "CatalogId", "VersionId", "FederatedTable", "IsMultiDialectView", "IsMaterializedView",
    }  # fmt: skip
    return {k: v for k, v in table.items() if k not in read_only}
