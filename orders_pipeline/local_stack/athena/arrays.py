"""Array and map functions, lambdas included: Trino's NULL rules (contains, array_max), subscripts,
sequences, zip, sorting with a comparator, map construction and transforms."""

from __future__ import annotations

from typing import TYPE_CHECKING

from orders_pipeline.local_stack.athena import casts
from orders_pipeline.local_stack.athena import types as ty
from orders_pipeline.local_stack.athena.functions import (
    Call,
    apply_lambda,
    apply_lambda2,
    scalar,
)
from orders_pipeline.local_stack.athena.typed import Typed, quote
from orders_pipeline.local_stack.athena.types import T

if TYPE_CHECKING:
    pass


# --- arrays -----------------------------------------------------------------------------------


def _array(c: Call, index: int) -> Typed:
    value = c.args[index]
    if value.type.is_unknown:
        return Typed("CAST(NULL AS INTEGER[])", ty.array(ty.UNKNOWN))
    if value.type.name != "array":
        raise c.mismatch()
    return value


@scalar("cardinality")
def _cardinality(c: Call) -> Typed:
    c.arity(1)
    value = c.args[0]
    if value.type.name == "map":
        return Typed(f"CAST(cardinality({value.sql}) AS BIGINT)", ty.BIGINT)
    return Typed(f"CAST(len({_array(c, 0).sql}) AS BIGINT)", ty.BIGINT)


@scalar("contains")
def _contains(c: Call) -> Typed:
    c.arity(2)
    array = _array(c, 0)
    common = ty.common_super_type(array.type.element, c.args[1].type)
    if common is None:
        raise c.mismatch()
    items = c.t.expressions.coerce(array, ty.array(common), c.node).sql
    value = c.coerce(1, common)
    # Trino: NULL when the element is not found and the array holds a NULL.
    return Typed(
        f"(CASE WHEN {value} IS NULL THEN NULL WHEN list_contains({items}, {value}) THEN TRUE "
        f"WHEN list_contains(list_transform({items}, lambda x: x IS NULL), TRUE) THEN NULL "
        f"ELSE FALSE END)",
        ty.BOOLEAN,
    )


@scalar("element_at")
def _element_at(c: Call) -> Typed:
    c.arity(2)
    value = c.args[0]
    if value.type.name == "map":
        key = c.coerce(1, value.type.key)
        return Typed(f"{value.sql}[{key}]", value.type.value)
    array = _array(c, 0)
    index = c.coerce(1, ty.BIGINT)
    c.need("element_at")
    return Typed(f"__t_element_at({array.sql}, {index})", array.type.element)


@scalar("array_join")
def _array_join(c: Call) -> Typed:
    c.arity(2, 3)
    array = _array(c, 0)
    separator = c.string(1)
    element = array.type.element
    name = c.t.fresh("l")
    text = (
        casts.cast(c.t, Typed(name, element), ty.VARCHAR, c.node).sql
        if not (element.is_string)
        else name
    )
    items = f"list_transform({array.sql}, lambda {name}: {text})"
    if len(c.raw) == 3:
        null = c.string(2)
        other = c.t.fresh("l")
        items = f"list_transform({items}, lambda {other}: coalesce({other}, {null}))"
    return Typed(f"array_to_string({items}, {separator})", ty.VARCHAR)


@scalar("flatten")
def _flatten(c: Call) -> Typed:
    c.arity(1)
    array = _array(c, 0)
    if array.type.element.name != "array":
        raise c.mismatch()
    return Typed(f"flatten({array.sql})", array.type.element)


@scalar("filter")
def _filter(c: Call) -> Typed:
    c.arity(2)
    array = _array(c, 0)
    function, body = c.lambda_(1, [array.type.element])
    if body.type.name not in ("boolean", "unknown"):
        raise c.mismatch()
    return Typed(f"list_filter({array.sql}, {function})", array.type)


@scalar("transform")
def _transform(c: Call) -> Typed:
    c.arity(2)
    array = _array(c, 0)
    function, body = c.lambda_(1, [array.type.element])
    return Typed(f"list_transform({array.sql}, {function})", ty.array(body.type))


