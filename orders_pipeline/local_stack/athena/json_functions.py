"""JSON functions: parse and format canonically, extract with JSON paths (a scalar extract of an
array is NULL), sizes, array access (Python helpers)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from orders_pipeline.local_stack.athena import casts
from orders_pipeline.local_stack.athena import types as ty
from orders_pipeline.local_stack.athena.functions import (
    Call,
    scalar,
)
from orders_pipeline.local_stack.athena.typed import Typed

if TYPE_CHECKING:
    pass


# --- JSON -------------------------------------------------------------------------------------


def _json_text(c: Call, index: int) -> str:
    value = c.args[index]
    if value.type.name == "json" or value.type.is_string or value.type.is_unknown:
        return f"CAST({value.sql} AS VARCHAR)"
    raise c.mismatch()


@scalar("json_parse")
def _json_parse(c: Call) -> Typed:
    c.arity(1)
    c.need("json_parse")
    return Typed(f"__t_json_parse({c.string(0)})", ty.JSON)


@scalar("json_format")
def _json_format(c: Call) -> Typed:
    c.arity(1)
    c.kind(0, "json")
    c.need("json_format")
    return Typed(f"__t_json_format(CAST({c.args[0].sql} AS VARCHAR))", ty.VARCHAR)


@scalar("json_extract")
def _json_extract(c: Call) -> Typed:
    c.arity(2)
    c.need("json_extract")
    return Typed(f"__t_json_extract({_json_text(c, 0)}, {c.string(1)})", ty.JSON)


@scalar("json_extract_scalar")
def _json_extract_scalar(c: Call) -> Typed:
    c.arity(2)
    c.need("json_extract_scalar")
    return Typed(f"__t_json_extract_scalar({_json_text(c, 0)}, {c.string(1)})", ty.VARCHAR)


@scalar("json_size")
def _json_size(c: Call) -> Typed:
    c.arity(2)
    c.need("json_size")
    return Typed(f"__t_json_size({_json_text(c, 0)}, {c.string(1)})", ty.BIGINT)


@scalar("json_array_get")
def _json_array_get(c: Call) -> Typed:
    c.arity(2)
    c.need("json_array_get")
    return Typed(f"__t_json_array_get({_json_text(c, 0)}, {c.coerce(1, ty.BIGINT)})", ty.JSON)


@scalar("json_array_length")
def _json_array_length(c: Call) -> Typed:
    c.arity(1)
    c.need("json_array_length")
    return Typed(f"__t_json_array_length({_json_text(c, 0)})", ty.BIGINT)


@scalar("json_array_contains")
def _json_array_contains(c: Call) -> Typed:
    c.arity(2)
    value = c.args[1]
    if value.type.name not in ("boolean", "varchar", "bigint", "integer", "double") and not (
        value.type.is_exact or value.type.is_string
    ):
        raise c.mismatch()
    needle = casts.cast(c.t, value, ty.JSON, c.node).sql
    c.need("json_array_contains")
    return Typed(
        f"__t_json_array_contains({_json_text(c, 0)}, CAST({needle} AS VARCHAR))", ty.BOOLEAN
    )


@scalar("is_json_scalar")
def _is_json_scalar(c: Call) -> Typed:
    c.arity(1)
    c.need("is_json_scalar")
    return Typed(f"__t_is_json_scalar({_json_text(c, 0)})", ty.BOOLEAN)
