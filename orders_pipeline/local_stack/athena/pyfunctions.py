"""Trino functions DuckDB lacks (or answers differently), in plain Python: JSON and its paths, Java
regular expressions and replacement syntax, exact decimal division, Java number text. Pure; the
engine registers them as DuckDB UDFs (helpers.py). A failure raises ValueError('KIND: message')."""

from __future__ import annotations

import json
import math
import re
from decimal import ROUND_DOWN, ROUND_HALF_UP, Context, Decimal, DivisionByZero, InvalidOperation
from typing import Any

_EXACT = Context(prec=120)


def fail(kind: str, message: str) -> None:
    raise ValueError(f"{kind}: {message}")


def raise_error(message: str) -> str:
    raise ValueError(message)


# --- decimals ---------------------------------------------------------------------------------


def decimal_divide(a: str, b: str, scale: int) -> str:
    """a / b rounded half up to `scale` digits (Trino's decimal division)."""
    x, y = Decimal(a), Decimal(b)
    if y == 0:
        fail("DIVISION_BY_ZERO", "Division by zero")
    try:
        quotient = _EXACT.divide(x, y)
    except (DivisionByZero, InvalidOperation):
        fail("DIVISION_BY_ZERO", "Division by zero")
    return str(quotient.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP, context=_EXACT))


def decimal_modulus(a: str, b: str, scale: int) -> str:
    x, y = Decimal(a), Decimal(b)
    if y == 0:
        fail("DIVISION_BY_ZERO", "Division by zero")
    remainder = _EXACT.remainder(x, y)  # sign of the dividend, like Java's BigDecimal
    return str(remainder.quantize(Decimal(1).scaleb(-scale), context=_EXACT))


def decimal_truncate(a: str, digits: int) -> str:
    x = Decimal(a)
    return (
        str(x.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_DOWN, context=_EXACT))
        if (digits >= 0)
        else str((x.scaleb(digits).quantize(Decimal(1), rounding=ROUND_DOWN)).scaleb(-digits))
    )


# --- doubles ----------------------------------------------------------------------------------


def java_double(value: float, real: bool = False) -> str:
    """Java's Double.toString (Float.toString for a real): 1.0E7, 0.001, NaN, Infinity."""
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "Infinity" if value > 0 else "-Infinity"
    if real:
        import struct

        value = struct.unpack("f", struct.pack("f", value))[0]
        text = _shortest_float32(value)
    else:
        text = repr(value)
    if value == 0:
        return "-0.0" if math.copysign(1, value) < 0 else "0.0"
    if 1e-3 <= abs(value) < 1e7:
        number = Decimal(text)
        plain = format(number, "f")
        return plain if "." in plain else plain + ".0"
    sign, digits, exponent = Decimal(text).normalize().as_tuple()
    fraction = "".join(map(str, digits[1:])) or "0"
    return f"{'-' if sign else ''}{digits[0]}.{fraction}E{len(digits) - 1 + exponent}"


def _shortest_float32(value: float) -> str:
    import struct

    for digits in range(1, 18):
        text = f"{value:.{digits}g}"
        if struct.unpack("f", struct.pack("f", float(text)))[0] == value:
            return text
    return repr(value)


def double_json(value: float) -> str:
    if math.isnan(value) or math.isinf(value):
        return json.dumps(java_double(value))
    return java_double(value) if abs(value) >= 1e7 or (value and abs(value) < 1e-3) else repr(value)


# --- JSON -------------------------------------------------------------------------------------


def _loads(text: str) -> Any:
    return json.loads(text, parse_float=Decimal)


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=_number)


class _Raw(float):
    """A JSON number written back with the digits it was read with."""

    def __new__(cls, text: str) -> _Raw:
        self = super().__new__(cls, float(text))
        self.text = text
        return self

    def __repr__(self) -> str:
        return self.text


def _number(value: Any) -> Any:
    raise TypeError(f"not JSON: {value!r}")


