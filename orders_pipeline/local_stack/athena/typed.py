"""A translated expression: its DuckDB text and its Trino type (plus the value, for literals)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from orders_pipeline.local_stack.athena.types import T

MISSING = object()


@dataclass(frozen=True)
class Typed:
    sql: str
    type: T
    value: Any = MISSING  # the Python value of a literal, when the expression is one

    @property
    def is_literal(self) -> bool:
        return self.value is not MISSING


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
