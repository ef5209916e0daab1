"""One Athena statement's DuckDB session: catalog tables bound to DuckDB views over S3 objects
(read through the ObjectStore, since DuckDB cannot reach S3 offline), and results written back.
"""

# The bytes read are the statement's DataScannedInBytes.

from __future__ import annotations

import atexit
import base64
import datetime as dt
import functools
import json
import shutil
import tempfile
import threading
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
from sqlglot import exp

from orders_pipeline.local_stack.athena import helpers, sql
from orders_pipeline.local_stack.athena import types as ty
from orders_pipeline.local_stack.athena.errors import AthenaError
from orders_pipeline.local_stack.athena.translate import (
    Relation,
    Scope,
    Source,
    Translated,
    Translator,
)
from orders_pipeline.local_stack.data_access import (
    GlueCatalog,
    ObjectStore,
    as_folder,
    is_data_object,
    split_s3_url,
)
from orders_pipeline.local_stack.glue.crawler import partition_path
from orders_pipeline.local_stack.glue.tables import table_format

VIEW_PREFIX = "/* Presto View: "
VIEW_SUFFIX = " */"


class QueryFailed(Exception):
    """The statement failed; the message is the execution's StateChangeReason."""


@dataclass(frozen=True)
class QueryRequest:
    query_id: str
    sql: str
    database: str | None
    output_location: str
    workgroup: str = "primary"
    parameters: tuple[str, ...] = ()  # ExecutionParameters: SQL text of each `?`


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _as(expression: str, column: str) -> str:
    return f"{expression} AS {sql.encode_identifier(column.lower())}"


@functools.lru_cache(maxsize=1024)
def duck_type(glue_type: str) -> str:
    return ty.from_glue(glue_type).duck()


# The hidden columns every table has (read per file, never part of SELECT *).
HIDDEN_COLUMNS = {
    "$path": ty.VARCHAR,
    "$file_size": ty.BIGINT,
    "$file_modified_time": ty.timestamptz(3),
}


def encode_view(original_sql: str, database: str, columns: list[dict[str, str]]) -> str:
    """Athena's ViewOriginalText: base64 JSON of the Presto view definition in a comment."""
    definition = {
        "originalSql": original_sql,
        "catalog": "awsdatacatalog",
        "schema": database,
        "columns": [{"name": c["Name"], "type": c["Type"]} for c in columns],
    }
    encoded = base64.b64encode(json.dumps(definition).encode()).decode()
    return f"{VIEW_PREFIX}{encoded}{VIEW_SUFFIX}"


def decode_view(view_text: str) -> dict[str, Any]:
    if not (view_text.startswith(VIEW_PREFIX) and view_text.endswith(VIEW_SUFFIX)):
        raise QueryFailed(
            f"HIVE_VIEW_TRANSLATION_ERROR: ViewOriginalText: not a Presto view: {view_text[:60]!r}"
        )
    return json.loads(base64.b64decode(view_text[len(VIEW_PREFIX) : -len(VIEW_SUFFIX)]))


def sandboxed_connection(workdir: Path, memory_limit: str) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection that can touch no file outside `workdir` and cannot be reconfigured.

    The engine reads S3 objects it copied into `workdir` and writes results there; DuckDB's
    own table functions (read_text, read_csv, glob, ...) could otherwise read any file of the
    machine, and through the Athena API any web page could ask them to.
    """
    con = duckdb.connect(
        config={
            "memory_limit": memory_limit,
            "threads": 2,
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
        }
    )
    con.execute("SET TimeZone='UTC'")
    folder = str(workdir.resolve()) + "/"
    con.execute(f"SET temp_directory={_literal(folder + '.spill')}")
    con.execute(f"SET allowed_directories=[{_literal(folder)}]")
    con.execute("SET enable_external_access=false")
    con.execute("SET lock_configuration=true")
    return con


def options_in(data_format: str, properties: dict[str, str] | None) -> dict[str, str]:
    """DuckDB COPY options for a CTAS/UNLOAD's compression and field delimiter."""
    properties = properties or {}
    options: dict[str, str] = {}
    compression = (
        properties.get("write_compression") or properties.get("parquet_compression")
        or properties.get("compression")
    )  # fmt: skip
    if compression:
        codec = compression.lower()
        allowed = {"parquet": ("snappy", "gzip", "zstd", "none", "uncompressed", "lz4")}
        allowed["json"] = allowed["textfile"] = ("gzip", "zstd", "none")
        if codec not in allowed.get(data_format, ()):
            raise QueryFailed(
                f"INVALID_TABLE_PROPERTY: compression '{compression}' is not supported for "
                f"{data_format}"
            )
        options["COMPRESSION"] = _literal("uncompressed" if codec == "none" else codec)
    if data_format == "textfile":
        delimiter = properties.get("field_delimiter", "\x01")
        options["DELIMITER"] = _literal(delimiter)
        options["HEADER"] = "false"
        options["QUOTE"] = "''"
        options["NULLSTR"] = _literal("\\N")
    return options


