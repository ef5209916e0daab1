"""Athena SQL, parsed: statement kinds, CTAS properties, Hive partition DDL, and the DuckDB text of
queries (sqlglot, Athena/Trino -> DuckDB). Pure: no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError
from sqlglot.tokens import TokenType

from orders_pipeline.local_stack.athena import statements
from orders_pipeline.local_stack.athena.dialect import AthenaSql
from orders_pipeline.local_stack.athena.errors import AthenaError

READ_DIALECT = "athena"
_NAME = r"(?:`[^`]+`|\"[^\"]+\"|[\w]+)"
_TABLE_NAME = rf"({_NAME}(?:\s*\.\s*{_NAME}){{0,2}})"
_STRING = r"'(?:[^']|'')*'"
_PARTITION_SPEC = re.compile(r"PARTITION\s*\(([^)]*)\)(?:\s*LOCATION\s*(" + _STRING + r"))?", re.I)


class AthenaSqlError(Exception):
    """The statement is not valid Athena SQL (or not supported here); message says why."""


@dataclass(frozen=True)
class TableRef:
    database: str | None
    name: str

    def qualified(self, default_database: str | None) -> tuple[str, str]:
        database = self.database or default_database
        if not database:
            raise AthenaSqlError(
                f"SCHEMA_NOT_FOUND: table {self.name}: no database given and no default database"
            )
        return database, self.name


@dataclass(frozen=True)
class Query:
    tree: exp.Expression


@dataclass(frozen=True)
class CreateTableAs:
    table: TableRef
    query: exp.Expression
    data_format: str
    location: str | None
    partitioned_by: list[str]
    if_not_exists: bool
    with_data: bool = True
    bucketed_by: list[str] = field(default_factory=list)
    bucket_count: int | None = None
    properties: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class InsertInto:
    table: TableRef
    query: exp.Expression
    columns: list[str] = field(default_factory=list)  # INSERT INTO t (a, b): those columns


@dataclass(frozen=True)
class CreateView:
    view: TableRef
    query: exp.Expression
    replace: bool
    original: str = ""  # the query's text as written (a view stores it)


@dataclass(frozen=True)
class DropTable:
    table: TableRef
    if_exists: bool
    view: bool


@dataclass(frozen=True)
class RepairTable:
    table: TableRef


@dataclass(frozen=True)
class AddPartitions:
    table: TableRef
    partitions: list[tuple[dict[str, str], str | None]]
    if_not_exists: bool


@dataclass(frozen=True)
class DropPartitions:
    table: TableRef
    partitions: list[dict[str, str]]
    if_exists: bool


@dataclass(frozen=True)
class ShowTables:
    database: str | None
    pattern: str | None = None


@dataclass(frozen=True)
class CreateDatabase:
    name: str
    if_not_exists: bool


Statement = (
    Query | CreateTableAs | InsertInto | CreateView | DropTable | RepairTable | AddPartitions
    | DropPartitions | ShowTables | CreateDatabase | statements.Utility
)  # fmt: skip

# CTAS properties Athena accepts (others are an error there too).
_CTAS_PROPERTIES = {
    "format", "external_location", "partitioned_by", "bucketed_by", "bucket_count",
    "write_compression", "parquet_compression", "orc_compression", "field_delimiter",
    "table_type", "is_external", "vacuum_min_snapshots_to_keep", "compression_level",
}  # fmt: skip


@dataclass
class Properties:
    values: dict[str, str] = field(default_factory=dict)
    partitioned_by: list[str] = field(default_factory=list)
    bucketed_by: list[str] = field(default_factory=list)
    with_data: bool = True


def _unquote(name: str) -> str:
    name = name.strip()
    if name[:1] in '`"' and name[-1:] == name[:1]:
        return name[1:-1]
    return name.lower()


def _table_ref_text(text: str) -> TableRef:
    parts = [_unquote(p) for p in re.split(r"\s*\.\s*", text.strip())]
    if len(parts) == 3:  # catalog.database.table: only AwsDataCatalog exists here
        parts = parts[1:]
    return TableRef(parts[0], parts[1]) if len(parts) == 2 else TableRef(None, parts[0])


def table_ref(table: exp.Table) -> TableRef:
    return TableRef(table.db.lower() or None, table.name.lower())


def _string(literal: str) -> str:
    return literal[1:-1].replace("''", "'")


def _partition_spec(text: str) -> dict[str, str]:
    spec = {}
    for item in re.split(r",(?=(?:[^']*'[^']*')*[^']*$)", text):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise AthenaSqlError(
                f"SYNTAX_ERROR: partition spec: expected key=value, got {item.strip()!r}"
            )
        value = value.strip()
        spec[_unquote(key)] = _string(value) if value.startswith("'") else value
    return spec


def _parse_hive_ddl(sql: str) -> Statement | None:
    """The Hive-only statements sqlglot does not model: MSCK, ALTER TABLE ... PARTITION, SHOW."""
    text = sql.strip().rstrip(";").strip()
    if m := re.fullmatch(rf"MSCK\s+REPAIR\s+TABLE\s+{_TABLE_NAME}", text, re.I):
        return RepairTable(_table_ref_text(m.group(1)))
    if m := re.fullmatch(
        rf"ALTER\s+TABLE\s+{_TABLE_NAME}\s+ADD\s+(IF\s+NOT\s+EXISTS\s+)?(PARTITION\b.*)",
        text,
        re.I | re.S,
    ):
        specs = _PARTITION_SPEC.findall(m.group(3))
        if not specs or _PARTITION_SPEC.sub("", m.group(3)).strip():
            raise AthenaSqlError(
                f"SYNTAX_ERROR: ALTER TABLE ADD PARTITION: cannot parse {m.group(3)!r}"
            )
        partitions = [(_partition_spec(s), _string(loc) if loc else None) for s, loc in specs]
        return AddPartitions(_table_ref_text(m.group(1)), partitions, bool(m.group(2)))
    if m := re.fullmatch(
        rf"ALTER\s+TABLE\s+{_TABLE_NAME}\s+DROP\s+(IF\s+EXISTS\s+)?(PARTITION\b.*)",
        text,
        re.I | re.S,
    ):
        specs = _PARTITION_SPEC.findall(m.group(3))
        rest = re.sub(r"[\s,]", "", _PARTITION_SPEC.sub("", m.group(3)))
        if not specs or rest or any(loc for _, loc in specs):
            raise AthenaSqlError(
                f"SYNTAX_ERROR: ALTER TABLE DROP PARTITION: cannot parse {m.group(3)!r}"
            )
        partitions = [_partition_spec(s) for s, _ in specs]
        return DropPartitions(_table_ref_text(m.group(1)), partitions, bool(m.group(2)))
    if m := re.fullmatch(
        rf"SHOW\s+TABLES(?:\s+(?:IN|FROM)\s+({_NAME}))?(?:\s+({_STRING}))?", text, re.I
    ):
        database = _unquote(m.group(1)) if m.group(1) else None
        return ShowTables(database, _string(m.group(2)) if m.group(2) else None)
    if m := re.fullmatch(
        rf"CREATE\s+(?:DATABASE|SCHEMA)\s+(IF\s+NOT\s+EXISTS\s+)?({_NAME})", text, re.I
    ):
        return CreateDatabase(_unquote(m.group(2)), bool(m.group(1)))
    return None


def _ctas_properties(create: exp.Create) -> Properties:
    found = Properties()
    properties = create.args.get("properties")
    for prop in properties.expressions if properties else []:
        if isinstance(prop, exp.FileFormatProperty):
            found.values["format"] = prop.this.name
        elif isinstance(prop, exp.PartitionedByProperty):
            columns = prop.this.expressions if isinstance(prop.this, exp.Array) else [prop.this]
            found.partitioned_by = [c.name.lower() for c in columns]
        elif isinstance(prop, exp.WithDataProperty):
            # The trailing `WITH [NO] DATA` of a CTAS: sqlglot files it among the properties.
            found.with_data = not prop.args.get("no")
        elif isinstance(prop, exp.Property):
            key, value = prop.name.lower(), prop.args["value"]
            if key not in _CTAS_PROPERTIES:
                raise AthenaSqlError(
                    "INVALID_TABLE_PROPERTY: Catalog 'awsdatacatalog' table property "
                    f"'{key}' does not exist"
                )
            if isinstance(value, exp.Array):
                names = [e.name.lower() for e in value.expressions]
                if key == "bucketed_by":
                    found.bucketed_by = names
                elif key == "partitioned_by":
                    found.partitioned_by = names
                else:
                    raise AthenaSqlError(f"INVALID_TABLE_PROPERTY: {key} takes a single value")
            else:
                found.values[key] = value.name
        elif isinstance(prop, exp.LocationProperty):
            found.values["external_location"] = prop.this.name
        else:
            raise AthenaSqlError(
                "INVALID_TABLE_PROPERTY: CREATE TABLE: unsupported property "
                f"{prop.sql(READ_DIALECT)!r}"
            )
    return found


# Trino's reserved words (language/reserved): usable as names only when double-quoted.
RESERVED = frozenset(
    """ALTER AND AS BETWEEN BY CASE CAST CONSTRAINT CREATE CROSS CUBE CURRENT_CATALOG CURRENT_DATE
    CURRENT_PATH CURRENT_ROLE CURRENT_SCHEMA CURRENT_TIME CURRENT_TIMESTAMP CURRENT_USER DEALLOCATE
    DELETE DESCRIBE DISTINCT DROP ELSE END ESCAPE EXCEPT EXECUTE EXISTS EXTRACT FALSE FOR FROM FULL
    GROUP GROUPING HAVING IN INNER INSERT INTERSECT INTO IS JOIN JSON_ARRAY JSON_EXISTS JSON_OBJECT
    JSON_QUERY JSON_TABLE JSON_VALUE LEFT LIKE LISTAGG LOCALTIME LOCALTIMESTAMP NATURAL NORMALIZE
    NOT NULL ON OR ORDER OUTER PREPARE RECURSIVE RIGHT ROLLUP SELECT SKIP TABLE THEN TRIM TRUE
    UESCAPE UNION UNNEST USING VALUES WHEN WHERE WITH""".split()
)


def _reject_backticks(sql: str) -> None:
    """Athena's DML is Trino's: backquoted names are an error there (DDL takes them)."""
    tokens = sqlglot.tokenize(sql, read=READ_DIALECT)
    for token in tokens:
        if token.text == "`" or (
            token.token_type == TokenType.IDENTIFIER and sql[token.start : token.start + 1] == "`"
        ):
            raise AthenaSqlError(
                f"SYNTAX_ERROR: line {token.line}:{token.start + 1}: backquoted identifiers are "
                "not supported; use double quotes to quote identifiers"
            )


def table_ref_text(text: str) -> TableRef:
    return _table_ref_text(text)


def _reject_reserved(tree: exp.Expression) -> None:
    for identifier in tree.find_all(exp.Identifier):
        if not identifier.quoted and identifier.name.upper() in RESERVED:
            raise AthenaSqlError(
                f"SYNTAX_ERROR: mismatched input '{identifier.name}'. "
                f"'{identifier.name.upper()}' is a reserved word: quote it as \"{identifier.name}\""
            )


def _reject_outside_athena(sql: str, tree: exp.Expression) -> None:
    """Athena reads tables of its catalog only: a table function or a path is not one. (A DuckDB
    function elsewhere is refused by the function table, an allow-list: functions.py.)"""
    tokens = sqlglot.tokenize(sql, read=READ_DIALECT)
    calls: list[str] = []  # the callee of each open parenthesis
    for before, token in zip(tokens, tokens[1:], strict=False):
        if token.token_type == TokenType.L_PAREN:
            calls.append(before.text.upper())
        elif token.token_type == TokenType.R_PAREN and calls:
            calls.pop()
        inside_call = bool(calls) and calls[-1] in ("TRIM", "SUBSTRING", "EXTRACT", "POSITION")
        if (
            before.token_type in (TokenType.FROM, TokenType.JOIN)
            and (token.token_type == TokenType.STRING)
            and not inside_call
        ):
            start = token.col - len(token.text) - 1  # sqlglot's col is where the token ends
            raise AthenaSqlError(
                f"SYNTAX_ERROR: line {token.line}:{start}: mismatched input '{token.text}': "
                "a table is named, not given as a path or a string"
            )
    for table in tree.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            this = table.this
            name = this.name if isinstance(this, exp.Anonymous) else this.sql_name()
            raise AthenaSqlError(
                f"FUNCTION_NOT_FOUND: Table function '{name.lower()}' not registered"
            )


def parse_statement(sql: str) -> Statement:
    """One Athena statement -> what to do; AthenaSqlError with the parser's message otherwise."""
    hive = _parse_hive_ddl(sql)
    if hive is not None:
        return hive
    try:
        utility = statements.parse_utility(sql)
    except AthenaError as err:
        raise AthenaSqlError(str(err)) from None
    if utility is not None:
        return utility
    if "`" in sql:
        _reject_backticks(sql)
    try:
        trees = [t for t in sqlglot.parse(sql, read=AthenaSql) if t is not None]
    except ParseError as err:
        first = err.errors[0] if err.errors else {}
        where = f"line {first.get('line')}:{first.get('col')}: " if first else ""
        reason = first.get("description") or str(err).splitlines()[0]
        raise AthenaSqlError(f"SYNTAX_ERROR: {where}{reason}") from None
    if len(trees) != 1:
        raise AthenaSqlError(f"SYNTAX_ERROR: expected exactly one statement, got {len(trees)}")
    tree = trees[0]
    _reject_outside_athena(sql, tree)
    _reject_reserved(tree)
    if isinstance(tree, exp.Query):
        return Query(tree)
    if isinstance(tree, exp.Create) and tree.kind == "TABLE" and tree.expression is not None:
        props = _ctas_properties(tree)
        data_format = props.values.get("format", "parquet").lower()
        count = props.values.get("bucket_count")
        if props.bucketed_by and not (count and count.isdigit() and int(count) > 0):
            raise AthenaSqlError(
                "INVALID_TABLE_PROPERTY: bucket_count must be a positive integer with bucketed_by"
            )
        return CreateTableAs(
            table=table_ref(tree.this),
            query=tree.expression,
            data_format=data_format,
            location=props.values.get("external_location"),
            partitioned_by=props.partitioned_by,
            if_not_exists=bool(tree.args.get("exists")),
            with_data=props.with_data,
            bucketed_by=props.bucketed_by,
            bucket_count=int(count) if count else None,
            properties=dict(props.values),
        )
    if isinstance(tree, exp.Create) and tree.kind == "VIEW":
        found = re.search(r"\bAS\b\s*(.*)$", sql.strip().rstrip(";"), re.I | re.S)
        original = found.group(1) if found else tree.expression.sql(dialect=AthenaSql)
        return CreateView(
            table_ref(tree.this), tree.expression, bool(tree.args.get("replace")), original
        )
    if isinstance(tree, exp.Insert) and isinstance(tree.this, exp.Table | exp.Schema):
        if tree.args.get("overwrite"):
            raise AthenaSqlError("NOT_SUPPORTED: INSERT OVERWRITE is not supported by Athena")
        if isinstance(tree.this, exp.Schema):
            names = [e.name.lower() for e in tree.this.expressions]
            return InsertInto(table_ref(tree.this.this), tree.expression, names)
        return InsertInto(table_ref(tree.this), tree.expression)
    if isinstance(tree, exp.Drop) and tree.kind in ("TABLE", "VIEW"):
        dropped = (tree.args.get("tables") or [tree.this])[0]
        return DropTable(table_ref(dropped), bool(tree.args.get("exists")), tree.kind == "VIEW")
    raise AthenaSqlError(f"NOT_SUPPORTED: unsupported statement: {sql.strip().split(None, 2)[:2]}")


