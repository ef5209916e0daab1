"""String functions (substr and split_part out of range, replace of '', Java String.format) and
regular expressions with Java's syntax (Python helpers)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlglot import exp

from orders_pipeline.local_stack.athena import casts
from orders_pipeline.local_stack.athena import types as ty
from orders_pipeline.local_stack.athena.functions import (
    Call,
    apply_lambda,
    fail,
    scalar,
    simple,
)
from orders_pipeline.local_stack.athena.typed import Typed, string

if TYPE_CHECKING:
    from orders_pipeline.local_stack.athena.translate import Scope, Translator


# --- strings ----------------------------------------------------------------------------------


def concat(t: Translator, args: list[Typed], node: exp.Expression) -> Typed:
    """`||` and concat(): strings (NULL if any is NULL), or arrays and elements."""
    if any(a.type.name == "array" for a in args):
        return _array_concat(t, args, node)
    for a in args:
        if not (a.type.is_string or a.type.is_unknown):
            raise fail(
                "TYPE_MISMATCH" if len(args) == 2 else "FUNCTION_NOT_FOUND",
                "Cannot apply operator: " + " || ".join(str(x.type) for x in args),
                node,
            )
    return Typed("(" + " || ".join(a.sql for a in args) + ")", ty.VARCHAR)


def _array_concat(t: Translator, args: list[Typed], node: exp.Expression) -> Typed:
    """Left to right: array || array of a common type, array || element, element || array."""
    result = args[0]
    for right in args[1:]:
        result = _concat_two(t, result, right, node)
    return result


def _concat_two(t: Translator, left: Typed, right: Typed, node: exp.Expression) -> Typed:
    coerce = t.expressions.coerce
    a, b = left.type, right.type
    if a.name == "array" and b.name == "array":
        common = ty.common_super_type(a, b)
        if common is not None:
            return Typed(
                f"list_concat({coerce(left, common, node).sql}, {coerce(right, common, node).sql})",
                common,
            )
    if b.name == "array" and ty.common_super_type(a, b.element) is not None:
        element = ty.common_super_type(a, b.element)
        common = ty.array(element)
        return Typed(
            f"list_prepend({coerce(left, element, node).sql}, {coerce(right, common, node).sql})",
            common,
        )
    if a.name == "array" and ty.common_super_type(b, a.element) is not None:
        element = ty.common_super_type(b, a.element)
        common = ty.array(element)
        return Typed(
            f"list_append({coerce(left, common, node).sql}, {coerce(right, element, node).sql})",
            common,
        )
    raise fail("TYPE_MISMATCH", f"Cannot apply operator: {a} || {b}", node)


@scalar("concat")
def _concat(c: Call) -> Typed:
    if len(c.raw) < 2:
        raise fail(
            "INVALID_FUNCTION_ARGUMENT", "There must be two or more concatenation arguments", c.node
        )
    return concat(c.t, c.args, c.node)


@scalar("concat_ws")
def _concat_ws(c: Call) -> Typed:
    if len(c.raw) < 2:
        raise c.mismatch()
    separator = c.string(0)
    if len(c.raw) == 2 and c.args[1].type.name == "array":
        items = c.kind(1, "array")
        if not (items.type.element.is_string or items.type.element.is_unknown):
            raise c.mismatch()
        return Typed(
            f"(CASE WHEN {separator} IS NULL THEN NULL ELSE "
            f"array_to_string(list_filter({items.sql}, lambda x: x IS NOT NULL), {separator}) END)",
            ty.VARCHAR,
        )
    parts = [c.string(i) for i in range(1, len(c.raw))]
    return Typed(f"concat_ws({separator}, {', '.join(parts)})", ty.VARCHAR)


simple("length", [ty.VARCHAR], ty.BIGINT, "length({0})")
# Java maps case one code point at a time ('ß' stays 'ß'); DuckDB's full Unicode mapping differs
# beyond ASCII, where the Python helper gives Java's answer.
simple(
    "lower", [ty.VARCHAR], ty.VARCHAR,
    "(CASE WHEN regexp_matches({0}, '^[\\x00-\\x7F]*$') THEN lower({0}) ELSE __t_lower({0}) END)",
    ("lower",),
)  # fmt: skip
simple(
    "upper", [ty.VARCHAR], ty.VARCHAR,
    "(CASE WHEN regexp_matches({0}, '^[\\x00-\\x7F]*$') THEN upper({0}) ELSE __t_upper({0}) END)",
    ("upper",),
)  # fmt: skip
simple("starts_with", [ty.VARCHAR, ty.VARCHAR], ty.BOOLEAN, "starts_with({0}, {1})")
simple("translate", [ty.VARCHAR, ty.VARCHAR, ty.VARCHAR], ty.VARCHAR, "translate({0}, {1}, {2})")
simple("chr", [ty.BIGINT], ty.varchar(1), "chr(CAST({0} AS INTEGER))")
simple("codepoint", [ty.VARCHAR], ty.INTEGER, "unicode({0})")
simple("levenshtein_distance", [ty.VARCHAR, ty.VARCHAR], ty.BIGINT, "levenshtein({0}, {1})")
simple(
    "hamming_distance",
    [ty.VARCHAR, ty.VARCHAR],
    ty.BIGINT,
    "__t_hamming_distance({0}, {1})",
    ("hamming_distance",),
)
simple("luhn_check", [ty.VARCHAR], ty.BOOLEAN, "__t_luhn_check({0})", ("luhn_check",))
simple("to_utf8", [ty.VARCHAR], ty.VARBINARY, "encode({0})")
simple("from_utf8", [ty.VARBINARY], ty.VARCHAR, "decode({0})")
simple(
    "lpad", [ty.VARCHAR, ty.BIGINT, ty.VARCHAR], ty.VARCHAR, "__t_lpad({0}, {1}, {2})", ("lpad",)
)
simple(
    "rpad", [ty.VARCHAR, ty.BIGINT, ty.VARCHAR], ty.VARCHAR, "__t_rpad({0}, {1}, {2})", ("rpad",)
)
simple(
    "split_part",
    [ty.VARCHAR, ty.VARCHAR, ty.BIGINT],
    ty.VARCHAR,
    "__t_split_part({0}, {1}, {2})",
    ("split_part",),
)
simple(
    "split_to_map",
    [ty.VARCHAR, ty.VARCHAR, ty.VARCHAR],
    ty.map_of(ty.VARCHAR, ty.VARCHAR),
    "__t_split_to_map({0}, {1}, {2})",
    ("split_to_map",),
)
simple("url_encode", [ty.VARCHAR], ty.VARCHAR, "__t_url_encode({0})", ("url_encode",))
simple("url_decode", [ty.VARCHAR], ty.VARCHAR, "__t_url_decode({0})", ("url_decode",))
simple("format_number", [ty.DOUBLE], ty.VARCHAR, "__t_format_number({0})", ("format_number",))
simple(
    "parse_data_size",
    [ty.VARCHAR],
    ty.decimal(38, 0),
    "CAST(__t_parse_data_size({0}) AS DECIMAL(38,0))",
    ("parse_data_size",),
)


# What trim() removes by default: Java's whitespace (Character.isWhitespace), not only spaces.
WHITESPACE = (
    "(' ' || chr(9) || chr(10) || chr(11) || chr(12) || chr(13) || chr(28) || chr(29) || "
    "chr(30) || chr(31) || chr(5760) || chr(8192) || chr(8193) || chr(8194) || chr(8195) || "
    "chr(8196) || chr(8197) || chr(8198) || chr(8200) || chr(8201) || chr(8202) || chr(8232) || "
    "chr(8233) || chr(8287) || chr(12288))"
)


@scalar("ltrim", "rtrim")
def _side_trim(c: Call) -> Typed:
    c.arity(1, 2)
    value = c.string(0)
    chars = c.string(1) if len(c.raw) == 2 else WHITESPACE
    return Typed(f"{c.name}({value}, {chars})", ty.VARCHAR)


def trim(t: Translator, node: exp.Trim, scope: Scope) -> Typed:
    c = Call(t, "trim", node, scope, [node.this] + ([node.expression] if node.expression else []))
    value = c.string(0)
    chars = c.string(1) if node.expression is not None else WHITESPACE
    side = (node.args.get("position") or "BOTH").upper()
    function = {"LEADING": "ltrim", "TRAILING": "rtrim", "BOTH": "trim"}[side]
    return Typed(f"{function}({value}, {chars})", ty.VARCHAR)


@scalar("trim")
def _trim(c: Call) -> Typed:
    c.arity(1, 2)
    value = c.string(0)
    chars = c.string(1) if len(c.raw) == 2 else WHITESPACE
    return Typed(f"trim({value}, {chars})", ty.VARCHAR)


@scalar("substr", "substring")
def _substr(c: Call) -> Typed:
    c.arity(2, 3)
    if c.args[0].type.name == "varbinary":
        raise c.mismatch()
    value = c.string(0)
    start = c.coerce(1, ty.BIGINT)
    length = c.coerce(2, ty.BIGINT) if len(c.raw) == 3 else "2147483647"
    c.need("substr")
    return Typed(f"__t_substr({value}, {start}, {length})", ty.VARCHAR)


@scalar("strpos")
def _strpos(c: Call) -> Typed:
    c.arity(2, 3)
    value, sub = c.string(0), c.string(1)
    if len(c.raw) == 3:
        c.need("strpos_instance")
        return Typed(f"__t_strpos_instance({value}, {sub}, {c.coerce(2, ty.BIGINT)})", ty.BIGINT)
    return Typed(f"strpos({value}, {sub})", ty.BIGINT)


@scalar("replace")
def _replace(c: Call) -> Typed:
    c.arity(2, 3)
    value, search = c.string(0), c.string(1)
    replacement = c.string(2) if len(c.raw) == 3 else "''"
    c.need("replace_all")
    return Typed(f"__t_replace_all({value}, {search}, {replacement})", ty.VARCHAR)


@scalar("reverse")
def _reverse(c: Call) -> Typed:
    c.arity(1)
    value = c.args[0]
    if value.type.name == "array":
        return Typed(f"list_reverse({value.sql})", value.type)
    return Typed(f"reverse({c.string(0)})", ty.VARCHAR)


@scalar("split")
def _split(c: Call) -> Typed:
    c.arity(2, 3)
    value, delimiter = c.string(0), c.string(1)
    if len(c.raw) == 3:
        c.need("split_limit")
        return Typed(
            f"__t_split_limit({value}, {delimiter}, {c.coerce(2, ty.BIGINT)})", ty.array(ty.VARCHAR)
        )
    c.need("split")
    return Typed(f"__t_split({value}, {delimiter})", ty.array(ty.VARCHAR))


@scalar("format")
def _format(c: Call) -> Typed:
    if not c.raw:
        raise c.mismatch()
    pattern = c.string(0)
    values, kinds = [], []
    for a in c.args[1:]:
        if a.type.name in ("array", "map", "row", "json", "timestamptz", "varbinary"):
            raise fail("NOT_SUPPORTED", f"format() of {a.type} is not supported", c.node)
        if a.type.name == "timestamp":
            text = f"strftime({a.sql}, '%Y-%m-%dT%H:%M:%S.%f')"
        else:
            text = casts.cast(c.t, a, ty.VARCHAR, c.node).sql
        values.append(text)
        kinds.append(string(a.type.name))
    c.need("format")
    return Typed(
        f"__t_format({pattern}, [{', '.join(values)}]::VARCHAR[], [{', '.join(kinds)}]::VARCHAR[])",
        ty.VARCHAR,
    )


# --- regular expressions ----------------------------------------------------------------------


@scalar("regexp_like")
def _regexp_like(c: Call) -> Typed:
    c.arity(2)
    c.need("regexp_like")
    return Typed(f"__t_regexp_like({c.string(0)}, {c.string(1)})", ty.BOOLEAN)


@scalar("regexp_extract")
def _regexp_extract(c: Call) -> Typed:
    c.arity(2, 3)
    group = c.coerce(2, ty.BIGINT) if len(c.raw) == 3 else "0"
    c.need("regexp_extract")
    return Typed(f"__t_regexp_extract({c.string(0)}, {c.string(1)}, {group})", ty.VARCHAR)


@scalar("regexp_extract_all")
def _regexp_extract_all(c: Call) -> Typed:
    c.arity(2, 3)
    group = c.coerce(2, ty.BIGINT) if len(c.raw) == 3 else "0"
    c.need("regexp_extract_all")
    return Typed(
        f"__t_regexp_extract_all({c.string(0)}, {c.string(1)}, {group})", ty.array(ty.VARCHAR)
    )


@scalar("regexp_count")
def _regexp_count(c: Call) -> Typed:
    c.arity(2)
    c.need("regexp_count")
    return Typed(f"__t_regexp_count({c.string(0)}, {c.string(1)})", ty.BIGINT)


@scalar("regexp_position")
def _regexp_position(c: Call) -> Typed:
    c.arity(2, 3, 4)
    start = c.coerce(2, ty.BIGINT) if len(c.raw) >= 3 else "1"
    occurrence = c.coerce(3, ty.BIGINT) if len(c.raw) == 4 else "1"
    c.need("regexp_position")
    return Typed(
        f"__t_regexp_position({c.string(0)}, {c.string(1)}, {start}, {occurrence})", ty.BIGINT
    )


@scalar("regexp_split")
def _regexp_split(c: Call) -> Typed:
    c.arity(2)
    c.need("regexp_split")
    return Typed(f"__t_regexp_split({c.string(0)}, {c.string(1)})", ty.array(ty.VARCHAR))


@scalar("regexp_replace")
def _regexp_replace(c: Call) -> Typed:
    c.arity(2, 3)
    if len(c.raw) == 3 and isinstance(c.raw[2], exp.Lambda):
        value = c.t.expr(c.raw[0], c.scope)
        pattern = c.t.expr(c.raw[1], c.scope)
        c._args = [value, pattern]
        text, p = c.string(0), c.string(1)
        function, body = c.lambda_(2, [ty.array(ty.VARCHAR)])
        if not (body.type.is_string or body.type.is_unknown):
            raise c.mismatch()
        c.need("regexp_segments")
        segment = c.t.fresh("l")
        return Typed(
            f"array_to_string(list_transform(__t_regexp_segments({text}, {p}), lambda {segment}: "
            f"CASE WHEN {segment}.m THEN coalesce({apply_lambda(function, segment + '.g')}, '') "
            f"ELSE {segment}.t END), '')",
            ty.VARCHAR,
        )
    replacement = c.string(2) if len(c.raw) == 3 else "''"
    c.need("regexp_replace")
    return Typed(f"__t_regexp_replace({c.string(0)}, {c.string(1)}, {replacement})", ty.VARCHAR)


# --- URLs -------------------------------------------------------------------------------------

_URL = r"'^(?:([A-Za-z][A-Za-z0-9+.-]*):)?(?://(?:[^@/?#]*@)?(\[[^\]]*\]|[^:/?#]*)(?::(\d*))?)?([^?#]*)(?:\?([^#]*))?(?:#(.*))?$'"


def _url_part(c: Call, group: int) -> str:
    url = c.string(0)
    part = f"regexp_extract({url}, {_URL}, {group})"
    matched = f"regexp_matches({url}, {_URL})"
    if group == 4:
        return f"(CASE WHEN {matched} THEN {part} END)"
    # A part that is not in the URL is NULL (regexp_extract gives '').
    present = {
        1: f"regexp_matches({url}, '^[A-Za-z][A-Za-z0-9+.-]*:')",
        2: f"regexp_matches({url}, '^(?:[A-Za-z][A-Za-z0-9+.-]*:)?//')",
        3: f"regexp_matches({url}, '^(?:[A-Za-z][A-Za-z0-9+.-]*:)?//[^/?#]*:\\d')",
        5: f"regexp_matches({url}, '^[^#]*\\?')",
        6: f"regexp_matches({url}, '#')",
    }[group]
    return f"(CASE WHEN {matched} AND {present} THEN {part} END)"


@scalar("url_extract_protocol", "url_extract_host", "url_extract_path", "url_extract_query",
        "url_extract_fragment", "url_extract_port")  # fmt: skip
def _url_extract(c: Call) -> Typed:
    c.arity(1)
    group = {"protocol": 1, "host": 2, "port": 3, "path": 4, "query": 5, "fragment": 6}[
        c.name.removeprefix("url_extract_")
    ]
    text = _url_part(c, group)
    if group == 3:
        return Typed(f"TRY_CAST({text} AS BIGINT)", ty.BIGINT)
    return Typed(text, ty.VARCHAR)


@scalar("url_extract_parameter")
def _url_extract_parameter(c: Call) -> Typed:
    c.arity(2)
    c._args = [c.args[0], c.args[1]]
    query = _url_part(c, 5)
    name = c.string(1)
    item = c.t.fresh("l")
    pairs = (
        f"list_filter(string_split({query}, '&'), lambda {item}: split_part({item}, "
        f"'=', 1) = {name})"
    )
    first = c.t.fresh("l")
    return Typed(
        f"(CASE WHEN len({pairs}) = 0 THEN NULL ELSE "
        f"(list_transform({pairs}, lambda {first}: substr({first}, length({name}) + 2)))[1] END)",
        ty.VARCHAR,
    )
