"""Athena statements executed on DuckDB over S3 objects described by the Glue catalog: SELECT,
CTAS, INSERT INTO, views, DROP, partition DDL; results written as Athena does."""

from __future__ import annotations

import fnmatch
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import duckdb

from orders_pipeline.local_stack.athena import sql, statements, utility
from orders_pipeline.local_stack.athena import types as ty
from orders_pipeline.local_stack.athena.errors import AthenaError, from_duckdb
from orders_pipeline.local_stack.athena.results import (
    column_info,
    column_info_of,
    format_value,
    render_csv,
    render_metadata,
    render_text,
)
from orders_pipeline.local_stack.athena.session import (
    QueryFailed,
    QueryRequest,
    QuerySession,
    encode_view,
    sandbox,
)
from orders_pipeline.local_stack.athena.translate import Translated
from orders_pipeline.local_stack.athena.typed import Typed
from orders_pipeline.local_stack.data_access import (
    GlueCatalog,
    ObjectStore,
    as_folder,
    is_data_object,
    split_s3_url,
)
from orders_pipeline.local_stack.glue.crawler import partition_path
from orders_pipeline.local_stack.glue.tables import (
    partition_input,
    storage_descriptor,
    table_format,
    table_input,
)

__all__ = ["AthenaEngine", "QueryFailed", "QueryOutcome", "QueryRequest"]


@dataclass
class QueryOutcome:
    statement_type: str
    columns: list[dict[str, Any]] = field(default_factory=list)
    rows: list[list[str | None]] = field(default_factory=list)
    header: bool = False
    data_scanned_bytes: int = 0
    update_count: int | None = None
    output_location: str = ""
    manifest_location: str | None = None  # CTAS / INSERT / UNLOAD: the files written, listed
    written: list[str] | None = None


def fetchable(translated: Translated) -> str:
    """The query with interval columns as numbers (microseconds, months) for rendering."""
    if not any(t.is_interval for _, t in translated.columns):
        return translated.sql
    parts = []
    for position, (_, t) in enumerate(translated.columns, 1):
        column = f"#{position}"  # by position: result names may repeat
        if t.name == ty.DAY_SECOND:
            parts.append(f"CAST(round(epoch({column}) * 1000000) AS BIGINT)")
        elif t.name == ty.YEAR_MONTH:
            parts.append(f"datepart('year', {column}) * 12 + datepart('month', {column})")
        else:
            parts.append(column)
    return f"SELECT {', '.join(parts)} FROM ({translated.sql})"


def glue_type(t: ty.T, view: bool = False) -> str:
    """The Glue type of a result column; CTAS refuses what Hive cannot store."""
    try:
        if t.is_unknown or t.name in ("timestamptz", "json", "time") or t.is_interval:
            raise AthenaError("NOT_SUPPORTED", f"Unsupported Hive type: {t}")
        return t.glue()
    except AthenaError:
        if view:
            return str(t)
        raise


def statement_type(statement: sql.Statement) -> str:
    if isinstance(statement, sql.Query | sql.InsertInto | statements.Unload | statements.Explain):
        return "DML"
    if isinstance(
        statement,
        sql.ShowTables | statements.ShowCreateTable | statements.ShowPartitions
        | statements.ShowColumns | statements.ShowDatabases,
    ):  # fmt: skip
        return "UTILITY"
    return "DDL"


# Athena writes at most this many partitions per CTAS or INSERT INTO (the Athena user guide,
# "Use CTAS and INSERT INTO to work around the 100 partition limit").
MAX_OPEN_WRITERS = 100


def _check_open_writers(run: QuerySession, relation: str, keys: list[str]) -> None:
    if not keys:
        return
    columns = ", ".join(sql.encode_identifier(k) for k in keys)
    (partitions,) = run.con.execute(
        f"SELECT count(*) FROM (SELECT DISTINCT {columns} FROM {relation})"
    ).fetchone()
    if partitions > MAX_OPEN_WRITERS:
        raise QueryFailed(
            "HIVE_TOO_MANY_OPEN_PARTITIONS: Exceeded limit of 100 open writers for "
            "partitions/buckets"
        )


