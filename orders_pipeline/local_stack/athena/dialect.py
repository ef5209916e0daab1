"""The SQL dialect queries are parsed in: Trino's grammar, with every function call kept as written
(an exp.Anonymous named as in the query) so the function table decides what exists."""

from __future__ import annotations

from typing import Any

from sqlglot import exp
from sqlglot.dialects.trino import Trino
from sqlglot.parsers.trino import TrinoParser

# Calls whose syntax is not a plain argument list (CAST(x AS t), TRIM(LEADING ...), ...).
_SPECIAL_SYNTAX = ("CAST", "TRY_CAST", "EXTRACT", "POSITION", "SUBSTRING", "TRIM", "LISTAGG")


def _typed_literal(parser: Any, this: exp.Expression, data_type: exp.DataType) -> exp.Expression:
    node = exp.Cast(this=this, to=data_type)
    node.meta["typed_literal"] = True
    return node


class _TypedLiterals(dict):
    """`DECIMAL '1.20'`, `TIMESTAMP '...'`, `JSON '...'`: a Cast marked as a literal (its type
    comes from the text, unlike CAST('1.20' AS DECIMAL))."""

    def get(self, key: Any, default: Any = None) -> Any:
        return _typed_literal


class AthenaSql(Trino):
    """Trino as Athena engine version 3 parses it; subscripts stay 1-based as written."""

    INDEX_OFFSET = 0

    class Parser(TrinoParser):
        FUNCTIONS: dict = {}
        FUNCTION_PARSERS = {
            k: v for k, v in TrinoParser.FUNCTION_PARSERS.items() if k in _SPECIAL_SYNTAX
        }
        TYPE_LITERAL_PARSERS = _TypedLiterals()