@scalar("any_match", "all_match", "none_match")
def _match(c: Call) -> Typed:
    c.arity(2)
    array = _array(c, 0)
    function, body = c.lambda_(1, [array.type.element])
    results = f"list_transform({array.sql}, {function})"
    has_null = f"list_contains(list_transform({results}, lambda x: x IS NULL), TRUE)"
    # Trino's three-valued answers: a NULL predicate result decides only when nothing else does.
    decisive, answer = {"any_match": ("TRUE", "TRUE"), "all_match": ("FALSE", "FALSE")}.get(
        c.name, ("TRUE", "FALSE")
    )
    otherwise = "FALSE" if c.name == "any_match" else "TRUE"
    text = (
        f"(CASE WHEN list_contains({results}, {decisive}) THEN {answer} "
        f"WHEN {has_null} THEN NULL ELSE {otherwise} END)"
    )
    return Typed(text, ty.BOOLEAN)


@scalar("reduce")
def _reduce(c: Call) -> Typed:
    c.arity(4)
    array = _array(c, 0)
    initial = c.t.expr(c.raw[1], c.scope)
    state_type = initial.type
    function, body = c.lambda_(2, [state_type, array.type.element])
    if body.type != state_type:
        common = ty.common_super_type(state_type, body.type)
        if common is None:
            raise c.mismatch()
        state_type = common
        initial = c.t.expressions.coerce(initial, state_type, c.node)
        function, body = c.lambda_(2, [state_type, array.type.element])
        if body.type != state_type:
            function = _coerced_lambda(c, function, body, state_type)
    output, result = c.lambda_(3, [state_type])
    # DuckDB's list_reduce takes (accumulator, element) and an initial value.
    return Typed(
        f"({apply_lambda(output, f'list_reduce({array.sql}, {function}, {initial.sql})')})",
        result.type,
    )


def _coerced_lambda(c: Call, function: str, body: Typed, target: T) -> str:
    params, text = function[len("lambda ") :].split(": ", 1)
    cast = c.t.expressions.coerce(Typed(text, body.type), target, c.node).sql
    return f"lambda {params}: {cast}"


@scalar("array_sort")
def _array_sort(c: Call) -> Typed:
    c.arity(1, 2)
    array = _array(c, 0)
    if len(c.raw) == 1:
        if not ty.orderable(array.type.element):
            raise c.mismatch()
        return Typed(f"list_sort({array.sql}, 'ASC', 'NULLS LAST')", array.type)
    function, body = c.lambda_(1, [array.type.element, array.type.element])
    if not body.type.is_integer:
        raise c.mismatch()
    params, text = function[len("lambda ") :].split(": ", 1)
    x, y = (p.strip() for p in params.split(","))
    return Typed(_comparator_sort(c, array, x, y, text), array.type)


def _comparator_sort(c: Call, array: Typed, x: str, y: str, body: str) -> str:
    """Sort with a comparator: each element's position is how many elements compare below it
    (a stable insertion order for ties)."""
    i, j = c.t.fresh("l"), c.t.fresh("l")
    a = array.sql
    cmp = body.replace(x, f"{a}[{i}]").replace(y, f"{a}[{j}]")
    position = (
        f"len(list_filter(range(1, len({a}) + 1), lambda {j}: ({cmp}) > 0 "
        f"OR (({cmp}) = 0 AND {j} < {i})))"
    )
    k = c.t.fresh("l")
    pairs = f"list_transform(range(1, len({a}) + 1), lambda {i}: [{position}, {i}])"
    return f"list_transform(list_sort({pairs}), lambda {k}: {a}[{k}[2]])"


@scalar("array_distinct")
def _array_distinct(c: Call) -> Typed:
    c.arity(1)
    array = _array(c, 0)
    return Typed(ordered_distinct(c, array.sql), array.type)


