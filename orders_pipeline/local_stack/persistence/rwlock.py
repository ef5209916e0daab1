"""A lock every change to moto's state shares and a snapshot takes alone."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager


class StateLock:
    """Shared by every change to moto's state (a mutating request, a background job's write);
    exclusive for a snapshot. Reads need neither: a snapshot only reads too.

    A waiting snapshot goes first: new requests wait the few milliseconds it takes rather than
    keep it out for ever under load. Shared holders may nest (a request that runs a hook that
    takes it again).
    """

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self._shared = 0
        self._exclusive = False
        self._waiting_exclusive = 0
        self._local = threading.local()

    @contextmanager
    def shared(self) -> Iterator[None]:
        depth = getattr(self._local, "depth", 0)
        if depth == 0:
            with self._condition:
                while self._exclusive or self._waiting_exclusive:
                    self._condition.wait()
                self._shared += 1
        self._local.depth = depth + 1
        try:
            yield
        finally:
            self._local.depth = depth
            if depth == 0:
                with self._condition:
                    self._shared -= 1
                    if self._shared == 0:
                        self._condition.notify_all()

    @contextmanager
    def exclusive(self, timeout: float) -> Iterator[bool]:
        """Hold the lock alone; yields False (without holding it) after `timeout` seconds.

        Giving up lets the shared holders run on: one may be waiting on another request (moto
        sometimes calls itself), which a waiting snapshot would hold back for ever.
        """
        deadline = time.monotonic() + timeout
        with self._condition:
            self._waiting_exclusive += 1
            try:
                while self._exclusive or self._shared:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._condition.wait(remaining)
                acquired = not (self._exclusive or self._shared)
            finally:
                self._waiting_exclusive -= 1
                if not acquired:
                    self._condition.notify_all()
            if acquired:
                self._exclusive = True
        try:
            yield acquired
        finally:
            if acquired:
                with self._condition:
                    self._exclusive = False
                    self._condition.notify_all()