class Sandbox:
    """One sandboxed DuckDB database for every statement of the process (opening one costs
    30 ms): each statement gets its own cursor (its own temp views and tables) and its own folder
    under the scratch root the database may touch. The helpers, pure functions and macros, are
    registered once (DuckDB keeps them database-wide; queries cannot name them)."""

    def __init__(self, memory_limit: str) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="athena-scratch-"))
        atexit.register(shutil.rmtree, self.root, True)  # the spill folder, at exit
        self.database = sandboxed_connection(self.root, memory_limit)
        self._registered: set[str] = set()
        self._lock = threading.Lock()

    def cursor(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            return self.database.cursor()

    def register(self, names: set[str]) -> None:
        with self._lock:
            missing = names - self._registered
            if missing:
                helpers.register(self.database, missing, self._registered)
                self._registered |= helpers.with_requirements(missing)


_sandboxes: dict[str, Sandbox] = {}
_sandboxes_lock = threading.Lock()


def sandbox(memory_limit: str) -> Sandbox:
    with _sandboxes_lock:
        found = _sandboxes.get(memory_limit)
        if found is None:
            found = _sandboxes[memory_limit] = Sandbox(memory_limit)
        return found


class QuerySession:
    """One statement's execution: its DuckDB connection, temp folder and bytes read."""

    def __init__(
        self,
        store: ObjectStore,
        catalog: GlueCatalog,
        request: QueryRequest,
        workdir: Path,
        memory_limit: str,
    ) -> None:
        self.catalog = catalog
        self.store = store
        self.request = request
        self.workdir = workdir
        self.scanned = 0
        self.sources = 0
        # Only the result's columns are wanted (CTAS WITH NO DATA): tables are read as empty.
        self.schema_only = False
        self._database = request.database
        # local copy -> (S3 URL, size, last modified): the hidden columns "$path", ...
        self.files: dict[str, tuple[str, int, Any]] = {}
        self.hidden = False
        self.written: list[str] = []  # S3 URLs of the data files this statement wrote
        self.modified: Any = None  # (bucket, key) -> last-modified datetime, when known
        self.sandbox = sandbox(memory_limit)
        self.con = self.sandbox.cursor()

    def interrupt(self) -> None:
        """Stop the running DuckDB statement (StopQueryExecution)."""
        self.con.interrupt()

    # --- catalog ---------------------------------------------------------------------------

    def table(self, ref: sql.TableRef) -> tuple[str, str, dict[str, Any]]:
        database, name = ref.qualified(self.request.database)
        if not self.catalog.database_exists(database):
            raise QueryFailed(f"SCHEMA_NOT_FOUND: Schema '{database}' does not exist")
        found = self.catalog.get_table(database, name)
        if found is None:
            raise QueryFailed(
                f"TABLE_NOT_FOUND: Table 'awsdatacatalog.{database}.{name}' does not exist"
            )
        return database, name, found

    def partitions(self, database: str, table: dict[str, Any]) -> list[tuple[list[str], str]]:
        if not table.get("PartitionKeys"):
            return [([], table["StorageDescriptor"]["Location"])]
        return [
            (p["Values"], p["StorageDescriptor"]["Location"])
            for p in self.catalog.get_partitions(database, table["Name"])
        ]

    # --- reading ---------------------------------------------------------------------------

    def resolve(self, node: exp.Table, tree: exp.Expression) -> Source:
        """A catalog table for the translator: a DuckDB view over its (pruned) files, or the
        query of a catalog view."""
        if not isinstance(node.this, exp.Identifier):
            raise QueryFailed(
                f"FUNCTION_NOT_FOUND: Table function '{node.this.sql()}' not registered"
            )
        ref = sql.table_ref(node)
        if ref.database is None:
            ref = sql.TableRef(self._database, ref.name)
        database, name, table = self.table(ref)
        if table.get("TableType") == "VIRTUAL_VIEW":
            view = decode_view(table.get("ViewOriginalText", ""))
            parsed = sql.parse_statement(view["originalSql"])
            if not isinstance(parsed, sql.Query):
                raise QueryFailed(f"VIEW_IS_STALE: view {database}.{name} does not hold a query")
            return Source(view=parsed.tree, view_database=view.get("schema") or database)
        keys = [k["Name"].lower() for k in table.get("PartitionKeys", [])]
        root = node
        while root.parent is not None:
            root = root.parent
        filters = sql.partition_conjuncts(root, node, keys) if keys else []
        columns = [
            (c["Name"].lower(), ty.from_glue(c["Type"]))
            for c in table["StorageDescriptor"].get("Columns", []) + table.get("PartitionKeys", [])
        ]
        paths = sql.path_values(node)
        return Source(duck=self.source(database, table, filters, paths), columns=columns,
                      hidden=dict(HIDDEN_COLUMNS))  # fmt: skip

    def translate(self, tree: exp.Expression) -> tuple[Translated, Translator]:
        """The DuckDB text of a query; the helpers it calls are registered on the connection."""
        translator = Translator(self.resolve, self.request.database)
        self._database = self.request.database
        self.hidden = self.hidden or any(
            i.name.startswith("$") for i in tree.find_all(exp.Identifier)
        )
        translated = translator.query(tree)
        self.sandbox.register(translator.helpers)
        return translated, translator

    def _pruning(self, keys: list[dict[str, Any]], conjuncts: list[exp.Expression]) -> list[str]:
        """The conjuncts as DuckDB predicates over the partition values (`p`), translated with
        Trino's semantics; one the translator refuses prunes nothing (the WHERE still applies)."""
        columns = [(k["Name"].lower(), ty.from_glue(k["Type"])) for k in keys]
        translator = Translator(self.resolve, self.request.database)
        scope = Scope([Relation(None, "p", columns)])
        kept = []
        for conjunct in conjuncts:
            try:
                typed = translator.expressions.boolean(conjunct, scope, "WHERE")
            except AthenaError:
                continue
            kept.append(typed.sql)
        self.sandbox.register(translator.helpers)
        return kept

    def _selected(
        self, database: str, table: dict[str, Any], conjuncts: list[exp.Expression]
    ) -> list[tuple]:
        partitions = self.partitions(database, table)
        keys = table.get("PartitionKeys", [])
        filters = self._pruning(keys, conjuncts) if conjuncts and partitions else []
        if not filters:
            return partitions
        rows = ", ".join(
            "("
            + ", ".join(
                [str(i)]
                + [
                    f"CAST({_literal(v)} AS {duck_type(k['Type'])})"
                    for v, k in zip(values, keys, strict=True)
                ]
            )
            + ")"
            for i, (values, _) in enumerate(partitions)
        )
        names = ", ".join(["__i"] + [sql.encode_identifier(k["Name"].lower()) for k in keys])
        query = f"SELECT __i FROM (VALUES {rows}) AS p({names}) WHERE " + " AND ".join(filters)
        try:
            kept = {i for (i,) in self.con.execute(query).fetchall()}
        except duckdb.Error:
            return partitions  # a predicate DuckDB cannot evaluate alone: read everything
        return [p for i, p in enumerate(partitions) if i in kept]

    def _download(
        self, location: str, folder: Path, paths: frozenset[str] | None = None
    ) -> list[Path]:
        """The data files under `location` (only those in `paths`, when given), each counted
        as scanned."""
        bucket, prefix = split_s3_url(as_folder(location))
        folder.mkdir(parents=True)
        files = []
        for number, obj in enumerate(self.store.list_objects(bucket, prefix)):
            if not is_data_object(obj, prefix):
                continue
            if paths is not None and f"s3://{bucket}/{obj.key}" not in paths:
                continue
            data = self.store.read_object(bucket, obj.key)
            self.scanned += len(data)
            suffix = ".gz" if data[:2] == b"\x1f\x8b" else ""
            path = folder / f"{number}{suffix}"
            path.write_bytes(data)
            files.append(path)
            modified = self.modified(bucket, obj.key) if self.modified else None
            self.files[str(path)] = (f"s3://{bucket}/{obj.key}", len(data), modified)
        return files

    def source(
        self,
        database: str,
        table: dict[str, Any],
        filters: list[exp.Expression],
        paths: frozenset[str] | None = None,
    ) -> str:
        self.sources += 1
        view = f"__source_{self.sources}"
        data_format = table_format(table)
        columns = table["StorageDescriptor"].get("Columns", [])
        keys = table.get("PartitionKeys", [])
        parts = []
        selected = [] if self.schema_only else self._selected(database, table, filters)
        for number, (values, location) in enumerate(selected):
            files = self._download(location, self.workdir / view / str(number), paths)
            if not files:
                continue
            partition_columns = [
                _as(f"CAST({_literal(v)} AS {duck_type(k['Type'])})", k["Name"])
                for v, k in zip(values, keys, strict=True)
            ]
            parts.append(self._read(data_format, files, columns, partition_columns))
        if not parts:
            empty = [
                _as(f"CAST(NULL AS {duck_type(c['Type'])})", c["Name"]) for c in [*columns, *keys]
            ]
            if self.hidden:
                empty += [
                    f"CAST(NULL AS {t.duck()}) AS {sql.encode_identifier(n)}"
                    for n, t in HIDDEN_COLUMNS.items()
                ]
            parts = [f"SELECT {', '.join(empty)} WHERE false"]
        self.con.execute(f"CREATE TEMP VIEW {view} AS " + "\nUNION ALL\n".join(parts))
        return view

    def _read(
        self, data_format: str, files: list[Path], columns: list[dict], partition_columns: list[str]
    ) -> str:
        paths = "[" + ", ".join(_literal(str(f)) for f in files) + "]"
        if data_format == "parquet":
            selected = [
                f"CAST({sql.encode_identifier(c['Name'])} AS {duck_type(c['Type'])}) "
                f"AS {sql.encode_identifier(c['Name'].lower())}"
                for c in columns
            ]
            reader = f"read_parquet({paths}, union_by_name=true)"
        else:
            # The OpenX SerDe matches JSON keys case-insensitively; DuckDB does not, so read
            # each column under the spelling the data uses.
            spelling = self._json_key_spelling(files)
            declared = {
                spelling.get(c["Name"].lower(), c["Name"].lower()): duck_type(c["Type"])
                for c in columns
            }
            struct = (
                "{" + ", ".join(f"{_literal(k)}: {_literal(t)}" for k, t in declared.items()) + "}"
            )
            selected = [
                f"{sql.encode_identifier(spelling.get(c['Name'].lower(), c['Name'].lower()))} "
                f"AS {sql.encode_identifier(c['Name'].lower())}"
                for c in columns
            ]
            reader = (
                f"read_json({paths}, format='newline_delimited', columns={struct}, "
                "maximum_object_size=16777216)"
            )
        if not self.hidden:
            return f"SELECT {', '.join(selected + partition_columns)} FROM {reader}"
        reader = reader[:-1] + ", filename=true)"
        hidden = [
            self._hidden_value(f, "filename")
            for f in ("$path", "$file_size", "$file_modified_time")
        ]
        return f"SELECT {', '.join(selected + partition_columns + hidden)} FROM {reader}"

    def _hidden_value(self, column: str, filename: str) -> str:
        """One hidden column, looked up from the file DuckDB read the row from."""
        index = {"$path": 0, "$file_size": 1, "$file_modified_time": 2}[column]
        cases = []
        for local, facts in self.files.items():
            value = facts[index]
            if index == 0:
                text = _literal(value)
            elif index == 1:
                text = str(value)
            else:
                if value is None:
                    text = "NULL"
                else:
                    moment = value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
                    text = f"{{'i': CAST('{moment}+00' AS TIMESTAMPTZ), 'z': 'UTC'}}"
            cases.append(f"WHEN {_literal(local)} THEN {text}")
        t = HIDDEN_COLUMNS[column]
        fallback = f"CAST(NULL AS {t.duck()})"
        return (
            f"CAST(CASE {filename} {' '.join(cases)} ELSE {fallback} END AS {t.duck()}) "
            f"AS {sql.encode_identifier(column)}"
        )

    @staticmethod
    def _json_key_spelling(files: list[Path]) -> dict[str, str]:
        spelling: dict[str, str] = {}
        for path in files:
            if path.suffix == ".gz":
                continue
            with path.open("rb") as handle:
                first = handle.readline()
            try:
                record = json.loads(first)
            except ValueError:
                continue  # DuckDB reports the malformed line with its position
            if isinstance(record, dict):
                for key in record:
                    spelling.setdefault(key.lower(), key)
        return spelling

    # --- writing ---------------------------------------------------------------------------

    def write_data(
        self,
        relation_sql: str,
        data_format: str,
        location: str,
        partition_by: list[str],
        options: dict[str, str] | None = None,
        existing: Mapping[tuple[str, ...], str] | None = None,
    ) -> list[tuple[list[str], str]]:
        """Write the rows as files under `location` (Hive folders per partition); the partitions.
        Rows of an `existing` partition (values -> its catalog location) go where the catalog
        says it is, as Trino appends to an existing partition."""
        out = self.workdir / "__write"
        if out.exists():
            shutil.rmtree(out)
        out.mkdir()
        copy_format = {"parquet": "parquet", "json": "json", "textfile": "csv"}[data_format]
        extension = {"parquet": "parquet", "json": "json", "csv": "csv"}[copy_format]
        pattern = f"{self.request.query_id}_{{i}}"
        extra = options_in(data_format, options)
        if partition_by:
            keys = ", ".join(sql.encode_identifier(k) for k in partition_by)
            target, clauses = str(out), f", PARTITION_BY ({keys}), FILENAME_PATTERN '{pattern}'"
        else:
            target, clauses = str(out / f"{self.request.query_id}_0.{extension}"), ""
        for key, value in extra.items():
            clauses += f", {key} {value}"
        self.con.execute(
            f"COPY ({relation_sql}) TO {_literal(target)} (FORMAT {copy_format}{clauses})"
        )
        bucket, prefix = split_s3_url(as_folder(location))
        partitions: dict[tuple[str, ...], str] = {}
        for path in sorted(p for p in out.rglob("*") if p.is_file()):
            relative = path.relative_to(out).as_posix()
            pairs = partition_path(relative)
            values = tuple(urllib.parse.unquote(v) for _, v in pairs)
            if pairs and existing and values in existing:
                folder_url = as_folder(existing[values])
            elif pairs:
                folder_url = f"{as_folder(location)}{'/'.join(f'{k}={v}' for k, v in pairs)}/"
            else:
                folder_url = None
            if folder_url is None:
                target_bucket, key = bucket, prefix + relative
            else:
                target_bucket, folder_prefix = split_s3_url(folder_url)
                key = folder_prefix + path.name
                partitions[values] = folder_url
            self.store.write_object(target_bucket, key, path.read_bytes())
            self.written.append(f"s3://{target_bucket}/{key}")
        return [(list(v), loc) for v, loc in sorted(partitions.items())]

    def materialize(
        self, tree: exp.Expression, name: str, *, schema_only: bool = False
    ) -> tuple[Translated, Translator]:
        """Run the query into a DuckDB temp table (`schema_only`: over no data, for its
        columns alone); its Trino columns."""
        self.schema_only = schema_only
        translated, translator = self.translate(tree)
        self.con.execute(f"CREATE TEMP TABLE {name} AS {translated.sql}")
        return translated, translator