def _canonical(value: Any) -> Any:
    """Decimals read from JSON as floats that print with their own digits."""
    if isinstance(value, Decimal):
        return _Raw(str(value))
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    return value


def _canonical_text(value: Any) -> str:
    return _dumps(_canonical(value))


def json_parse(text: str) -> str:
    try:
        value = _loads(text)
    except ValueError:
        fail("INVALID_FUNCTION_ARGUMENT", f"Cannot convert value to JSON: '{text[:100]}'")
    return _canonical_text(value)


def json_canonical(text: str) -> str:
    return _canonical_text(_loads(text))


_PATH_TOKEN = re.compile(
    r"""\.(?P<key>[^.\[\]"]+)|\[\s*(?P<index>-?\d+)\s*\]|\[\s*"(?P<quoted>(?:[^"\\]|\\.)*)"\s*\]"""
    r"""|\[\s*'(?P<single>[^']*)'\s*\]"""
)


def _path(path: str) -> list[str | int]:
    text = path.strip()
    if not text.startswith("$"):
        fail("INVALID_FUNCTION_ARGUMENT", f"Invalid JSON path: '{path}'")
    steps: list[str | int] = []
    position = 1
    while position < len(text):
        match = _PATH_TOKEN.match(text, position)
        if match is None:
            fail("INVALID_FUNCTION_ARGUMENT", f"Invalid JSON path: '{path}'")
        if match.group("key") is not None:
            steps.append(match.group("key"))
        elif match.group("index") is not None:
            steps.append(int(match.group("index")))
        elif match.group("quoted") is not None:
            steps.append(json.loads(f'"{match.group("quoted")}"'))
        else:
            steps.append(match.group("single"))
        position = match.end()
    return steps


_MISSING = object()


def _walk(text: str, path: str) -> Any:
    steps = _path(path)
    try:
        value = _loads(text)
    except ValueError:
        return _MISSING
    for step in steps:
        if isinstance(step, int) and isinstance(value, list):
            if not 0 <= step < len(value):
                return _MISSING
            value = value[step]
        elif isinstance(value, dict) and str(step) in value:
            value = value[str(step)]
        else:
            return _MISSING
    return value


def json_extract(text: str, path: str) -> str | None:
    value = _walk(text, path)
    return None if value is _MISSING else _canonical_text(value)


def _scalar_text(value: Any) -> str | None:
    if value is None or isinstance(value, list | dict):
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return str(value)
    return str(value)


def json_extract_scalar(text: str, path: str) -> str | None:
    value = _walk(text, path)
    return None if value is _MISSING else _scalar_text(value)


def json_size(text: str, path: str) -> int | None:
    value = _walk(text, path)
    if value is _MISSING:
        return None
    return len(value) if isinstance(value, list | dict) else 0


def json_array_get(text: str, index: int) -> str | None:
    try:
        value = _loads(text)
    except ValueError:
        return None
    if not isinstance(value, list):
        return None
    if index < 0:
        index += len(value)
    if not 0 <= index < len(value):
        return None
    if isinstance(value[index], str):
        # Trino's documented defect: a string element comes back unquoted (not valid JSON).
        return value[index]
    return _canonical_text(value[index])


def json_array_length(text: str) -> int | None:
    try:
        value = _loads(text)
    except ValueError:
        return None
    return len(value) if isinstance(value, list) else None


def json_array_contains(text: str, needle: str) -> bool | None:
    """`needle` is the JSON text of the value looked for."""
    try:
        value, wanted = _loads(text), _loads(needle)
    except ValueError:
        return None
    if not isinstance(value, list):
        return None
    return any(type(v) is type(wanted) and v == wanted for v in value)


def is_json_scalar(text: str) -> bool:
    try:
        value = _loads(text)
    except ValueError:
        fail("INVALID_FUNCTION_ARGUMENT", f"Invalid JSON value: {text[:100]}")
    return not isinstance(value, list | dict)


def json_format(text: str) -> str:
    return _canonical_text(_loads(text))


