"""What the Glue crawler and the Athena engine read and write: S3 objects and the Glue catalog.
Protocols, so the logic runs against moto's backends in the server and fakes in tests.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int


class ObjectStore(Protocol):
    def list_objects(self, bucket: str, prefix: str) -> list[StoredObject]: ...

    def read_object(self, bucket: str, key: str) -> bytes: ...

    def write_object(self, bucket: str, key: str, data: bytes) -> None: ...


class GlueCatalog(Protocol):
    """Glue Data Catalog calls with boto3's shapes (TableInput, PartitionInput, Table dicts)."""

    def database_exists(self, database: str) -> bool: ...

    def create_database(self, database: str) -> None: ...

    def list_tables(self, database: str) -> list[dict[str, Any]]: ...

    def get_table(self, database: str, name: str) -> dict[str, Any] | None: ...

    def create_table(self, database: str, table_input: dict[str, Any]) -> None: ...

    def update_table(self, database: str, table_input: dict[str, Any]) -> None: ...

    def delete_table(self, database: str, name: str) -> None: ...

    def get_partitions(self, database: str, table: str) -> list[dict[str, Any]]: ...

    def create_partitions(
        self, database: str, table: str, partition_inputs: list[dict[str, Any]]
    ) -> None: ...

    def delete_partition(self, database: str, table: str, values: list[str]) -> None: ...


def split_s3_url(url: str) -> tuple[str, str]:
    """`s3://bucket/a/b/` -> (`bucket`, `a/b/`)."""
    if not url.startswith("s3://"):
        raise ValueError(f"S3 location must start with s3://, got {url!r}")
    bucket, _, key = url[len("s3://") :].partition("/")
    if not bucket:
        raise ValueError(f"S3 location has no bucket: {url!r}")
    return bucket, key


def as_folder(url: str) -> str:
    """A location with exactly one trailing slash, so prefix listings never match a sibling."""
    return url.rstrip("/") + "/"


def is_data_object(obj: StoredObject, prefix: str) -> bool:
    """Hive/Athena skip empty objects and files whose name starts with `_` or `.` (markers)."""
    name = obj.key[len(prefix) :].rsplit("/", 1)[-1]
    return obj.size > 0 and not name.startswith(("_", ".")) and not obj.key.endswith("/")
