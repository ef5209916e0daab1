"""Time zones as Trino names them (region ids, UTC, +hh:mm offsets) and the DuckDB text that moves
an instant to a zone's local time and back (DuckDB's timezone() knows no offsets)."""

from __future__ import annotations

import functools
import re
import zoneinfo
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from orders_pipeline.local_stack.athena.translate import Translator

_OFFSET = re.compile(r"(?:UTC|GMT|UT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?")
_UTC_NAMES = {"utc", "z", "gmt", "ut", "zulu", "universal", "etc/utc", "etc/gmt", "etc/uct", "uct"}


@functools.cache
def _regions() -> dict[str, str]:
    return {name.lower(): name for name in zoneinfo.available_timezones()}


def canonical(text: str) -> str | None:
    """Trino's id of a zone (`UTC`, `+05:30`, `America/Los_Angeles`); None if unknown."""
    name = text.strip()
    if name.lower() in _UTC_NAMES:
        return "UTC"
    match = _OFFSET.fullmatch(name)
    if match:
        sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3) or 0)
        if hours > 14 or minutes > 59:
            return None
        if hours == minutes == 0:
            return "UTC"
        return f"{sign}{hours:02d}:{minutes:02d}"
    return _regions().get(name.lower())


def local(t: Translator, instant: str, zone: str) -> str:
    """DuckDB text: the local TIMESTAMP of a TIMESTAMPTZ instant in a zone (a SQL expression)."""
    t.need("tz")
    return f"__t_local({instant}, {zone})"


def instant(t: Translator, local_time: str, zone: str) -> str:
    """DuckDB text: the TIMESTAMPTZ instant of a local TIMESTAMP in a zone."""
    t.need("tz")
    return f"__t_instant({local_time}, {zone})"


def local_of(t: Translator, tstz: str) -> str:
    """The local time of one of our timestamp-with-time-zone values ({i, z} structs)."""
    return local(t, f"({tstz}).i", f"({tstz}).z")


MACROS = {
    "tz": [
        "CREATE MACRO __t_offset(z) AS (CASE WHEN z[1] = '-' THEN -1 ELSE 1 END) * "
        "(CAST(z[2:3] AS INTEGER) * 60 + CAST(z[5:6] AS INTEGER)) * INTERVAL 1 MINUTE",
        "CREATE MACRO __t_local(i, z) AS CASE WHEN z[1] IN ('+', '-') THEN "
        "CAST(timezone('UTC', i) AS TIMESTAMP) + __t_offset(z) ELSE timezone(z, i) END",
        "CREATE MACRO __t_instant(l, z) AS CASE WHEN z[1] IN ('+', '-') THEN "
        "timezone('UTC', l - __t_offset(z)) ELSE timezone(z, l) END",
    ]
}