def referenced_tables(tree: exp.Expression) -> list[exp.Table]:
    """Table nodes that name catalog tables (not CTEs, not table functions)."""
    cte_names = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    tables = []
    for table in tree.find_all(exp.Table):
        if not isinstance(table.this, exp.Identifier):
            continue
        if not table.db and table.name.lower() in cte_names:
            continue
        tables.append(table)
    return tables


def name_output_columns(tree: exp.Expression) -> exp.Expression:
    """Trino names an unaliased computed output column `_col<position>`; DuckDB names it after
    the expression text."""
    tree = tree.copy()
    select = tree if isinstance(tree, exp.Select) else None
    for position, projection in enumerate(select.expressions if select else []):
        if not isinstance(projection, exp.Alias | exp.Column | exp.Star):
            projection.replace(exp.alias_(projection.copy(), f"_col{position}"))
    return tree


def to_duckdb(tree: exp.Expression) -> str:
    """DuckDB text of an Athena query; catalog prefixes dropped (databases are DuckDB schemas)."""
    tree = name_output_columns(tree)
    for table in referenced_tables(tree):
        table.set("catalog", None)
        table.set("db", exp.to_identifier(table.db.lower()) if table.db else None)
        table.set("this", exp.to_identifier(table.name.lower()))
    return tree.sql(dialect="duckdb")