def json_cast(text: str, target: str) -> str | None:
    """The JSON `text` checked against a Trino type: scalar targets get their text, nested ones
    JSON that DuckDB's JSON cast reads (a row given as an array becomes an object)."""
    from orders_pipeline.local_stack.athena import types as ty

    value = _loads(text)
    converted = _convert(value, ty.parse_type(target), text)
    if converted is None:
        return None
    t = ty.parse_type(target)
    if t.name in ("array", "map", "row"):
        return _dumps(converted)
    return converted if isinstance(converted, str) else _dumps(converted)


def _convert(value: Any, target: Any, text: str) -> Any:
    name = target.name
    if value is None:
        return None
    if name == "json":
        return _canonical_text(value) if not isinstance(value, str) else _dumps(value)
    if name in ("varchar", "char"):
        if isinstance(value, list | dict):
            fail("INVALID_CAST_ARGUMENT", f"Cannot cast to {target}. Expected a scalar value")
        return _scalar_text(value)
    if name == "boolean":
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower()
        if isinstance(value, int | Decimal):
            return "true" if value != 0 else "false"
        fail("INVALID_CAST_ARGUMENT", f"Cannot cast '{text[:60]}' to {target}")
    if target.is_integer or name in ("double", "real", "decimal"):
        if isinstance(value, bool):
            return "1" if value else "0"
        if isinstance(value, int | Decimal):
            return str(value)
        if isinstance(value, str):
            return value
        fail("INVALID_CAST_ARGUMENT", f"Cannot cast '{text[:60]}' to {target}")
    if name == "array":
        if not isinstance(value, list):
            fail("INVALID_CAST_ARGUMENT", f"Cannot cast to {target}. Expected a json array")
        return [_nested(v, target.element, text) for v in value]
    if name == "map":
        if not isinstance(value, dict):
            fail("INVALID_CAST_ARGUMENT", f"Cannot cast to {target}. Expected a json object")
        return {k: _nested(v, target.value, text) for k, v in value.items()}
    if name == "row":
        names = [f if f else f"field{i}" for i, (f, _) in enumerate(target.fields)]
        if isinstance(value, list):
            if len(value) != len(names):
                fail("INVALID_CAST_ARGUMENT", f"Cannot cast to {target}: field count differs")
            pairs = dict(zip(names, value, strict=True))
        elif isinstance(value, dict):
            lowered = {k.lower(): v for k, v in value.items()}
            pairs = {n: lowered.get(n.lower()) for n in names}
        else:
            fail("INVALID_CAST_ARGUMENT", f"Cannot cast to {target}. Expected a json object")
        return {
            n: _nested(pairs[n], ft, text) for n, (_, ft) in zip(names, target.fields, strict=True)
        }
    fail("INVALID_CAST_ARGUMENT", f"Cannot cast JSON to {target}")


def _nested(value: Any, target: Any, text: str) -> Any:
    """An element inside a nested target: a value DuckDB's JSON cast turns into that type."""
    if value is None:
        return None
    if target.name == "json":
        return _canonical(value)  # stays a JSON value: DuckDB's cast to JSON[] keeps its text
    converted = _convert(value, target, text)
    if target.name in ("array", "map", "row"):
        return converted
    if target.name in ("varchar", "char"):
        return converted
    if target.name == "boolean":
        return converted == "true"
    if target.is_integer:
        number = Decimal(converted)
        if number != number.to_integral_value():
            fail("INVALID_CAST_ARGUMENT", f"Cannot cast '{converted}' to {target}")
        return int(number)
    return _Raw(converted)


# --- Java regular expressions -------------------------------------------------------------------

_NAMED_GROUP = re.compile(r"\(\?<([A-Za-z][A-Za-z0-9]*)>")
_INLINE_FLAGS = re.compile(r"\(\?([imsux]+)\)")


