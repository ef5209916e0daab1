"""The gateway's meter: each request served, handed to the metering rules of its service (and of
the AWS service a worker calls for: the Pipe, the delivery stream), counted in the meters.

Workers name themselves in their User-Agent (`app/local-pipes`, the gateway reads it into the
record's `caller`); the stack's own status calls (`app/local-status`) are not billed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol

from orders_pipeline.local_stack.metering import meters

INTERNAL_CALLERS = frozenset({"status"})


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
        rules = self._all(record)
        contexts = contexts if contexts is not None else [None] * len(rules)
        counts = self._counts()
        for rule, context in zip(rules, contexts, strict=False):
            try:
                counts.add_many(rule.meter(record, context))
            except Exception:  # noqa: BLE001 - a meter must never fail the request it bills
                self.errors += 1