def partition_filters(
    tree: exp.Expression, table: exp.Table, partition_keys: list[str]
) -> list[str]:
    """DuckDB text of partition_conjuncts (sqlglot's translation; the engine translates them with
    Trino's semantics)."""
    return [c.sql(dialect="duckdb") for c in partition_conjuncts(tree, table, partition_keys)]


def partition_conjuncts(
    tree: exp.Expression, table: exp.Table, partition_keys: list[str]
) -> list[exp.Expression]:
    """Predicates over partition keys only (columns unqualified), taken from the WHERE of the
    single-table SELECT that reads `table` (AND-ed conjuncts); [] when pruning would not be
    safe."""
    select = table.parent_select
    if select is None or select.args.get("joins") or select.args.get("where") is None:
        return []
    source = select.args.get("from_") or select.args.get("from")
    if source is None or source.this is not table:
        return []
    names = {table.name.lower(), table.alias_or_name.lower()}
    keys = {k.lower() for k in partition_keys}
    kept = []
    for conjunct in (
        select.args["where"].this.flatten()
        if isinstance(select.args["where"].this, exp.And)
        else [select.args["where"].this]
    ):
        columns = list(conjunct.find_all(exp.Column))
        if not columns or conjunct.find(exp.Subquery, exp.Select):
            continue
        if all(
            c.name.lower() in keys and (not c.table or c.table.lower() in names) for c in columns
        ):
            bare = conjunct.copy()
            for column in bare.find_all(exp.Column):
                column.set("table", None)
            kept.append(bare)
    return kept


