"""Python's GC for the local stack's processes, which hold much long-lived state."""

from __future__ import annotations

import gc

# The server keeps every emulated resource's state: millions of long-lived objects once a few
# thousand changes went through. Each full collection of Python's GC scans them all (0.3-0.5 s
# with the GIL held, several times a minute under the end-to-end benchmark's load); collecting
# the oldest generation after 1,000 younger collections instead of 10 makes that rare. Young
# objects (a request's garbage) are collected as often as before.
OLDEST_GENERATION_THRESHOLD = 1000


def collect_oldest_rarely() -> tuple[int, int, int]:
    """Raise the oldest generation's threshold; returns the thresholds it replaced."""
    previous = gc.get_threshold()
    young, middle, oldest = previous
    gc.set_threshold(young, middle, max(oldest, OLDEST_GENERATION_THRESHOLD))
    return previous
