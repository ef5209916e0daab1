"""Athena's error kinds: the failure a query reports (`KIND: message`), and DuckDB's run-time
errors mapped onto them."""

from __future__ import annotations

import re

import duckdb

# A message that already starts with a kind (raised by our own checks inside DuckDB via error()).
_LEADING_KIND = re.compile(r"([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+): ")


class AthenaError(Exception):
    """A statement failure with Athena's error kind; str() is `KIND: message`."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


def _one_line(text: str) -> str:
    text = text.split("\n\nLINE ")[0]
    return " ".join(text.split())


def _without_prefix(text: str) -> str:
    """DuckDB's `Invalid Input Error: ...` without the class prefix."""
    return re.sub(r"^[A-Za-z ]+ Error: ", "", _one_line(text))


def from_duckdb(err: duckdb.Error) -> AthenaError:
    """The Athena kind of a DuckDB error raised while a translated query ran."""
    text = _without_prefix(str(err))
    found = _LEADING_KIND.search(text)
    if found:
        return AthenaError(found.group(1), text[found.end() :])
    lower = text.lower()
    if "division by zero" in lower:
        return AthenaError("DIVISION_BY_ZERO", "Division by zero")
    if isinstance(err, duckdb.ConversionException):
        return AthenaError("INVALID_CAST_ARGUMENT", text)
    if isinstance(err, duckdb.OutOfRangeException) or "overflow" in lower:
        return AthenaError("NUMERIC_VALUE_OUT_OF_RANGE", text)
    if isinstance(err, duckdb.ConversionException):
        return AthenaError("INVALID_CAST_ARGUMENT", text)
    if "must appear in the group by clause" in lower or "must be part of an aggregate" in lower:
        return AthenaError(
            "EXPRESSION_NOT_AGGREGATE",
            "a SELECT expression must be an aggregate or appear in GROUP BY",
        )
    if "malformed json" in lower:
        return AthenaError("INVALID_FUNCTION_ARGUMENT", text)
    if "out of memory" in lower or "could not allocate" in lower:
        return AthenaError("EXCEEDED_LOCAL_MEMORY_LIMIT", text)
    if isinstance(err, duckdb.InvalidInputException) and (
        "regex" in lower or "regular expression" in lower
    ):
        return AthenaError("INVALID_FUNCTION_ARGUMENT", text)
    return AthenaError("GENERIC_INTERNAL_ERROR", text)
