"""Summaries of Firehose error records (one JSON document per line under the error prefix): what
the error sensor reports and the dashboard's health shows. Pure: reading is passed in."""

from __future__ import annotations

import base64
import binascii
import json
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

SAMPLE_SIZE = 3
_RAW_DATA_PREVIEW = 200


@dataclass(frozen=True)
class ErrorSummary:
    failed_records: int = 0
    error_codes: dict[str, int] = field(default_factory=dict)
    sample: list[dict[str, str]] = field(default_factory=list)


def _raw_data_preview(raw: str) -> str:
    try:
        text = base64.b64decode(raw, validate=True).decode("utf-8", errors="replace")
    except (binascii.Error, ValueError):
        text = raw
    return text[:_RAW_DATA_PREVIEW]


def summarize_error_records(lines: Iterable[bytes | str], source: str) -> ErrorSummary:
    """Count error records by errorCode and keep a few as a sample; `source` names the object.

    A line that is not JSON is itself counted (code `Unreadable`): nothing is silently dropped.
    """
    codes: Counter[str] = Counter()
    sample: list[dict[str, str]] = []
    for line in lines:
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            code = str(record.get("errorCode", "Unknown"))
            entry = {
                "object": source,
                "errorCode": code,
                "errorMessage": str(record.get("errorMessage", "")),
                "rawData": _raw_data_preview(str(record.get("rawData", ""))),
            }
        except (json.JSONDecodeError, AttributeError):
            code = "Unreadable"
            entry = {"object": source, "errorCode": code, "errorMessage": "line is not JSON"}
        codes[code] += 1
        if len(sample) < SAMPLE_SIZE:
            sample.append(entry)
    return ErrorSummary(failed_records=sum(codes.values()), error_codes=dict(codes), sample=sample)


def merge_summaries(summaries: Iterable[ErrorSummary]) -> ErrorSummary:
    codes: Counter[str] = Counter()
    sample: list[dict[str, str]] = []
    for summary in summaries:
        codes.update(summary.error_codes)
        sample.extend(summary.sample[: SAMPLE_SIZE - len(sample)])
    return ErrorSummary(failed_records=sum(codes.values()), error_codes=dict(codes), sample=sample)


def read_error_summary(
    read: Callable[[str], bytes], objects: Iterable[Mapping[str, object]]
) -> ErrorSummary:
    """Read the given error objects (`read(key)` gives one's bytes) and summarize them."""
    return merge_summaries(
        summarize_error_records(read(str(obj["Key"])).splitlines(), str(obj["Key"]))
        for obj in objects
    )