def ordered_distinct(c: Call, a: str) -> str:
    """First occurrences, in order, one NULL kept (DuckDB's list_distinct drops NULL and
    reorders)."""
    i = c.t.fresh("l")
    return (
        f"list_transform(list_filter(range(1, len({a}) + 1), lambda {i}: "
        f"list_position({a}, {a}[{i}]) = {i} OR ({a}[{i}] IS NULL AND "
        f"list_position(list_transform({a}, lambda x: x IS NULL), TRUE) = {i})), lambda "
        f"{i}: {a}[{i}])"
    )


def _member(c: Call, b: str, x: str) -> str:
    """x is an element of array b, NULL included (true or false, never NULL)."""
    has_null = f"list_contains(list_transform({b}, lambda y: y IS NULL), TRUE)"
    return (
        f"(CASE WHEN {x} IS NULL THEN {has_null} ELSE coalesce(list_contains({b}, {x}), FALSE) END)"
    )


def _two_arrays(c: Call) -> tuple[str, str, T]:
    c.arity(2)
    a, b = _array(c, 0), _array(c, 1)
    common = ty.common_super_type(a.type, b.type)
    if common is None:
        raise c.mismatch()
    return (
        c.t.expressions.coerce(a, common, c.node).sql,
        c.t.expressions.coerce(b, common, c.node).sql,
        common,
    )


@scalar("array_intersect")
def _array_intersect(c: Call) -> Typed:
    a, b, t = _two_arrays(c)
    x = c.t.fresh("l")
    return Typed(ordered_distinct(c, f"list_filter({a}, lambda {x}: {_member(c, b, x)})"), t)


@scalar("array_union")
def _array_union(c: Call) -> Typed:
    a, b, t = _two_arrays(c)
    return Typed(ordered_distinct(c, f"list_concat({a}, {b})"), t)


@scalar("array_except")
def _array_except(c: Call) -> Typed:
    a, b, t = _two_arrays(c)
    x = c.t.fresh("l")
    return Typed(ordered_distinct(c, f"list_filter({a}, lambda {x}: NOT {_member(c, b, x)})"), t)


@scalar("arrays_overlap")
def _arrays_overlap(c: Call) -> Typed:
    a, b, _ = _two_arrays(c)
    return Typed(f"(len(list_intersect({a}, {b})) > 0)", ty.BOOLEAN)


@scalar("array_max", "array_min")
def _array_max(c: Call) -> Typed:
    c.arity(1)
    array = _array(c, 0)
    function = "list_max" if c.name == "array_max" else "list_min"
    # Trino: NULL if any element is NULL.
    x = c.t.fresh("l")
    return Typed(
        f"(CASE WHEN list_contains(list_transform({array.sql}, lambda {x}: {x} IS NULL), TRUE) "
        f"THEN NULL ELSE {function}({array.sql}) END)",
        array.type.element,
    )


@scalar("array_position")
def _array_position(c: Call) -> Typed:
    c.arity(2)
    array = _array(c, 0)
    value = c.coerce(1, array.type.element)
    return Typed(f"CAST(coalesce(list_position({array.sql}, {value}), 0) AS BIGINT)", ty.BIGINT)


@scalar("array_remove")
def _array_remove(c: Call) -> Typed:
    c.arity(2)
    array = _array(c, 0)
    value = c.coerce(1, array.type.element)
    x = c.t.fresh("l")
    return Typed(f"list_filter({array.sql}, lambda {x}: {x} <> {value} OR {x} IS NULL)", array.type)


@scalar("slice")
def _slice(c: Call) -> Typed:
    c.arity(3)
    array = _array(c, 0)
    start, length = c.coerce(1, ty.BIGINT), c.coerce(2, ty.BIGINT)
    a = array.sql
    begin = f"(CASE WHEN {start} > 0 THEN {start} ELSE len({a}) + {start} + 1 END)"
    c.need("check")
    return Typed(
        f"(CASE WHEN __t_check({start} = 0, "
        f"'INVALID_FUNCTION_ARGUMENT: SQL array indices start at 1') THEN NULL "
        f"WHEN {begin} < 1 THEN [] ELSE {a}[{begin}:{begin} + {length} - 1] END)",
        array.type,
    )


@scalar("trim_array")
def _trim_array(c: Call) -> Typed:
    c.arity(2)
    array = _array(c, 0)
    n = c.coerce(1, ty.BIGINT)
    return Typed(f"{array.sql}[1:len({array.sql}) - {n}]", array.type)


