"""The gateway's meter: each request served, handed to the metering rules of its service (and of
the AWS service a worker calls for: the Pipe, the delivery stream), counted in the meters.

Workers name themselves in their User-Agent (`app/local-pipes`, the gateway reads it into the
record's `caller`); the stack's own status calls (`app/local-status`) are not billed.
"""

from __future__ import annotations

import urllib.parse
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from orders_pipeline.local_stack.metering import meters

INTERNAL_CALLERS = frozenset({"status"})
# moto's app names that are not the IAM service prefix.
_IAM_SERVICE = {"awslambda": "lambda", "dynamodbstreams": "dynamodb"}
_S3_ACTIONS = {
    "GetObject": "s3:GetObject", "HeadObject": "s3:GetObject", "PutObject": "s3:PutObject",
    "ListObjects": "s3:ListBucket", "ListObjectsV2": "s3:ListBucket", "HeadBucket": "s3:ListBucket",
    "DeleteObject": "s3:DeleteObject",
}  # fmt: skip


def iam_action(record: Any) -> str:
    """The IAM action a request needs (`s3:ListBucket` for a ListObjectsV2, ...)."""
    if record.service == "s3":
        query = urllib.parse.parse_qs(record.query, keep_blank_values=True)
        if record.action == "PostBucket" and "delete" in query:
            return "s3:DeleteObject"
        if record.action == "GetBucket" and "location" in query:
            return "s3:GetBucketLocation"
        return _S3_ACTIONS.get(record.action, f"s3:{record.action}")
    return f"{_IAM_SERVICE.get(record.service, record.service)}:{record.action}"


class Rules(Protocol):
    """A service's metering rules (its `metering.py`): what a request is billed as."""

    def wants_body(self, record: Any) -> bool: ...

    def wants_response(self, record: Any) -> bool: ...

    def before(self, record: Any) -> Any: ...

    def meter(self, record: Any, context: Any) -> Mapping[str, float]: ...


class RequestMeter:
    """Gateway observer that bills each request by its service's rules and its caller's."""

    def __init__(
        self,
        rules: Mapping[str, Rules],
        callers: Mapping[str, Rules],
        counts: Callable[[], meters.Meters] = meters.current,
    ) -> None:
        self._rules = dict(rules)
        self._callers = dict(callers)
        self._counts = counts
        self.errors = 0  # requests whose metering failed (reported in the stack's status)
        # What users' clients (not the workers, not the stack itself) called, by IAM action:
        # which permissions the pipeline's code needs (test_pipeline_permissions.py).
        self.actions: Counter[str] = Counter()

    def _all(self, record: Any) -> list[Rules]:
        if record.caller in INTERNAL_CALLERS:
            return []
        found = [r for r in (self._rules.get(record.service),) if r is not None]
        if record.caller in self._callers:
            found.append(self._callers[record.caller])
        return found

    def wants_body(self, record: Any) -> bool:
        return any(r.wants_body(record) for r in self._all(record))

    def wants_response(self, record: Any) -> bool:
        return any(r.wants_response(record) for r in self._all(record))

    def before(self, record: Any) -> list[Any]:
        return [r.before(record) for r in self._all(record)]

    def __call__(self, record: Any, contexts: list[Any] | None = None) -> None:
        if record.caller is None:
            self.actions[iam_action(record)] += 1
        rules = self._all(record)
        contexts = contexts if contexts is not None else [None] * len(rules)
        counts = self._counts()
        for rule, context in zip(rules, contexts, strict=False):
            try:
                counts.add_many(rule.meter(record, context))
            except Exception:  # noqa: BLE001 - a meter must never fail the request it bills
                self.errors += 1
