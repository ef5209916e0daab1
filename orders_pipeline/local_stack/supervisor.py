"""Keeps a child process alive: one that dies is started again, after a back-off, at most a few
times a minute, with the reason and the count kept for `local status` and the log."""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

log = logging.getLogger(__name__)

FIRST_DELAY_SECONDS = 0.5
MAX_DELAY_SECONDS = 30.0
MAX_RESTARTS_PER_MINUTE = 6


class Child(Protocol):
    @property
    def pid(self) -> int | None: ...

    def exit_code(self) -> int | None:
        """None while the process runs."""


class Supervisor:
    """Watches the child `start()` returns (a thread polls it); restarts it when it exits."""

    def __init__(
        self,
        name: str,
        start: Callable[[], Child],
        *,
        poll_seconds: float = 0.5,
        first_delay: float = FIRST_DELAY_SECONDS,
        max_delay: float = MAX_DELAY_SECONDS,
        max_per_minute: int = MAX_RESTARTS_PER_MINUTE,
    ) -> None:
        self.name = name
        self._start = start
        self._poll_seconds = poll_seconds
        self._first_delay = first_delay
        self._max_delay = max_delay
        self._max_per_minute = max_per_minute
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.child: Child | None = None
        self.restarts = 0
        self.last_exit: str | None = None
        self.last_restart: float | None = None
        self.state = "stopped"
        self._recent: deque[float] = deque()
        self._delay = first_delay

    def start(self) -> Child:
        """Start the child (errors propagate) and begin watching it."""
        with self._lock:
            self.child = self._start()
            self.state = "running"
        self._stop.clear()
        self._thread = threading.Thread(
            target=self._watch, name=f"{self.name}-supervisor", daemon=True
        )
        self._thread.start()
        return self.child

    def stop(self) -> Child | None:
        """Stop watching (the caller stops the child); the child last started."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        with self._lock:
            self.state = "stopped"
            return self.child

    def _watch(self) -> None:
        while not self._stop.wait(self._poll_seconds):
            with self._lock:
                child = self.child
            code = child.exit_code() if child is not None else None
            if child is None or code is None:
                if child is not None and self._recent and time.monotonic() - self._recent[-1] > 60:
                    self._delay = self._first_delay  # healthy for a minute: back-off resets
                continue
            self.last_exit = f"{self.name} process (pid {child.pid}) exited with code {code}"
            log.warning("%s; restarting it", self.last_exit)
            self._restart()

    def _restart(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            while self._recent and now - self._recent[0] > 60:
                self._recent.popleft()
            wait = self._delay
            if len(self._recent) >= self._max_per_minute:
                self.state = f"waiting: {self._max_per_minute} restarts in the last minute"
                wait = max(wait, 60 - (now - self._recent[0]))
            else:
                self.state = "restarting"
            if self._stop.wait(wait):
                return
            self._recent.append(time.monotonic())
            self._delay = min(self._delay * 2, self._max_delay)
            try:
                child = self._start()
            except Exception as error:  # the next attempt follows the back-off
                self.last_exit = f"{self.name} restart failed: {type(error).__name__}: {error}"
                log.warning("%s", self.last_exit)
                continue
            with self._lock:
                self.child = child
                self.restarts += 1
                self.last_restart = time.time()
                self.state = "running"
            log.warning("%s restarted (restart %d)", self.name, self.restarts)
            return

    def status(self) -> dict[str, Any]:
        with self._lock:
            child = self.child
        return {
            "state": self.state,
            "pid": child.pid if child is not None else None,
            "restarts": self.restarts,
            "last_exit": self.last_exit,
            "last_restart": self.last_restart,
        }
