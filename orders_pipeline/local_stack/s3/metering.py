"""What S3 bills: PUT, COPY, POST and LIST requests (tier 1), GET and the others (tier 2),
DELETE free; storage as GB-hours, sampled. The same for the engines' own reads and writes."""

from __future__ import annotations

import urllib.parse
from collections.abc import Mapping
from typing import Any

from moto.core import DEFAULT_ACCOUNT_ID
from moto.s3.models import FakeBucket, S3Backend, s3_backends

from orders_pipeline.local_stack.metering.rules import MeteringRules
from orders_pipeline.local_stack.metering.units import GB
from orders_pipeline.local_stack.patching import requires_attributes

TIER1 = "s3.tier1_requests"
TIER2 = "s3.tier2_requests"
STORAGE = "s3.storage_gb_hours"
LIST_PAGE = 1000

requires_attributes(S3Backend, "buckets", declared_in=__name__)
requires_attributes(FakeBucket, "keys", declared_in=__name__)


def request_class(method: str, path: str, query: str, copy_source: bool) -> str | None:
    """The meter an S3 request counts in (None: free)."""
    params = urllib.parse.parse_qs(query, keep_blank_values=True)
    if method == "DELETE" or (method == "POST" and "delete" in params):
        return None
    if method in ("PUT", "POST") or copy_source:
        return TIER1
    parts = [p for p in path.split("/") if p]
    is_listing = len(parts) <= 1 and (
        not parts
        or not params
        or params.keys() & {"list-type", "prefix", "delimiter", "marker"}
        or "uploads" in params
        or "versions" in params
    )
    return TIER1 if method == "GET" and is_listing else TIER2


class S3Metering(MeteringRules):
    def meter(self, record: Any, context: Any) -> Mapping[str, float]:
        if record.status >= 500:
            return {}
        meter = request_class(
            record.method, record.path, record.query, "x-amz-copy-source" in record.request_headers
        )
        return {meter: 1} if meter else {}


def listed(keys: int) -> dict[str, float]:
    """A listing of `keys` keys made by an engine (Athena, a crawler): a LIST per 1,000."""
    return {TIER1: max(1, -(-keys // LIST_PAGE))}


def stored_bytes() -> int:
    """Bytes of every object of every bucket (latest versions), for the storage meter."""
    total = 0
    for backend in s3_backends[DEFAULT_ACCOUNT_ID].values():
        for bucket in list(backend.buckets.values()):
            for key in list(bucket.keys.values()):
                total += getattr(key, "size", 0) or 0
    return total


def sample(seconds: float) -> dict[str, float]:
    return {STORAGE: stored_bytes() / GB * seconds / 3600}


rules = S3Metering()