@scalar("contains_sequence")
def _contains_sequence(c: Call) -> Typed:
    a, b, _ = _two_arrays(c)
    i = c.t.fresh("l")
    return Typed(
        f"(len({b}) = 0 OR len(list_filter(range(1, len({a}) - len({b}) + 2), "
        f"lambda {i}: {a}[{i}:{i} + len({b}) - 1] = {b})) > 0)",
        ty.BOOLEAN,
    )


@scalar("repeat")
def _repeat(c: Call) -> Typed:
    c.arity(2)
    value = c.args[0]
    count = c.coerce(1, ty.BIGINT)
    x = c.t.fresh("l")
    c.need("check")
    refused = (
        f"__t_check({count} < 0, 'INVALID_FUNCTION_ARGUMENT: count argument of repeat "
        f"function must be greater than or equal to 0')"
    )
    items = f"list_transform(range({count}), lambda {x}: {value.sql})"
    return Typed(f"(CASE WHEN {refused} THEN NULL ELSE {items} END)", ty.array(value.type))


_WRONG_WAY = (
    "'INVALID_FUNCTION_ARGUMENT: sequence stop value should be greater than or equal to start "
    "value if step is greater than zero otherwise stop should be less than or equal to start'"
)


def _checked_sequence(c: Call, a: str, b: str, step: str, positive: str, zero: str, body: str):
    """Trino refuses a zero step and a step going away from the stop (DuckDB gives [])."""
    c.need("check")
    refused = (
        f"__t_check({zero}, 'INVALID_FUNCTION_ARGUMENT: step must not be zero') OR "
        f"__t_check(({positive} AND {a} > {b}) OR (NOT ({positive}) AND {a} < {b}), {_WRONG_WAY})"
    )
    return f"(CASE WHEN {refused} THEN NULL ELSE {body} END)"


@scalar("sequence")
def _sequence(c: Call) -> Typed:
    c.arity(2, 3)
    start, stop = c.args[0], c.args[1]
    if start.type.is_integer and stop.type.is_integer:
        a, b = c.coerce(0, ty.BIGINT), c.coerce(1, ty.BIGINT)
        if len(c.raw) == 2:
            step = f"(CASE WHEN {a} <= {b} THEN 1 ELSE -1 END)"
            return Typed(f"generate_series({a}, {b}, {step})", ty.array(ty.BIGINT))
        step = c.coerce(2, ty.BIGINT)
        body = f"generate_series({a}, {b}, {step})"
        text = _checked_sequence(c, a, b, step, f"{step} > 0", f"{step} = 0", body)
        return Typed(text, ty.array(ty.BIGINT))
    kinds = {start.type.name, stop.type.name}
    if kinds <= {"date", "timestamp"} and (len(c.raw) == 3 or kinds == {"date"}):
        a, b = f"CAST({start.sql} AS TIMESTAMP)", f"CAST({stop.sql} AS TIMESTAMP)"
        if len(c.raw) == 2:
            step = f"(CASE WHEN {a} <= {b} THEN to_days(1) ELSE to_days(-1) END)"
            body = f"generate_series({a}, {b}, {step})"
        else:
            step = c.kind(2, ty.DAY_SECOND, ty.YEAR_MONTH).sql
            body = _checked_sequence(
                c, a, b, step, f"{a} + {step} > {a}", f"{a} + {step} = {a}",
                f"generate_series({a}, {b}, {step})",
            )  # fmt: skip
        if kinds == {"date"}:
            x = c.t.fresh("l")
            return Typed(
                f"list_transform({body}, lambda {x}: CAST({x} AS DATE))", ty.array(ty.DATE)
            )
        precision = max(t.precision for t in (start.type, stop.type) if t.name == "timestamp")
        return Typed(body, ty.array(ty.timestamp(precision)))
    raise c.mismatch()