def path_values(table: exp.Table) -> frozenset[str] | None:
    """The files a single-table SELECT's WHERE limits `table` to with `"$path" = '...'` or
    `"$path" IN (...)` conjuncts (Trino skips every other file unread, so Athena does not bill
    them); None when it names none."""
    select = table.parent_select
    if select is None or select.args.get("joins") or select.args.get("where") is None:
        return None
    source = select.args.get("from_") or select.args.get("from")
    if source is None or source.this is not table:
        return None
    names = {table.name.lower(), table.alias_or_name.lower()}
    where = select.args["where"].this
    found: frozenset[str] | None = None
    for conjunct in where.flatten() if isinstance(where, exp.And) else [where]:
        if isinstance(conjunct, exp.EQ):
            column, values = conjunct.this, [conjunct.expression]
        elif isinstance(conjunct, exp.In) and not conjunct.args.get("query"):
            column, values = conjunct.this, conjunct.expressions
        else:
            continue
        if not (
            isinstance(column, exp.Column)
            and column.name == "$path"
            and (not column.table or column.table.lower() in names)
            and values
            and all(isinstance(v, exp.Literal) and v.is_string for v in values)
        ):
            continue
        listed = frozenset(v.this for v in values)
        found = listed if found is None else found & listed
    return found


def encode_identifier(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql(dialect="duckdb")
