"""Bounded Athena state for a stack left running for days: the query history keeps the newest
executions (AWS keeps 45 days), result rows stay in memory for a few recent queries only (older
ones are read back from the result files in S3)."""

from __future__ import annotations

import itertools
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

MAX_EXECUTIONS = 10_000
MAX_AGE_SECONDS = 45 * 24 * 3600
MAX_CACHED_RESULTS = 32
EVICT_SCAN = 64
_FINISHED = ("SUCCEEDED", "FAILED", "CANCELLED")
# Who hears of an execution kept or let go when an Executions has no on_change of its own (the
# journal sets it: an Executions rebuilt from a pickle still reports).
ON_CHANGE: Callable[[tuple[str, str], str, bool], None] | None = None


class Executions(OrderedDict):
    """moto's `executions` dict, oldest first, holding at most `limit` executions: past it the
    oldest finished ones go (a running query stays until it ends). `on_change(owner, id, kept)`
    tells the journal what to write or delete."""

    def __init__(
        self,
        owner: tuple[str, str] = ("", ""),
        limit: int = MAX_EXECUTIONS,
        on_change: Callable[[tuple[str, str], str, bool], None] | None = None,
    ) -> None:
        super().__init__()
        self.owner = owner
        self.limit = limit
        self.on_change = on_change
        self._lock = threading.RLock()

    def __setitem__(self, key: str, value: Any) -> None:
        with self._lock:
            super().__setitem__(key, value)
            self._notify(key, True)
            self._evict()

    def __reduce__(self) -> Any:  # pragma: no cover - the backend reducer leaves it out
        return (Executions, (self.owner, self.limit))

    def changed(self, key: str) -> None:
        if key in self:
            self._notify(key, True)

    def _notify(self, key: str, kept: bool) -> None:
        listener = self.on_change or ON_CHANGE
        if listener is not None:
            listener(self.owner, key, kept)

    def _evict(self) -> None:
        now = time.time()
        # The oldest few are enough: executions arrive one at a time.
        for key in list(itertools.islice(self.keys(), EVICT_SCAN)):
            if len(self) <= self.limit and now - _started(self[key]) <= MAX_AGE_SECONDS:
                break
            if getattr(self[key], "status", "SUCCEEDED") not in _FINISHED:
                continue
            super().__delitem__(key)
            self._notify(key, False)

    def put_restored(self, key: str, value: Any) -> None:
        """An execution read back from the journal (nothing to write)."""
        with self._lock:
            super().__setitem__(key, value)

    def trim(self) -> None:
        """Let go of what is over the bounds (after a restore)."""
        with self._lock:
            while len(self) > self.limit:
                before = len(self)
                self._evict()
                if len(self) == before:
                    break

    def newest_first(self) -> list[Any]:
        with self._lock:
            return list(reversed(self.values()))


def _started(execution: Any) -> float:
    return float(getattr(execution, "start_time", 0) or 0)


class ResultCache(OrderedDict):
    """moto's `query_results` as a small LRU: recent queries' rows, the rest read from S3."""

    def __init__(self, limit: int = MAX_CACHED_RESULTS) -> None:
        super().__init__()
        self.limit = limit
        self._lock = threading.Lock()

    def __setitem__(self, key: str, value: Any) -> None:
        with self._lock:
            super().__setitem__(key, value)
            self.move_to_end(key)
            while len(self) > self.limit:
                self.popitem(last=False)

    def get(self, key: str, default: Any = None) -> Any:
        with self._lock:
            if key not in self:
                return default
            self.move_to_end(key)
            return super().__getitem__(key)

    def __reduce__(self) -> Any:  # pragma: no cover - the backend reducer leaves it out
        return (ResultCache, (self.limit,))
