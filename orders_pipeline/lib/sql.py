"""SQL text safety: names and days pasted into Athena statements are checked first, and `.sql`
files are rendered with their `${name}` placeholders filled. Pure: no AWS."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from importlib import resources
from string import Template

_IDENTIFIER = re.compile(r"[a-z_][a-z0-9_]*")
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def validate_day(value: str, what: str = "partition key (dt)") -> str:
    """Return `value` when it is a real calendar date written YYYY-MM-DD; it is pasted into SQL."""
    if not isinstance(value, str) or not _DAY.fullmatch(value):
        raise ValueError(f"{what} must be a date written YYYY-MM-DD, got {value!r}")
    try:
        date.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{what} is not a calendar date: {value!r}") from None
    return value


def validate_identifier(field: str, value: str) -> str:
    """Return `value` when it is a plain lower-case Glue name (pasted unquoted into SQL)."""
    if not isinstance(value, str) or not _IDENTIFIER.fullmatch(value):
        raise ValueError(f"{field} must be a lower-case Glue name, got {value!r}")
    return value


def day_list(days: Iterable[str]) -> str:
    """`'2025-01-01', '2025-01-02'`: checked days as SQL string literals (ValueError if none)."""
    checked = sorted({validate_day(day) for day in days})
    if not checked:
        raise ValueError("at least one day is needed")
    return ", ".join(f"'{day}'" for day in checked)


def file_list(urls: Iterable[str]) -> str:
    """`'s3://b/k1', 's3://b/k2'`: S3 URLs as SQL string literals (ValueError if none or not
    an S3 URL)."""
    checked = sorted(set(urls))
    if not checked:
        raise ValueError("at least one file is needed")
    for url in checked:
        if not url.startswith("s3://") or any(ch < " " for ch in url):
            raise ValueError(f"file: {url!r} is not an s3:// URL")
    return ", ".join("'" + url.replace("'", "''") + "'" for url in checked)


def load_sql(package: str, relative_path: str) -> str:
    """Text of a `.sql` file of `package`, without its `--` comment lines (Athena rejects DDL
    that starts with one)."""
    text = resources.files(package).joinpath(relative_path).read_text()
    lines = [line for line in text.splitlines() if not line.lstrip().startswith("--")]
    return "\n".join(lines).strip()


def render(package: str, relative_path: str, **params: str) -> str:
    """Fill a `.sql` file's `${name}` placeholders; a missing parameter is a KeyError."""
    return Template(load_sql(package, relative_path)).substitute(params)