def java_pattern(pattern: str) -> re.Pattern[str]:
    """A Java regular expression compiled by Python's re (named groups and inline flags moved)."""
    text = _NAMED_GROUP.sub(r"(?P<\1>", pattern)
    flags = "".join(_INLINE_FLAGS.findall(text))
    if flags:
        text = "(?" + "".join(sorted(set(flags))) + ")" + _INLINE_FLAGS.sub("", text)
    try:
        return _compile(text)
    except re.error as err:
        fail("INVALID_FUNCTION_ARGUMENT", f"Invalid regular expression: {pattern}: {err}")
    raise AssertionError


_compiled: dict[str, re.Pattern[str]] = {}


def _compile(text: str) -> re.Pattern[str]:
    found = _compiled.get(text)
    if found is None:
        if len(_compiled) > 512:
            _compiled.clear()
        found = _compiled[text] = re.compile(text)
    return found


def regexp_like(text: str, pattern: str) -> bool:
    return java_pattern(pattern).search(text) is not None


def _check_group(regex: re.Pattern[str], group: int) -> None:
    if group < 0 or group > regex.groups:
        fail(
            "INVALID_FUNCTION_ARGUMENT",
            f"Pattern has {regex.groups} groups. Cannot access group {group}",
        )


def regexp_extract(text: str, pattern: str, group: int = 0) -> str | None:
    regex = java_pattern(pattern)
    _check_group(regex, group)
    match = regex.search(text)
    return None if match is None else match.group(group)


def regexp_extract_all(text: str, pattern: str, group: int = 0) -> list[str | None]:
    regex = java_pattern(pattern)
    _check_group(regex, group)
    return [m.group(group) for m in regex.finditer(text)]


def regexp_count(text: str, pattern: str) -> int:
    return sum(1 for _ in java_pattern(pattern).finditer(text))


def regexp_position(text: str, pattern: str, start: int = 1, occurrence: int = 1) -> int:
    if start < 1:
        fail("INVALID_FUNCTION_ARGUMENT", "start position cannot be smaller than 1")
    if occurrence < 1:
        fail("INVALID_FUNCTION_ARGUMENT", "occurrence cannot be smaller than 1")
    regex = java_pattern(pattern)
    for number, match in enumerate(regex.finditer(text, start - 1), 1):
        if number == occurrence:
            return match.start() + 1
    return -1


def java_replacement(replacement: str, match: re.Match[str]) -> str:
    """Java's Matcher.appendReplacement: $n (as many digits as name a group), ${name}, \\x."""
    out = []
    groups = match.re.groups
    i = 0
    while i < len(replacement):
        c = replacement[i]
        if c == "\\":
            i += 1
            if i >= len(replacement):
                fail("INVALID_FUNCTION_ARGUMENT", "character to be escaped is missing")
            out.append(replacement[i])
            i += 1
        elif c == "$":
            i += 1
            if i >= len(replacement):
                fail("INVALID_FUNCTION_ARGUMENT", "Illegal group reference: group index is missing")
            if replacement[i] == "{":
                end = replacement.find("}", i)
                if end < 0:
                    fail(
                        "INVALID_FUNCTION_ARGUMENT", "named capturing group is missing trailing '}'"
                    )
                name = replacement[i + 1 : end]
                if name not in match.re.groupindex:
                    fail("INVALID_FUNCTION_ARGUMENT", f"No group with name {{{name}}}")
                out.append(match.group(name) or "")
                i = end + 1
            else:
                if not replacement[i].isdigit():
                    fail("INVALID_FUNCTION_ARGUMENT", "Illegal group reference")
                number = int(replacement[i])
                if number > groups:
                    fail("INVALID_FUNCTION_ARGUMENT", f"No group {number}")
                i += 1
                while i < len(replacement) and replacement[i].isdigit():
                    candidate = number * 10 + int(replacement[i])
                    if candidate > groups:
                        break
                    number = candidate
                    i += 1
                out.append(match.group(number) or "")
        else:
            out.append(c)
            i += 1
    return "".join(out)


def regexp_replace(text: str, pattern: str, replacement: str = "") -> str:
    regex = java_pattern(pattern)
    return regex.sub(lambda m: java_replacement(replacement, m), text)


