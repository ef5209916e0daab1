"""The Glue Data Catalog as the in-process engines see it: moto's Glue backend."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from moto.glue.exceptions import EntityNotFoundException, PartitionNotFoundException
from moto.glue.models import GlueBackend

from orders_pipeline.local_stack.glue import metering as glue_metering
from orders_pipeline.local_stack.patching import calls, requires
from orders_pipeline.local_stack.persistence import store

requires(
    GlueBackend,
    "get_database", "get_databases", "create_database", "get_table", "get_tables",
    "create_table", "update_table", "delete_table", "batch_create_partition", "delete_partition",
    declared_in=__name__,
)  # fmt: skip

calls(GlueBackend, "get_tables", "self", "database_name", "expression", declared_in=__name__)
calls(GlueBackend, "get_table", "self", "database_name", "table_name", declared_in=__name__)
calls(
    GlueBackend,
    "create_table",
    "self",
    "database_name",
    "table_name",
    "table_input",
    declared_in=__name__,
)
calls(
    GlueBackend,
    "update_table",
    "self",
    "database_name",
    "table_name",
    "table_input",
    declared_in=__name__,
)
calls(GlueBackend, "delete_table", "self", "database_name", "table_name", declared_in=__name__)
calls(
    GlueBackend,
    "batch_create_partition",
    "self",
    "database_name",
    "table_name",
    declared_in=__name__,
)
calls(
    GlueBackend,
    "delete_partition",
    "self",
    "database_name",
    "table_name",
    "part_to_delete",
    declared_in=__name__,
)
calls(
    GlueBackend,
    "create_database",
    "self",
    "database_name",
    "database_input",
    "tags",
    declared_in=__name__,
)


@contextmanager
def _changing() -> Iterator[None]:
    """A catalog change made by an engine's thread: held out of snapshots, then kept."""
    with store.current().lock.shared():
        yield
    store.current().mark_dirty()


class MotoGlueCatalog:
    """A `GlueCatalog` over one region's moto Glue backend."""

    def __init__(self, backend: GlueBackend) -> None:
        self._backend = backend

    def database_exists(self, database: str) -> bool:
        glue_metering.catalog_requests()
        return database in self._backend.databases

    def create_database(self, database: str) -> None:
        glue_metering.catalog_requests()
        with _changing():
            self._backend.create_database(database, {"Name": database})

    def list_tables(self, database: str) -> list[dict[str, Any]]:
        glue_metering.catalog_requests()
        return [t.as_dict() for t in self._backend.get_tables(database, None)]

    def get_table(self, database: str, name: str) -> dict[str, Any] | None:
        glue_metering.catalog_requests()
        try:
            return self._backend.get_table(database, name).as_dict()
        except EntityNotFoundException:  # no such table, or no such database
            return None

    def create_table(self, database: str, table_input: dict[str, Any]) -> None:
        glue_metering.catalog_requests()
        with _changing():
            self._backend.create_table(database, table_input["Name"], table_input)

    def update_table(self, database: str, table_input: dict[str, Any]) -> None:
        glue_metering.catalog_requests()
        with _changing():
            self._backend.update_table(database, table_input["Name"], table_input)

    def delete_table(self, database: str, name: str) -> None:
        glue_metering.catalog_requests()
        with _changing():
            self._backend.delete_table(database, name)

    def get_partitions(self, database: str, table: str) -> list[dict[str, Any]]:
        found = [p.as_dict() for p in self._backend.get_table(database, table).partitions.values()]
        glue_metering.catalog_requests(max(1, -(-len(found) // 1000)))  # a page per 1,000
        return found

    def create_partitions(
        self, database: str, table: str, partition_inputs: list[dict[str, Any]]
    ) -> None:
        glue_metering.catalog_requests(max(1, -(-len(partition_inputs) // 100)))  # 100 a batch
        with _changing():
            errors = self._backend.batch_create_partition(database, table, partition_inputs)
        if errors:
            raise RuntimeError(f"creating partitions of {database}.{table} failed: {errors}")

    def delete_partition(self, database: str, table: str, values: list[str]) -> None:
        glue_metering.catalog_requests()
        try:
            with _changing():
                self._backend.delete_partition(database, table, values)
        except PartitionNotFoundException:
            raise KeyError(f"partition {values} of {database}.{table} does not exist") from None
