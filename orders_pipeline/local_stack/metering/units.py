"""How AWS turns a request into billed units: DynamoDB item sizes and request units, Athena's
billed bytes, rounding of records to a service's billing increment. Pure functions."""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

KB = 1024
MB = 1024 * 1024
GB = 1024**3
# Athena bills each query's scan rounded up to the megabyte, at least 10 MB.
ATHENA_MINIMUM_BYTES = 10 * MB


def athena_billed_bytes(scanned: int) -> int:
    return max(ATHENA_MINIMUM_BYTES, math.ceil(max(scanned, 0) / MB) * MB)


def rounded_up(size: int, increment: int) -> int:
    """`size` rounded up to a whole number of `increment`s, at least one (an empty record is
    billed as one increment, as Firehose's 5 KB and Kinesis's 25 KB are)."""
    return max(1, math.ceil(size / increment)) * increment


def base64_size(text: str) -> int:
    """The byte length of what base64 `text` decodes to.

    Padded text (what SDKs send) by arithmetic, since the meters size every Kinesis record of
    the data plane and decoding each to take its length cost more than storing it; a character
    outside base64's alphabet in it, which no SDK sends, counts as one of it. Other text is
    decoded as base64.b64decode reads it.
    """
    if len(text) % 4 == 0:
        padding = 2 if text.endswith("==") else 1 if text.endswith("=") else 0
        if text.count("=") == padding:
            return len(text) // 4 * 3 - padding
    return len(base64.b64decode(text))


def chunks(size: int, chunk: int) -> int:
    """How many `chunk`-byte units a payload of `size` bytes is billed as (at least one)."""
    return max(1, math.ceil(size / chunk))


def _number_size(text: str) -> int:
    try:
        digits = Decimal(text).normalize().as_tuple().digits
    except InvalidOperation:
        digits = tuple(text)
    significant = len(digits) if any(digits) else 1
    return math.ceil(significant / 2) + 1


def value_size(value: Mapping[str, Any]) -> int:
    """Bytes of one DynamoDB attribute value in the wire format (`{"S": "x"}`), as the
    DynamoDB developer guide's item size rules count them."""
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(inner.encode("utf-8"))
    if kind == "N":
        return _number_size(inner)
    if kind == "B":
        return base64_size(inner) if isinstance(inner, str) else len(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode("utf-8")) for s in inner)
    if kind == "NS":
        return sum(_number_size(n) for n in inner)
    if kind == "BS":
        return sum(base64_size(b) if isinstance(b, str) else len(b) for b in inner)
    if kind == "L":
        return 3 + sum(value_size(v) for v in inner)
    if kind == "M":
        return 3 + item_size(inner)
    return len(str(inner))


def item_size(item: Mapping[str, Mapping[str, Any]] | None) -> int:
    """Bytes of an item: each attribute's name (UTF-8) plus its value."""
    if not item:
        return 0
    return sum(len(name.encode("utf-8")) + value_size(value) for name, value in item.items())


def write_units(size_before: int, size_after: int, *, transactional: bool = False) -> float:
    """A write's WRUs: one per KB of the larger of the item before and after, at least one."""
    units = max(1, math.ceil(max(size_before, size_after) / KB))
    return float(units * (2 if transactional else 1))


def read_units(size: int, *, consistent: bool, transactional: bool = False) -> float:
    """A read's RRUs: one per 4 KB (half for an eventually consistent read), at least one
    4 KB block even for nothing found."""
    blocks = max(1, math.ceil(size / (4 * KB)))
    if transactional:
        return 2.0 * blocks
    return float(blocks) if consistent else blocks / 2
