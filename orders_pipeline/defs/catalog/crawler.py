"""Run a Glue crawler to completion: start it (or join a running crawl), wait with a deadline.
Takes a boto3 Glue client and a clock, so the waiting is tested without a real crawler."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError


class CrawlFailedError(RuntimeError):
    """The crawl ended FAILED or CANCELLED, or did not finish before the deadline."""


@dataclass(frozen=True)
class CrawlResult:
    crawler: str
    status: str
    seconds: float
    joined_running_crawl: bool


def _state(glue: Any, name: str) -> tuple[str, dict[str, Any]]:
    crawler = glue.get_crawler(Name=name)["Crawler"]
    return crawler["State"], crawler.get("LastCrawl", {})


def _wait_for_crawl_end(
    glue: Any,
    name: str,
    deadline: float,
    clock: Callable[[], float],
    sleep: Callable[[float], None],
    poll_seconds: float,
    after_start_time: Any = None,
) -> dict[str, Any]:
    """Poll until the crawler is READY with a LastCrawl newer than `after_start_time`."""
    while True:
        state, last_crawl = _state(glue, name)
        if state == "READY" and last_crawl.get("StartTime") != after_start_time:
            return last_crawl
        if clock() >= deadline:
            raise CrawlFailedError(f"crawler {name} still {state} when the deadline passed")
        sleep(poll_seconds)


def run_crawler(
    glue: Any,
    name: str,
    *,
    timeout_seconds: float = 600,
    poll_seconds: float = 1.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> CrawlResult:
    """Crawl once from now on and return how it ended; raises CrawlFailedError on failure.

    A crawl already running (CrawlerRunningException) may have started before the newest
    objects landed, so it is waited for and then a fresh crawl is started.
    """
    started = clock()
    deadline = started + timeout_seconds
    joined = False
    while True:
        _, previous_crawl = _state(glue, name)
        try:
            glue.start_crawler(Name=name)
            break
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "CrawlerRunningException":
                raise
            joined = True
            _wait_for_crawl_end(
                glue, name, deadline, clock, sleep, poll_seconds, previous_crawl.get("StartTime")
            )
    # Right after start_crawler the previous crawl may still be what get_crawler reports, so
    # the crawl is ours only once LastCrawl.StartTime changes.
    last_crawl = _wait_for_crawl_end(
        glue, name, deadline, clock, sleep, poll_seconds, previous_crawl.get("StartTime")
    )
    status = last_crawl.get("Status", "UNKNOWN")
    if status != "SUCCEEDED":
        message = last_crawl.get("ErrorMessage") or "no error message"
        raise CrawlFailedError(f"crawler {name} ended {status}: {message}")
    return CrawlResult(
        crawler=name, status=status, seconds=clock() - started, joined_running_crawl=joined
    )