@scalar("zip")
def _zip(c: Call) -> Typed:
    if len(c.raw) < 2:
        raise c.mismatch()
    arrays = [_array(c, i) for i in range(len(c.raw))]
    fields = [(f"field{i}", a.type.element) for i, a in enumerate(arrays)]
    i = c.t.fresh("l")
    longest = "greatest(" + ", ".join(f"len({a.sql})" for a in arrays) + ")"
    parts = ", ".join(f'"field{n}" := {a.sql}[{i}]' for n, a in enumerate(arrays))
    return Typed(
        f"list_transform(range(1, {longest} + 1), lambda {i}: struct_pack({parts}))",
        ty.array(ty.row([(None, t) for _, t in fields])),
    )


@scalar("zip_with")
def _zip_with(c: Call) -> Typed:
    c.arity(3)
    a, b = _array(c, 0), _array(c, 1)
    function, body = c.lambda_(2, [a.type.element, b.type.element])
    i = c.t.fresh("l")
    params, text = function[len("lambda ") :].split(": ", 1)
    x, y = (p.strip() for p in params.split(","))
    applied = text.replace(x, f"{a.sql}[{i}]").replace(y, f"{b.sql}[{i}]")
    return Typed(
        f"list_transform(range(1, greatest(len({a.sql}), len({b.sql})) + 1), lambda {i}: "
        f"{applied})",
        ty.array(body.type),
    )


@scalar("array_histogram")
def _array_histogram(c: Call) -> Typed:
    c.arity(1)
    array = _array(c, 0)
    x = c.t.fresh("l")
    element = array.type.element
    result = ty.map_of(element, ty.BIGINT)
    values = f"list_filter({array.sql}, lambda {x}: {x} IS NOT NULL)"
    y = c.t.fresh("l")
    keys = f"list_distinct({values})"
    return Typed(
        f"map_from_entries(list_transform({keys}, lambda {y}: struct_pack(key := {y}, value := "
        f"CAST(len(list_filter({values}, lambda {x}: {x} = {y})) AS BIGINT))))",
        result,
    )


# --- maps -------------------------------------------------------------------------------------


@scalar("map")
def _map(c: Call) -> Typed:
    if not c.raw:
        return Typed("MAP {}", ty.map_of(ty.UNKNOWN, ty.UNKNOWN))
    c.arity(2)
    keys, values = _array(c, 0), _array(c, 1)
    result = ty.map_of(keys.type.element, values.type.element)
    c.need("check")
    e = c.t.fresh("l")
    return Typed(
        f"map_from_entries(list_transform(list_zip({keys.sql}, {values.sql}), lambda {e}: "
        f"struct_pack(key := CASE WHEN __t_check(len({keys.sql}) <> len({values.sql}), "
        f"'INVALID_FUNCTION_ARGUMENT: Key and value arrays must be the same length') "
        f"OR __t_check(len(list_distinct({keys.sql})) <> len({keys.sql}), "
        f"'INVALID_FUNCTION_ARGUMENT: Duplicate map keys are not allowed') "
        f"THEN NULL ELSE {e}[1] END, value := {e}[2])))",
        result,
    )


@scalar("map_from_entries")
def _map_from_entries(c: Call) -> Typed:
    c.arity(1)
    array = _array(c, 0)
    element = array.type.element
    if element.name != "row" or len(element.fields) != 2:
        raise c.mismatch()
    (kf, kt), (vf, vt) = element.fields
    x = c.t.fresh("l")
    k, v = quote(ty.field_name(kf, 0)), quote(ty.field_name(vf, 1))
    return Typed(
        f"map_from_entries(list_transform({array.sql}, lambda {x}: "
        f"struct_pack(key := {x}.{k}, value := {x}.{v})))",
        ty.map_of(kt, vt),
    )


@scalar("multimap_from_entries")
def _multimap_from_entries(c: Call) -> Typed:
    c.arity(1)
    array = _array(c, 0)
    element = array.type.element
    if element.name != "row" or len(element.fields) != 2:
        raise c.mismatch()
    (kf, kt), (vf, vt) = element.fields
    k, v = quote(ty.field_name(kf, 0)), quote(ty.field_name(vf, 1))
    x, y, z = c.t.fresh("l"), c.t.fresh("l"), c.t.fresh("l")
    keys = f"list_distinct(list_transform({array.sql}, lambda {x}: {x}.{k}))"
    return Typed(
        f"map_from_entries(list_transform({keys}, lambda {y}: struct_pack(key := {y}, value := "
        f"list_transform(list_filter({array.sql}, lambda {z}: {z}.{k} = {y}), lambda {z}: "
        f"{z}.{v}))))",
        ty.map_of(kt, ty.array(vt)),
    )


