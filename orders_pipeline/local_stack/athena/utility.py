"""DESCRIBE, SHOW CREATE TABLE / PARTITIONS / COLUMNS / DATABASES and EXPLAIN: what they answer
from the Glue catalog (or the translated query)."""

from __future__ import annotations

import fnmatch
from typing import TYPE_CHECKING

from orders_pipeline.local_stack.athena import catalog_text, sql, statements
from orders_pipeline.local_stack.athena import types as ty
from orders_pipeline.local_stack.athena.results import column_info_of
from orders_pipeline.local_stack.athena.session import QueryFailed, decode_view

if TYPE_CHECKING:
    from orders_pipeline.local_stack.athena.engine import AthenaEngine, QueryOutcome
    from orders_pipeline.local_stack.athena.session import QuerySession


def _outcome(kind: str, names: list[str], rows: list[list[str | None]]) -> QueryOutcome:
    from orders_pipeline.local_stack.athena.engine import QueryOutcome

    columns = [column_info_of(n, ty.VARCHAR) for n in names]
    return QueryOutcome(kind, columns=columns, rows=rows)


def describe(engine: AthenaEngine, run: QuerySession, s: statements.Describe) -> QueryOutcome:
    _, _, table = run.table(sql.table_ref_text(s.table))
    return _outcome("DDL", ["col_name", "data_type", "comment"], catalog_text.describe_rows(table))


def show_create_table(
    engine: AthenaEngine, run: QuerySession, s: statements.ShowCreateTable
) -> QueryOutcome:
    database, name, table = run.table(sql.table_ref_text(s.table))
    is_view = table.get("TableType") == "VIRTUAL_VIEW"
    if is_view != s.view:
        wanted = "SHOW CREATE VIEW" if is_view else "SHOW CREATE TABLE"
        raise QueryFailed(
            f"NOT_SUPPORTED: {database}.{name} is a {'view' if is_view else 'table'}; use {wanted}"
        )
    if is_view:
        original = decode_view(table.get("ViewOriginalText", ""))["originalSql"]
        lines = catalog_text.show_create_view(database, name, original)
    else:
        lines = catalog_text.show_create_table(database, table)
    return _outcome("DDL", ["createtab_stmt"], [[line] for line in lines])


def show_partitions(
    engine: AthenaEngine, run: QuerySession, s: statements.ShowPartitions
) -> QueryOutcome:
    database, name, table = run.table(sql.table_ref_text(s.table))
    keys = [k["Name"] for k in table.get("PartitionKeys", [])]
    if not keys:
        raise QueryFailed(f"NOT_SUPPORTED: Table {database}.{name} is not partitioned")
    names = sorted(
        catalog_text.partition_name(keys, p["Values"])
        for p in engine.catalog.get_partitions(database, name)
    )
    return _outcome("DDL", ["partition"], [[n] for n in names])


def show_columns(
    engine: AthenaEngine, run: QuerySession, s: statements.ShowColumns
) -> QueryOutcome:
    ref = sql.table_ref_text(s.table)
    if s.database:
        ref = sql.TableRef(s.database, ref.name)
    _, _, table = run.table(ref)
    columns = table["StorageDescriptor"].get("Columns", []) + table.get("PartitionKeys", [])
    return _outcome("DDL", ["field"], [[c["Name"]] for c in columns])


def show_databases(
    engine: AthenaEngine, run: QuerySession, s: statements.ShowDatabases
) -> QueryOutcome:
    names = sorted(engine.databases())
    if s.pattern:
        patterns = [p.strip() for p in s.pattern.split("|")]
        names = [n for n in names if any(fnmatch.fnmatch(n, p) for p in patterns)]
    return _outcome("DDL", ["database_name"], [[n] for n in names])


def explain(engine: AthenaEngine, run: QuerySession, s: statements.Explain) -> QueryOutcome:
    from orders_pipeline.local_stack.athena.engine import QueryOutcome

    inner = sql.parse_statement(s.statement)
    tree = inner.tree if isinstance(inner, sql.Query) else getattr(inner, "query", None)
    if tree is None:
        raise QueryFailed("NOT_SUPPORTED: EXPLAIN of this statement is not supported")
    translated, _ = run.translate(tree)
    if s.kind == "VALIDATE":
        return QueryOutcome(
            "DML", columns=[column_info_of("Valid", ty.BOOLEAN)], rows=[["true"]], header=True
        )
    word = "EXPLAIN ANALYZE" if s.analyze else "EXPLAIN"
    plan = run.con.execute(f"{word} {translated.sql}").fetchall()
    lines = [line for _, text in plan for line in str(text).splitlines()]
    return QueryOutcome(
        "DML", columns=[column_info_of("Query Plan", ty.VARCHAR)],
        rows=[["\n".join(lines)]], header=True,
    )  # fmt: skip
