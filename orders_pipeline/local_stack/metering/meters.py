"""Thread-safe meter counts and the running time they were taken over, saved in the state dir.

The document they give (`document()`) is what `orders-pipeline cost` prices: `started` and
`now` bound the time the stack ran (time stopped between runs does not count), `meters` the
counts in each meter's own unit, `orders_per_day` the order rate seen.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

FILE_NAME = "meters.json"
SECONDS_PER_DAY = 86400


class Meters:
    def __init__(self, path: Path | None = None) -> None:
        self._path = path
        self._lock = threading.Lock()
        self._counts: dict[str, float] = {}
        self._orders = 0
        self._elapsed = 0.0  # seconds run in earlier sessions
        self._session_start = time.time()
        if path is not None and path.exists():
            self._load(path)

    def _load(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            counts = {str(k): float(v) for k, v in data["meters"].items()}
            orders, elapsed = int(data["orders"]), float(data["elapsed_seconds"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            raise ValueError(f"meters file {path} is unreadable ({error})") from error
        self._counts, self._orders, self._elapsed = counts, orders, elapsed

    def add(self, name: str, amount: float) -> None:
        if amount <= 0 or not math.isfinite(amount):
            return
        with self._lock:
            self._counts[name] = self._counts.get(name, 0.0) + amount

    def add_many(self, amounts: Mapping[str, float]) -> None:
        for name, amount in amounts.items():
            self.add(name, amount)

    def count_orders(self, orders: int) -> None:
        """New orders (items created in a DynamoDB table): the rate the meters were taken at."""
        with self._lock:
            self._orders += orders

    def counts(self) -> dict[str, float]:
        with self._lock:
            return dict(self._counts)

    def running_seconds(self, now: float | None = None) -> float:
        now = time.time() if now is None else now
        with self._lock:
            return self._elapsed + max(0.0, now - self._session_start)

    def document(self, now: float | None = None) -> dict[str, Any]:
        now = time.time() if now is None else now
        running = max(self.running_seconds(now), 1e-3)
        with self._lock:
            counts, orders = dict(self._counts), self._orders
        document: dict[str, Any] = {
            "started": now - running,
            "now": now,
            "meters": {name: counts[name] for name in sorted(counts)},
        }
        if orders:
            document["orders_per_day"] = orders * SECONDS_PER_DAY / running
        return document

    def reset(self) -> None:
        with self._lock:
            self._counts, self._orders = {}, 0
            self._elapsed, self._session_start = 0.0, time.time()
        self.save()

    def save(self) -> None:
        """Write the counts (atomically) to the state dir; nothing without one."""
        if self._path is None:
            return
        now = time.time()
        with self._lock:
            data = {
                "meters": dict(self._counts),
                "orders": self._orders,
                "elapsed_seconds": self._elapsed + max(0.0, now - self._session_start),
            }
        self._path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(
            "w", dir=self._path.parent, prefix=".meters.", delete=False, encoding="utf-8"
        ) as handle:
            json.dump(data, handle, sort_keys=True)
        os.replace(handle.name, self._path)


_current = Meters()
_current_lock = threading.Lock()


def current() -> Meters:
    """The meters of the local stack running in this process (moto's state is per process)."""
    return _current


def activate(meters: Meters) -> Meters:
    """Count into `meters` from now on; the meters that counted before."""
    global _current
    with _current_lock:
        previous, _current = _current, meters
    return previous


def deactivate(meters: Meters, previous: Meters) -> None:
    """`meters` stop counting (their stack stopped): `previous` counts again, as it did before
    that stack started, so a stack started and stopped inside another's process (a test, or
    `demo --local`) leaves the outer stack's meters counting."""
    global _current
    with _current_lock:
        if _current is meters:
            _current = previous


def add(name: str, amount: float) -> None:
    _current.add(name, amount)