def _map_arg(c: Call, index: int) -> Typed:
    value = c.args[index]
    if value.type.name != "map":
        raise c.mismatch()
    return value


@scalar("map_keys")
def _map_keys(c: Call) -> Typed:
    c.arity(1)
    m = _map_arg(c, 0)
    return Typed(f"map_keys({m.sql})", ty.array(m.type.key))


@scalar("map_values")
def _map_values(c: Call) -> Typed:
    c.arity(1)
    m = _map_arg(c, 0)
    return Typed(f"map_values({m.sql})", ty.array(m.type.value))


@scalar("map_entries")
def _map_entries(c: Call) -> Typed:
    c.arity(1)
    m = _map_arg(c, 0)
    x = c.t.fresh("l")
    return Typed(
        f"list_transform(map_entries({m.sql}), lambda {x}: struct_pack(field0 := {x}.key, "
        f"field1 := {x}.value))",
        ty.array(ty.row([(None, m.type.key), (None, m.type.value)])),
    )


@scalar("map_concat")
def _map_concat(c: Call) -> Typed:
    if len(c.raw) < 1:
        raise c.mismatch()
    maps = [_map_arg(c, i) for i in range(len(c.raw))]
    result = ty.common_of([m.type for m in maps], "map_concat arguments")
    parts = [c.t.expressions.coerce(m, result, c.node).sql for m in maps]
    return Typed(f"map_concat({', '.join(parts)})", result)


@scalar("map_filter")
def _map_filter(c: Call) -> Typed:
    c.arity(2)
    m = _map_arg(c, 0)
    function, body = c.lambda_(1, [m.type.key, m.type.value])
    e = c.t.fresh("l")
    applied = apply_lambda2(function, f"{e}.key", f"{e}.value")
    return Typed(
        f"map_from_entries(list_filter(map_entries({m.sql}), lambda {e}: "
        f"coalesce({applied}, FALSE)))",
        m.type,
    )


@scalar("transform_keys", "transform_values")
def _transform_map(c: Call) -> Typed:
    c.arity(2)
    m = _map_arg(c, 0)
    function, body = c.lambda_(1, [m.type.key, m.type.value])
    e = c.t.fresh("l")
    applied = apply_lambda2(function, f"{e}.key", f"{e}.value")
    if c.name == "transform_keys":
        entry = f"struct_pack(key := {applied}, value := {e}.value)"
        result = ty.map_of(body.type, m.type.value)
    else:
        entry = f"struct_pack(key := {e}.key, value := {applied})"
        result = ty.map_of(m.type.key, body.type)
    return Typed(
        f"map_from_entries(list_transform(map_entries({m.sql}), lambda {e}: {entry}))", result
    )


@scalar("map_zip_with")
def _map_zip_with(c: Call) -> Typed:
    c.arity(3)
    a, b = _map_arg(c, 0), _map_arg(c, 1)
    if a.type.key != b.type.key and ty.common_super_type(a.type.key, b.type.key) is None:
        raise c.mismatch()
    function, body = c.lambda_(2, [a.type.key, a.type.value, b.type.value])
    params, text = function[len("lambda ") :].split(": ", 1)
    k, v1, v2 = (p.strip() for p in params.split(","))
    key = c.t.fresh("l")
    keys = f"list_distinct(list_concat(map_keys({a.sql}), map_keys({b.sql})))"
    applied = text.replace(v1, f"{a.sql}[{key}]").replace(v2, f"{b.sql}[{key}]").replace(k, key)
    return Typed(
        f"map_from_entries(list_transform({keys}, lambda {key}: struct_pack(key := {key}, "
        f"value := {applied})))",
        ty.map_of(a.type.key, body.type),
    )
