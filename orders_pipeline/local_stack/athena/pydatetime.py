"""Trino's date/time functions DuckDB lacks, in plain Python: ISO 8601 week and ordinal dates,
durations, human-readable seconds, Java's String.format. Pure (registered by helpers.py)."""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from orders_pipeline.local_stack.athena.pyfunctions import fail, java_double


def from_iso8601_date(text: str) -> dt.date:
    value = text.strip()
    try:
        if m := re.fullmatch(r"(\d{4})-W(\d{2})(?:-(\d))?", value):
            return dt.date.fromisocalendar(int(m.group(1)), int(m.group(2)), int(m.group(3) or 1))
        if m := re.fullmatch(r"(\d{4})-(\d{3})", value):
            return dt.date(int(m.group(1)), 1, 1) + dt.timedelta(days=int(m.group(2)) - 1)
        if m := re.fullmatch(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?", value):
            return dt.date(int(m.group(1)), int(m.group(2) or 1), int(m.group(3) or 1))
    except ValueError:
        pass
    fail("INVALID_FUNCTION_ARGUMENT", f'Invalid format: "{text}"')
    raise AssertionError


_DURATION_UNITS = {
    "ns": Decimal("1e-9"), "us": Decimal("1e-6"), "ms": Decimal("1e-3"), "s": Decimal(1),
    "m": Decimal(60), "h": Decimal(3600), "d": Decimal(86400),
}  # fmt: skip


def parse_duration(text: str) -> int:
    """Microseconds of a duration ('3.81 d'); Trino keeps milliseconds, rounded half up."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]+)\s*", text)
    if match is None or match.group(2) not in _DURATION_UNITS:
        fail("INVALID_FUNCTION_ARGUMENT", f"duration is not a valid data duration string: {text}")
    seconds = Decimal(match.group(1)) * _DURATION_UNITS[match.group(2)]
    millis = (seconds * 1000).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return int(millis) * 1000


def human_readable_seconds(seconds: float) -> str:
    if math.isnan(seconds) or math.isinf(seconds):
        fail("INVALID_FUNCTION_ARGUMENT", "Invalid argument found: seconds must be finite")
    total = round(abs(seconds))
    parts = []
    for name, size in (("week", 604800), ("day", 86400), ("hour", 3600), ("minute", 60)):
        count, total = divmod(total, size)
        if count:
            parts.append(f"{count} {name}{'s' if count != 1 else ''}")
    if total or not parts:
        parts.append(f"{total} second{'s' if total != 1 else ''}")
    return ", ".join(parts)


# --- Java's String.format ---------------------------------------------------------------------

_SPEC = re.compile(r"%(?:(\d+)\$)?([-#+ 0,(<]*)(\d+)?(?:\.(\d+))?([tT])?([a-zA-Z%])")


def _typed(value: str | None, kind: str) -> Any:
    if value is None:
        return None
    if kind in ("tinyint", "smallint", "integer", "bigint"):
        return int(value)
    if kind in ("double", "real"):
        return float(value)
    if kind == "decimal":
        return Decimal(value)
    if kind == "boolean":
        return value == "true"
    if kind == "date":
        return dt.date.fromisoformat(value)
    if kind == "timestamp":
        return dt.datetime.fromisoformat(value)
    return value


def java_format(pattern: str, values: list[str | None], kinds: list[str]) -> str:
    args = [_typed(v, k) for v, k in zip(values, kinds, strict=True)]
    out, position, ordinary = [], 0, 0
    last_index = -1
    for match in _SPEC.finditer(pattern):
        out.append(pattern[position : match.start()])
        position = match.end()
        index, flags, width, precision, time_prefix, conversion = match.groups()
        if conversion == "%":
            out.append("%")
            continue
        if conversion == "n":
            out.append("\n")
            continue
        if "<" in flags:
            which = last_index
        elif index:
            which = int(index) - 1
        else:
            which = ordinary
            ordinary += 1
        if not 0 <= which < len(args):
            fail("INVALID_FUNCTION_ARGUMENT", f"Missing format argument for '{match.group(0)}'")
        last_index = which
        arg = args[which]
        if time_prefix:
            text = _time_conversion(arg, conversion)
        else:
            text = _conversion(arg, kinds[which], flags, precision, conversion)
        if width and len(text) < int(width):
            fill = "0" if "0" in flags and "-" not in flags else " "
            if fill == "0" and text[:1] in "+-":
                text = text[0] + text[1:].rjust(int(width) - 1, "0")
            else:
                text = text.ljust(int(width)) if "-" in flags else text.rjust(int(width), fill)
        upper = (
            time_prefix == "T" if time_prefix else conversion.isupper() and conversion not in "XEG"
        )
        out.append(text.upper() if upper else text)
    out.append(pattern[position:])
    return "".join(out)


def _conversion(arg: Any, kind: str, flags: str, precision: str | None, conversion: str) -> str:
    c = conversion.lower()
    if c == "s":
        if arg is None:
            text = "null"
        elif isinstance(arg, bool):
            text = "true" if arg else "false"
        elif isinstance(arg, float):
            text = java_double(arg)
        else:
            text = str(arg)
        return text[: int(precision)] if precision else text
    if c == "b":
        return "false" if arg is None or arg is False else "true"
    if arg is None:
        return "null"
    if c == "d":
        if not isinstance(arg, int) or isinstance(arg, bool):
            fail("INVALID_FUNCTION_ARGUMENT", f"d != {type(arg).__name__}")
        text = f"{arg:,}" if "," in flags else str(arg)
        return ("+" + text) if "+" in flags and arg >= 0 else text
    if c in ("x", "o"):
        return format(arg, c)
    if c in ("f", "e", "g"):
        if isinstance(arg, bool) or not isinstance(arg, int | float | Decimal):
            fail("INVALID_FUNCTION_ARGUMENT", f"{c} != {type(arg).__name__}")
        digits = 6 if precision is None else int(precision)
        number = Decimal(str(arg)) if not isinstance(arg, Decimal) else arg
        if c == "f":
            rounded = number.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
            text = f"{rounded:,f}" if "," in flags else f"{rounded:f}"
        else:
            text = format(float(number), f".{digits}{c}")
        return ("+" + text) if "+" in flags and number >= 0 else text
    if c == "c":
        return chr(arg) if isinstance(arg, int) else str(arg)[:1]
    fail("INVALID_FUNCTION_ARGUMENT", f"Unknown format conversion: '{conversion}'")
    raise AssertionError


def _time_conversion(arg: Any, conversion: str) -> str:
    if not isinstance(arg, dt.date):
        fail("INVALID_FUNCTION_ARGUMENT", f"Cannot format {arg!r} as a date/time")
    moment = arg if isinstance(arg, dt.datetime) else dt.datetime(arg.year, arg.month, arg.day)
    table = {
        "A": "%A", "a": "%a", "B": "%B", "b": "%b", "h": "%b", "Y": "%Y", "y": "%y", "m": "%m",
        "d": "%d", "H": "%H", "M": "%M", "S": "%S", "j": "%j", "p": "%p", "I": "%I",
    }  # fmt: skip
    if conversion == "e":
        return str(moment.day)
    if conversion == "k":
        return str(moment.hour)
    if conversion == "L":
        return f"{moment.microsecond // 1000:03d}"
    if conversion == "F":
        return moment.strftime("%Y-%m-%d")
    if conversion == "D":
        return moment.strftime("%m/%d/%y")
    if conversion == "T":
        return moment.strftime("%H:%M:%S")
    if conversion not in table:
        fail("INVALID_FUNCTION_ARGUMENT", f"Unknown date/time conversion: '{conversion}'")
    text = moment.strftime(table[conversion])
    return text.lower() if conversion == "p" else text