def regexp_segments(text: str, pattern: str) -> list[dict[str, Any]]:
    """The text cut at every match: {t: text, m: is a match, g: [groups 1..n]} (for a lambda)."""
    regex = java_pattern(pattern)
    segments = []
    last = 0
    for match in regex.finditer(text):
        segments.append({"t": text[last : match.start()], "m": False, "g": []})
        groups = [match.group(0)] if regex.groups == 0 else list(match.groups())
        segments.append({"t": match.group(0), "m": True, "g": groups})
        last = match.end()
    segments.append({"t": text[last:], "m": False, "g": []})
    return segments


def regexp_split(text: str, pattern: str) -> list[str]:
    """Java's Pattern.split(text, -1): trailing empty strings kept, no leading empty string for
    a zero-width match at the start."""
    regex = java_pattern(pattern)
    parts, last = [], 0
    for match in regex.finditer(text):
        if match.end() == 0:
            continue
        parts.append(text[last : match.start()])
        last = match.end()
    parts.append(text[last:])
    return parts


# --- strings ----------------------------------------------------------------------------------


def replace_all(text: str, search: str, replacement: str = "") -> str:
    if search == "":
        return replacement + "".join(c + replacement for c in text)
    return text.replace(search, replacement)


def strpos_instance(text: str, sub: str, instance: int) -> int:
    if instance == 0:
        fail("INVALID_FUNCTION_ARGUMENT", "'instance' must be a positive or negative number.")
    if sub == "":
        return 1
    if instance > 0:
        position = -1
        for _ in range(instance):
            position = text.find(sub, position + 1)
            if position < 0:
                return 0
        return position + 1
    position = len(text)
    for _ in range(-instance):
        position = text.rfind(sub, 0, position + len(sub) - 1)
        if position < 0:
            return 0
    return position + 1


def split(text: str, delimiter: str, limit: int | None = None) -> list[str]:
    if limit is not None and limit <= 0:
        fail("INVALID_FUNCTION_ARGUMENT", "Limit must be positive")
    if delimiter == "":
        fail("INVALID_FUNCTION_ARGUMENT", "The delimiter may not be the empty string")
    if limit is None:
        return text.split(delimiter)
    return text.split(delimiter, limit - 1)


def split_part(text: str, delimiter: str, index: int) -> str | None:
    if index <= 0:
        fail("INVALID_FUNCTION_ARGUMENT", "Index must be greater than zero")
    parts = list(text) if delimiter == "" else text.split(delimiter)
    return parts[index - 1] if index <= len(parts) else None


def split_to_map(text: str, entry: str, key_value: str) -> dict[str, str]:
    result: dict[str, str] = {}
    if text == "":
        return result
    for item in text.split(entry):
        if item == "" and text.endswith(entry):
            continue
        key, sep, value = item.partition(key_value)
        if not sep:
            fail(
                "INVALID_FUNCTION_ARGUMENT",
                f"Key-value delimiter must appear exactly once in each entry. Bad input: '{item}'",
            )
        if key in result:
            fail("INVALID_FUNCTION_ARGUMENT", f"Duplicate keys ({key}) are not allowed")
        result[key] = value
    return result


