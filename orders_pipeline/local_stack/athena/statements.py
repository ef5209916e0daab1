"""Athena's utility statements, parsed: DESCRIBE, SHOW CREATE TABLE / PARTITIONS / COLUMNS /
DATABASES, EXPLAIN, UNLOAD, PREPARE / EXECUTE / DEALLOCATE, and `?` execution parameters. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import sqlglot
from sqlglot.tokens import TokenType

from orders_pipeline.local_stack.athena.dialect import AthenaSql
from orders_pipeline.local_stack.athena.errors import AthenaError

_NAME = r"(?:`[^`]+`|\"[^\"]+\"|[\w$]+)"
_TABLE = rf"({_NAME}(?:\s*\.\s*{_NAME}){{0,2}})"
_STRING = r"'(?:[^']|'')*'"


@dataclass(frozen=True)
class Describe:
    table: str  # the name as written: sql.table_ref_text() reads it
    extended: bool = False


@dataclass(frozen=True)
class ShowCreateTable:
    table: str
    view: bool = False


@dataclass(frozen=True)
class ShowPartitions:
    table: str


@dataclass(frozen=True)
class ShowColumns:
    table: str
    database: str | None = None


@dataclass(frozen=True)
class ShowDatabases:
    pattern: str | None = None


@dataclass(frozen=True)
class Explain:
    statement: str
    kind: str = "LOGICAL"  # LOGICAL, DISTRIBUTED, VALIDATE, IO
    analyze: bool = False


@dataclass(frozen=True)
class Unload:
    query: str
    location: str
    properties: dict[str, str] = field(default_factory=dict)
    partitioned_by: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Prepare:
    name: str
    statement: str


@dataclass(frozen=True)
class Execute:
    name: str
    parameters: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Deallocate:
    name: str


Utility = (
    Describe | ShowCreateTable | ShowPartitions | ShowColumns | ShowDatabases | Explain | Unload
    | Prepare | Execute | Deallocate
)  # fmt: skip


def unquote(name: str) -> str:
    name = name.strip()
    if name[:1] in '`"' and name[-1:] == name[:1]:
        return name[1:-1]
    return name.lower()


def string_value(literal: str) -> str:
    return literal[1:-1].replace("''", "'")


def _matching_paren(text: str, start: int) -> int:
    """Index of the parenthesis closing the one at `start` (strings and quotes skipped)."""
    depth, i = 0, start
    quote: str | None = None
    while i < len(text):
        ch = text[i]
        if quote:
            if ch == quote:
                if i + 1 < len(text) and text[i + 1] == quote:
                    i += 1
                else:
                    quote = None
        elif ch in "'\"`":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise AthenaError("SYNTAX_ERROR", "mismatched parentheses")


def _properties(text: str) -> tuple[dict[str, str], list[str]]:
    """`format = 'PARQUET', partitioned_by = ARRAY['dt']` -> values and the partition columns."""
    values: dict[str, str] = {}
    partitioned: list[str] = []
    for m in re.finditer(rf"(\w+)\s*=\s*({_STRING}|ARRAY\s*\[[^\]]*\]|[\w.]+)", text, re.I):
        key, value = m.group(1).lower(), m.group(2)
        if key == "partitioned_by":
            partitioned = [string_value(v).lower() for v in re.findall(_STRING, value)]
        elif value.startswith("'"):
            values[key] = string_value(value)
        else:
            values[key] = value
    return values, partitioned


def parse_utility(sql: str) -> Utility | None:
    text = sql.strip().rstrip(";").strip()
    if m := re.fullmatch(
        rf"(?:DESCRIBE|DESC)\s+(EXTENDED\s+|FORMATTED\s+)?{_TABLE}", text, re.I | re.S
    ):
        return Describe(m.group(2), bool(m.group(1)))
    if m := re.fullmatch(rf"SHOW\s+CREATE\s+(TABLE|VIEW)\s+{_TABLE}", text, re.I):
        return ShowCreateTable(m.group(2), m.group(1).upper() == "VIEW")
    if m := re.fullmatch(rf"SHOW\s+PARTITIONS\s+{_TABLE}", text, re.I):
        return ShowPartitions(m.group(1))
    if m := re.fullmatch(
        rf"SHOW\s+COLUMNS\s+(?:IN|FROM)\s+{_TABLE}(?:\s+(?:IN|FROM)\s+({_NAME}))?", text, re.I
    ):
        return ShowColumns(m.group(1), unquote(m.group(2)) if m.group(2) else None)
    if m := re.fullmatch(
        rf"SHOW\s+(?:DATABASES|SCHEMAS)(?:\s+(?:LIKE\s+)?({_STRING}))?", text, re.I
    ):
        return ShowDatabases(string_value(m.group(1)) if m.group(1) else None)
    if m := re.match(r"EXPLAIN\s+(ANALYZE\s+)?(?:(VERBOSE)\s+)?(\(([^)]*)\)\s*)?", text, re.I):
        options = m.group(4) or ""
        kind = re.search(r"TYPE\s+(\w+)", options, re.I)
        rest = text[m.end() :]
        if rest:
            return Explain(rest, kind.group(1).upper() if kind else "LOGICAL", bool(m.group(1)))
    if m := re.match(r"UNLOAD\s*\(", text, re.I):
        start = m.end() - 1
        end = _matching_paren(text, start)
        query = text[start + 1 : end]
        after = re.fullmatch(
            rf"\s*TO\s+({_STRING})\s*(?:WITH\s*\((.*)\))?\s*", text[end + 1 :], re.I | re.S
        )
        if after is None:
            raise AthenaError("SYNTAX_ERROR", "UNLOAD (query) TO 's3://...' WITH (...) expected")
        values, partitioned = _properties(after.group(2) or "")
        return Unload(query, string_value(after.group(1)), values, partitioned)
    if m := re.fullmatch(rf"PREPARE\s+({_NAME})\s+FROM\s+(.+)", text, re.I | re.S):
        return Prepare(unquote(m.group(1)), m.group(2))
    if m := re.fullmatch(rf"EXECUTE\s+({_NAME})(?:\s+USING\s+(.+))?", text, re.I | re.S):
        return Execute(unquote(m.group(1)), split_arguments(m.group(2)) if m.group(2) else [])
    if m := re.fullmatch(rf"DEALLOCATE\s+PREPARE\s+({_NAME})", text, re.I):
        return Deallocate(unquote(m.group(1)))
    return None


def split_arguments(text: str) -> list[str]:
    """`1, 'a,b', ARRAY[1, 2]`: the top-level comma-separated expressions."""
    parts, depth, current, quote = [], 0, [], None
    for ch in text:
        if quote:
            current.append(ch)
            if ch == quote:
                quote = None
            continue
        if ch in "'\"":
            quote = ch
        elif ch in "([":
            depth += 1
        elif ch in ")]":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append("".join(current).strip())
            current = []
            continue
        current.append(ch)
    if "".join(current).strip():
        parts.append("".join(current).strip())
    return parts


def bind_parameters(sql: str, parameters: list[str]) -> str:
    """The statement with each `?` replaced, in order, by a parameter's SQL text (Athena's
    ExecutionParameters and EXECUTE ... USING)."""
    tokens = [
        t for t in sqlglot.tokenize(sql, dialect=AthenaSql) if t.token_type == TokenType.PLACEHOLDER
    ]
    if len(tokens) != len(parameters):
        raise AthenaError(
            "INVALID_PARAMETER_USAGE",
            f"Incorrect number of parameters: expected {len(tokens)} but found {len(parameters)}",
        )
    if not tokens:
        return sql
    lines = sql.split("\n")
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)
    out, last = [], 0
    for token, parameter in zip(tokens, parameters, strict=True):
        position = (
            token.start if hasattr(token, "start") else offsets[token.line - 1] + token.col - 1
        )
        out.append(sql[last:position])
        out.append(parameter)
        last = position + 1
    out.append(sql[last:])
    return "".join(out)