class PreparedStatements(Protocol):
    """A workgroup's prepared statements (PREPARE / EXECUTE / DEALLOCATE PREPARE)."""

    def get(self, workgroup: str, name: str) -> str | None: ...

    def put(self, workgroup: str, name: str, statement: str) -> None: ...

    def delete(self, workgroup: str, name: str) -> bool: ...


class InMemoryPrepared:
    def __init__(self) -> None:
        self.statements: dict[tuple[str, str], str] = {}

    def get(self, workgroup: str, name: str) -> str | None:
        return self.statements.get((workgroup, name))

    def put(self, workgroup: str, name: str, statement: str) -> None:
        self.statements[(workgroup, name)] = statement

    def delete(self, workgroup: str, name: str) -> bool:
        return self.statements.pop((workgroup, name), None) is not None


class AthenaEngine:
    """Runs Athena statements against the catalog and object store it is given."""

    def __init__(
        self,
        store: ObjectStore,
        catalog: GlueCatalog,
        memory_limit: str = "1GB",
        modified: Callable[[str, str], Any] | None = None,
        prepared: PreparedStatements | None = None,
        databases: Callable[[], list[str]] | None = None,
    ):
        self.store = store
        self.catalog = catalog
        self.memory_limit = memory_limit
        self.modified = modified  # an object's last-modified time, for "$file_modified_time"
        self.prepared = prepared or InMemoryPrepared()
        self.databases = databases or (lambda: [])

    def execute(
        self, request: QueryRequest, on_session: Callable[[QuerySession], None] | None = None
    ) -> QueryOutcome:
        """Run the statement and write its results under the output location; `on_session`
        hears of the session (which StopQueryExecution interrupts)."""
        try:
            text = request.sql
            if request.parameters:
                text = statements.bind_parameters(text, list(request.parameters))
            statement = sql.parse_statement(text)
            if isinstance(statement, statements.Execute):
                statement = self._prepared_statement(request, statement)
        except (sql.AthenaSqlError, AthenaError) as err:
            raise QueryFailed(str(err)) from None
        # The statement's folder is inside the scratch root its DuckDB database may touch.
        root = sandbox(self.memory_limit).root
        with tempfile.TemporaryDirectory(prefix="athena-", dir=root) as workdir:
            run = QuerySession(self.store, self.catalog, request, Path(workdir), self.memory_limit)
            run.modified = self.modified
            if on_session is not None:
                on_session(run)
            try:
                outcome = self._dispatch(run, statement)
            except duckdb.Error as err:
                raise QueryFailed(str(from_duckdb(err))) from None
            except AthenaError as err:
                raise QueryFailed(str(err)) from None
            except sql.AthenaSqlError as err:
                raise QueryFailed(str(err).strip("'\"")) from None
            finally:
                run.con.close()
        outcome.statement_type = statement_type(statement)
        outcome.data_scanned_bytes = run.scanned
        self._write_results(request, outcome)
        return outcome

    def _prepared_statement(
        self, request: QueryRequest, execute: statements.Execute
    ) -> sql.Statement:
        text = self.prepared.get(request.workgroup, execute.name)
        if text is None:
            raise QueryFailed(f"NOT_FOUND: Prepared statement not found: {execute.name}")
        bound = statements.bind_parameters(text, execute.parameters)
        inner = sql.parse_statement(bound)
        if isinstance(inner, statements.Execute | statements.Prepare):
            raise QueryFailed("NOT_SUPPORTED: a prepared statement cannot prepare or execute")
        return inner

    def _write_results(self, request: QueryRequest, outcome: QueryOutcome) -> None:
        bucket, prefix = split_s3_url(as_folder(request.output_location))
        if outcome.written is not None:
            # Athena lists the files a CTAS, INSERT or UNLOAD wrote: awswrangler reads them.
            manifest = f"{prefix}{request.query_id}-manifest.csv"
            body = "".join(f"{url}\n" for url in outcome.written).encode()
            self.store.write_object(bucket, manifest, body)
            outcome.manifest_location = f"s3://{bucket}/{manifest}"
        if outcome.statement_type == "DML":
            key = f"{prefix}{request.query_id}.csv"
            header = [c["Name"] for c in outcome.columns]
            self.store.write_object(bucket, key, render_csv(header, outcome.rows))
            self.store.write_object(bucket, key + ".metadata", render_metadata(outcome.columns))
        else:
            key = f"{prefix}{request.query_id}.txt"
            self.store.write_object(bucket, key, render_text(outcome.rows))
        outcome.output_location = f"s3://{bucket}/{key}"

    def _dispatch(self, run: QuerySession, statement: sql.Statement) -> QueryOutcome:
        handlers = {
            sql.Query: self._select,
            sql.CreateTableAs: self._create_table_as,
            sql.InsertInto: self._insert_into,
            sql.CreateView: self._create_view,
            sql.DropTable: self._drop_table,
            sql.RepairTable: self._repair_table,
            sql.AddPartitions: self._add_partitions,
            sql.DropPartitions: self._drop_partitions,
            sql.ShowTables: self._show_tables,
            sql.CreateDatabase: self._create_database,
            statements.Describe: lambda r, s: utility.describe(self, r, s),
            statements.ShowCreateTable: lambda r, s: utility.show_create_table(self, r, s),
            statements.ShowPartitions: lambda r, s: utility.show_partitions(self, r, s),
            statements.ShowColumns: lambda r, s: utility.show_columns(self, r, s),
            statements.ShowDatabases: lambda r, s: utility.show_databases(self, r, s),
            statements.Explain: lambda r, s: utility.explain(self, r, s),
            statements.Unload: self._unload,
            statements.Prepare: self._prepare,
            statements.Deallocate: self._deallocate,
        }
        return handlers[type(statement)](run, statement)

    def _prepare(self, run: QuerySession, statement: statements.Prepare) -> QueryOutcome:
        inner = sql.parse_statement(statement.statement)
        if isinstance(inner, statements.Prepare | statements.Execute | statements.Deallocate):
            raise QueryFailed("NOT_SUPPORTED: PREPARE of this statement is not supported")
        self.prepared.put(run.request.workgroup, statement.name, statement.statement)
        return QueryOutcome("DDL")

    def _deallocate(self, run: QuerySession, statement: statements.Deallocate) -> QueryOutcome:
        if not self.prepared.delete(run.request.workgroup, statement.name):
            raise QueryFailed(f"NOT_FOUND: Prepared statement not found: {statement.name}")
        return QueryOutcome("DDL")

    def _unload(self, run: QuerySession, statement: statements.Unload) -> QueryOutcome:
        parsed = sql.parse_statement(statement.query)
        if not isinstance(parsed, sql.Query):
            raise QueryFailed("SYNTAX_ERROR: UNLOAD takes a SELECT query")
        data_format = statement.properties.get("format", "textfile").lower()
        if data_format not in ("parquet", "json", "textfile"):
            raise QueryFailed(f"NOT_SUPPORTED: UNLOAD format {data_format!r} is not supported")
        location = as_folder(statement.location)
        bucket, prefix = split_s3_url(location)
        if self.store.list_objects(bucket, prefix):
            raise QueryFailed(
                f"HIVE_PATH_ALREADY_EXISTS: Target directory for UNLOAD already exists: {location}"
            )
        translated, _ = run.materialize(parsed.tree, "__unload")
        names = [c for c, _ in translated.columns]
        keys = statement.partitioned_by
        if keys and names[-len(keys) :] != keys:
            raise QueryFailed(
                f"INVALID_TABLE_PROPERTY: partitioned_by {keys} must be the last columns of the "
                f"query, got {names}"
            )
        for _, t in translated.columns:
            glue_type(t)  # what Hive cannot store, UNLOAD cannot write
        count = run.con.execute("SELECT count(*) FROM __unload").fetchone()[0]
        run.write_data("SELECT * FROM __unload", data_format, location, keys, statement.properties)
        return QueryOutcome("DML", update_count=count, written=list(run.written))

    def _require_database(self, database: str) -> None:
        if not self.catalog.database_exists(database):
            raise QueryFailed(f"SCHEMA_NOT_FOUND: Schema '{database}' does not exist")

    def _select(self, run: QuerySession, statement: sql.Query) -> QueryOutcome:
        translated, _ = run.translate(statement.tree)
        relation = run.con.sql(fetchable(translated))
        columns = [column_info_of(name, t) for name, t in translated.columns]
        types = [t for _, t in translated.columns]
        rows = [
            [format_value(v, t) for v, t in zip(row, types, strict=True)]
            for row in relation.fetchall()
        ]
        return QueryOutcome("DML", columns=columns, rows=rows, header=True)

    def _create_table_as(self, run: QuerySession, statement: sql.CreateTableAs) -> QueryOutcome:
        database, name = statement.table.qualified(run.request.database)
        self._require_database(database)
        if self.catalog.get_table(database, name) is not None:
            if statement.if_not_exists:
                return QueryOutcome("DDL")
            raise QueryFailed(
                f"TABLE_ALREADY_EXISTS: Table 'awsdatacatalog.{database}.{name}' already exists"
            )
        if statement.data_format not in ("parquet", "json"):
            raise QueryFailed(
                f"NOT_SUPPORTED: CTAS format {statement.data_format!r} is not supported here"
            )
        location = as_folder(
            statement.location
            or f"{as_folder(run.request.output_location)}tables/{run.request.query_id}"
        )
        bucket, prefix = split_s3_url(location)
        if self.store.list_objects(bucket, prefix):
            raise QueryFailed(
                f"HIVE_PATH_ALREADY_EXISTS: Target directory for table '{database}.{name}' "
                f"already exists: {location}"
            )
        translated, _ = run.materialize(
            statement.query, "__ctas", schema_only=not statement.with_data
        )
        described = [(c, glue_type(t)) for c, t in translated.columns]
        names = [c for c, _ in described]
        keys = statement.partitioned_by
        if keys and names[-len(keys) :] != keys:
            raise QueryFailed(
                f"INVALID_TABLE_PROPERTY: partitioned_by {keys} must be the last columns of the "
                f"query, got {names}"
            )
        for column in statement.bucketed_by:
            if column not in names or column in keys:
                raise QueryFailed(
                    f"INVALID_TABLE_PROPERTY: bucketed_by column {column!r} must be a column of "
                    "the query and not a partition column"
                )
        count, partitions = 0, []
        # WITH NO DATA: the table gets the query's columns and no files, like on Athena.
        if statement.with_data:
            count = run.con.execute("SELECT count(*) FROM __ctas").fetchone()[0]
            _check_open_writers(run, "__ctas", keys)
            partitions = run.write_data(
                "SELECT * FROM __ctas", statement.data_format, location, keys,
                statement.properties,
            )  # fmt: skip
        data_columns = [{"Name": c, "Type": t} for c, t in described if c not in keys]
        key_columns = [{"Name": c, "Type": t} for c, t in described if c in keys]
        table = table_input(name, statement.data_format, data_columns, key_columns, location)
        if statement.bucketed_by:
            # Recorded in the catalog as Athena does; the rows are written unbucketed (a
            # reader's answer is the same).
            table["StorageDescriptor"]["BucketColumns"] = list(statement.bucketed_by)
            table["StorageDescriptor"]["NumberOfBuckets"] = statement.bucket_count
        self.catalog.create_table(database, table)
        if partitions:
            self.catalog.create_partitions(
                database, name, [partition_input(table, v, loc) for v, loc in partitions]
            )
        return QueryOutcome("DDL", update_count=count, written=list(run.written))

    def _insert_into(self, run: QuerySession, statement: sql.InsertInto) -> QueryOutcome:
        database, name, table = run.table(statement.table)
        if table.get("TableType") == "VIRTUAL_VIEW":
            raise QueryFailed(
                f"NOT_SUPPORTED: Inserting into views is not supported: {database}.{name}"
            )
        columns = table["StorageDescriptor"].get("Columns", []) + table.get("PartitionKeys", [])
        names = [c["Name"].lower() for c in columns]
        targets = statement.columns or names
        for missing in [n for n in targets if n not in names]:
            raise QueryFailed(f"COLUMN_NOT_FOUND: Insert column name does not exist: {missing}")
        translated, translator = run.materialize(statement.query, "__insert")
        if len(translated.columns) != len(targets):
            raise QueryFailed(
                f"TYPE_MISMATCH: Insert query has {len(translated.columns)} columns, "
                f"{len(targets)} are inserted into {database}.{name}"
            )
        source = {t: i for i, t in enumerate(targets)}
        casts = []
        for col in columns:
            target = ty.from_glue(col["Type"])
            position = source.get(col["Name"].lower())
            if position is None:  # a column the INSERT leaves out is NULL
                casts.append(
                    f"CAST(NULL AS {target.duck()}) AS {sql.encode_identifier(col['Name'])}"
                )
                continue
            src_type = translated.columns[position][1]
            if not ty.can_coerce(src_type, target):
                raise QueryFailed(
                    f"TYPE_MISMATCH: Insert query has mismatched column types: Table: "
                    f"[{col['Type']}], Query: [{src_type}]"
                )
            value = Typed(f"#{position + 1}", src_type)  # by position: names may repeat
            cast = translator.expressions.coerce(value, target, None).sql
            casts.append(f"{cast} AS {sql.encode_identifier(col['Name'])}")
        run.sandbox.register(translator.helpers)
        casts = ", ".join(casts)
        count = run.con.execute("SELECT count(*) FROM __insert").fetchone()[0]
        keys = [k["Name"] for k in table.get("PartitionKeys", [])]
        _check_open_writers(run, f"(SELECT {casts} FROM __insert)", keys)
        location = table["StorageDescriptor"]["Location"]
        known = (
            {
                tuple(p["Values"]): p["StorageDescriptor"]["Location"]
                for p in self.catalog.get_partitions(database, name)
            }
            if keys
            else {}
        )
        partitions = run.write_data(
            f"SELECT {casts} FROM __insert", table_format(table), location, keys, existing=known
        )
        new = [partition_input(table, v, loc) for v, loc in partitions if tuple(v) not in known]
        if new:
            self.catalog.create_partitions(database, name, new)
        return QueryOutcome("DML", update_count=count, written=list(run.written))

    def _create_view(self, run: QuerySession, statement: sql.CreateView) -> QueryOutcome:
        database, name = statement.view.qualified(run.request.database)
        self._require_database(database)
        existing = self.catalog.get_table(database, name)
        if existing is not None and existing.get("TableType") != "VIRTUAL_VIEW":
            raise QueryFailed(f"NOT_SUPPORTED: {database}.{name} is a table, not a view")
        if existing is not None and not statement.replace:
            raise QueryFailed(
                f"ALREADY_EXISTS: View already exists: 'awsdatacatalog.{database}.{name}'"
            )
        translated, _ = run.translate(statement.query)
        columns = [{"Name": c, "Type": glue_type(t, view=True)} for c, t in translated.columns]
        original = statement.original
        view = {
            "Name": name,
            "TableType": "VIRTUAL_VIEW",
            "Parameters": {"presto_view": "true", "comment": "Presto View"},
            "ViewOriginalText": encode_view(original, database, columns),
            "ViewExpandedText": "/* Presto View */",
            "PartitionKeys": [],
            "StorageDescriptor": {**storage_descriptor("json", columns, ""), "SerdeInfo": {}},
        }
        if existing is None:
            self.catalog.create_table(database, view)
        else:
            self.catalog.update_table(database, view)
        return QueryOutcome("DDL")

    def _drop_table(self, run: QuerySession, statement: sql.DropTable) -> QueryOutcome:
        database, name = statement.table.qualified(run.request.database)
        found = (
            self.catalog.get_table(database, name)
            if self.catalog.database_exists(database)
            else None
        )
        if found is None:
            if statement.if_exists:
                return QueryOutcome("DDL")
            kind = "View" if statement.view else "Table"
            raise QueryFailed(
                f"TABLE_NOT_FOUND: {kind} 'awsdatacatalog.{database}.{name}' does not exist"
            )
        if (found.get("TableType") == "VIRTUAL_VIEW") != statement.view:
            wanted = "DROP VIEW" if found.get("TableType") == "VIRTUAL_VIEW" else "DROP TABLE"
            raise QueryFailed(f"NOT_SUPPORTED: {database}.{name}: use {wanted}")
        # Like Athena, dropping an external table leaves its S3 data in place.
        self.catalog.delete_table(database, name)
        return QueryOutcome("DDL")

    def _partition_location(self, table: dict[str, Any], spec: dict[str, str]) -> str:
        folder = "/".join(f"{k['Name']}={spec[k['Name'].lower()]}" for k in table["PartitionKeys"])
        return f"{as_folder(table['StorageDescriptor']['Location'])}{folder}/"

    def _repair_table(self, run: QuerySession, statement: sql.RepairTable) -> QueryOutcome:
        database, name, table = run.table(statement.table)
        keys = [k["Name"].lower() for k in table.get("PartitionKeys", [])]
        if not keys:
            return QueryOutcome("DDL")
        bucket, prefix = split_s3_url(as_folder(table["StorageDescriptor"]["Location"]))
        found: dict[tuple[str, ...], str] = {}
        for obj in self.store.list_objects(bucket, prefix):
            pairs = partition_path(obj.key[len(prefix) :])
            if [k for k, _ in pairs] == keys and is_data_object(obj, prefix):
                values = tuple(v for _, v in pairs)
                found[values] = self._partition_location(table, dict(pairs))
        known = {tuple(p["Values"]) for p in self.catalog.get_partitions(database, name)}
        new = [
            partition_input(table, list(v), loc)
            for v, loc in sorted(found.items())
            if v not in known
        ]
        if new:
            self.catalog.create_partitions(database, name, new)
        rows = [
            [
                f"Repair: Added partition to metastore {name}:"
                + "/".join(f"{k}={v}" for k, v in zip(keys, p["Values"], strict=True))
            ]
            for p in new
        ]
        return QueryOutcome("DDL", rows=rows)

    def _check_spec(self, table: dict[str, Any], spec: dict[str, str]) -> list[str]:
        keys = [k["Name"].lower() for k in table.get("PartitionKeys", [])]
        if sorted(spec) != sorted(keys):
            raise QueryFailed(
                f"INVALID_PARTITION_VALUE: partition spec {spec} does not match partition "
                f"keys {keys}"
            )
        return [spec[k] for k in keys]

    def _add_partitions(self, run: QuerySession, statement: sql.AddPartitions) -> QueryOutcome:
        database, name, table = run.table(statement.table)
        known = {tuple(p["Values"]) for p in self.catalog.get_partitions(database, name)}
        new = []
        for spec, location in statement.partitions:
            values = self._check_spec(table, spec)
            if tuple(values) in known:
                if statement.if_not_exists:
                    continue
                raise QueryFailed(
                    f"ALREADY_EXISTS: Partition already exists: {database}.{name} {spec}"
                )
            where = as_folder(location) if location else self._partition_location(table, spec)
            new.append(partition_input(table, values, where))
        if new:
            self.catalog.create_partitions(database, name, new)
        return QueryOutcome("DDL")

    def _drop_partitions(self, run: QuerySession, statement: sql.DropPartitions) -> QueryOutcome:
        database, name, table = run.table(statement.table)
        known = {tuple(p["Values"]) for p in self.catalog.get_partitions(database, name)}
        for spec in statement.partitions:
            values = self._check_spec(table, spec)
            if tuple(values) not in known:
                if statement.if_exists:
                    continue
                raise QueryFailed(
                    f"PARTITION_NOT_FOUND: Partition does not exist: {database}.{name} {spec}"
                )
            self.catalog.delete_partition(database, name, values)
        return QueryOutcome("DDL")

    def _show_tables(self, run: QuerySession, statement: sql.ShowTables) -> QueryOutcome:
        database = statement.database or run.request.database or "default"
        if not self.catalog.database_exists(database):
            raise QueryFailed(f"SCHEMA_NOT_FOUND: Schema '{database}' does not exist")
        names = sorted(t["Name"] for t in self.catalog.list_tables(database))
        if statement.pattern:
            patterns = [p.strip() for p in statement.pattern.split("|")]
            names = [n for n in names if any(fnmatch.fnmatch(n, p) for p in patterns)]
        return QueryOutcome(
            "UTILITY", columns=[column_info("tab_name", "VARCHAR")], rows=[[n] for n in names]
        )

    def _create_database(self, run: QuerySession, statement: sql.CreateDatabase) -> QueryOutcome:
        if self.catalog.database_exists(statement.name):
            if statement.if_not_exists:
                return QueryOutcome("DDL")
            raise QueryFailed(f"ALREADY_EXISTS: Database {statement.name} already exists")
        self.catalog.create_database(statement.name)
        return QueryOutcome("DDL")