def pad(text: str, size: int, padding: str, left: bool) -> str:
    if padding == "":
        fail("INVALID_FUNCTION_ARGUMENT", "Padding string must not be empty")
    if size < 0:
        fail("INVALID_FUNCTION_ARGUMENT", "Target length must be in the range [0..2147483647]")
    if size <= len(text):
        return text[:size]
    fill = (padding * (size // len(padding) + 1))[: size - len(text)]
    return fill + text if left else text + fill


def luhn_check(text: str) -> bool:
    if not text.isdigit():
        fail("INVALID_FUNCTION_ARGUMENT", "Input contains non-digit characters")
    total = 0
    for position, digit in enumerate(reversed(text)):
        value = int(digit)
        if position % 2:
            value *= 2
            value = value - 9 if value > 9 else value
        total += value
    return total % 10 == 0


def hamming_distance(a: str, b: str) -> int:
    if len(a) != len(b):
        fail(
            "INVALID_FUNCTION_ARGUMENT",
            "The input strings to hamming_distance function must have the same length",
        )
    return sum(x != y for x, y in zip(a, b, strict=True))


def from_base(text: str, radix: int) -> int:
    if not 2 <= radix <= 36:
        fail("INVALID_FUNCTION_ARGUMENT", "Radix must be between 2 and 36")
    try:
        value = int(text, radix)
    except ValueError:
        fail("INVALID_FUNCTION_ARGUMENT", f"Not a valid base-{radix} number: {text}")
    if not -(2**63) <= value < 2**63:
        fail("INVALID_FUNCTION_ARGUMENT", f"Not a valid base-{radix} number: {text}")
    return value


def to_base(value: int, radix: int) -> str:
    if not 2 <= radix <= 36:
        fail("INVALID_FUNCTION_ARGUMENT", "Radix must be between 2 and 36")
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    if value == 0:
        return "0"
    sign, value = ("-", -value) if value < 0 else ("", value)
    out = []
    while value:
        value, rest = divmod(value, radix)
        out.append(digits[rest])
    return sign + "".join(reversed(out))


def bit_count(value: int, bits: int) -> int:
    if not 2 <= bits <= 64:
        fail("INVALID_FUNCTION_ARGUMENT", "Bits specified in bit_count must be between 2 and 64")
    low, high = -(2 ** (bits - 1)), 2 ** (bits - 1) - 1
    if not low <= value <= high:
        fail(
            "INVALID_FUNCTION_ARGUMENT",
            f"Number must be representable with the bits specified. {value} cannot be "
            f"represented with {bits} bits",
        )
    return bin(value & ((1 << bits) - 1)).count("1")


_DATA_UNITS = {"B": 0, "kB": 1, "MB": 2, "GB": 3, "TB": 4, "PB": 5, "EB": 6, "ZB": 7, "YB": 8}


def parse_data_size(text: str) -> str:
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]+)\s*", text)
    if match is None or match.group(2) not in _DATA_UNITS:
        fail("INVALID_FUNCTION_ARGUMENT", f"Invalid data size: '{text}'")
    value = Decimal(match.group(1)) * (Decimal(1024) ** _DATA_UNITS[match.group(2)])
    return str(value.to_integral_value(rounding=ROUND_DOWN))


def format_number(value: float) -> str:
    """Trino's format_number: three significant digits and a K/M/B/T/Q suffix."""
    magnitude = abs(value)
    scaled, suffix = value, ""
    for limit, name in ((1e15, "Q"), (1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "K")):
        if magnitude >= limit:
            scaled, suffix = value / limit, name
            break
    number = Decimal(repr(scaled))
    if number == 0:
        return "0" + suffix
    digits = 3 - (number.copy_abs().adjusted() + 1)
    rounded = number.quantize(Decimal(1).scaleb(-max(digits, 0)), rounding=ROUND_HALF_UP)
    return f"{rounded.normalize():f}{suffix}"


def check(condition: bool | None, message: str) -> bool:
    """False, or the failure `message` (KIND: text) when the condition holds (for CASE tests)."""
    if condition:
        raise ValueError(message)
    return False


def java_upper(text: str) -> str:
    """Java's Character.toUpperCase code point by code point (no 'ß' -> 'SS')."""
    return "".join(c.upper() if len(c.upper()) == 1 else c for c in text)


def java_lower(text: str) -> str:
    return "".join(c.lower() if len(c.lower()) == 1 else c for c in text)


def url_encode(text: str) -> str:
    """Java's URLEncoder: space as +, only letters, digits and . - * _ kept."""
    import urllib.parse

    return urllib.parse.quote_plus(text, safe="*").replace("~", "%7E")


def url_decode(text: str) -> str:
    import urllib.parse

    return urllib.parse.unquote_plus(text)
