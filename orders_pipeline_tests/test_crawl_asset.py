"""Running the Glue crawler: join a running crawl, fail with its message, keep a deadline."""

import pytest
from botocore.exceptions import ClientError

from orders_pipeline.defs.catalog.crawler import CrawlFailedError, run_crawler


class FakeGlue:
    """get_crawler answers from a script of (State, LastCrawl) pairs; start_crawler may refuse."""

    def __init__(self, states, running_refusals: int = 0) -> None:
        self.states = list(states)
        self.refusals = running_refusals
        self.starts = 0

    def get_crawler(self, Name):
        state, last_crawl = self.states[0] if len(self.states) == 1 else self.states.pop(0)
        return {"Crawler": {"Name": Name, "State": state, "LastCrawl": last_crawl}}

    def start_crawler(self, Name):
        if self.refusals:
            self.refusals -= 1
            error = {"Error": {"Code": "CrawlerRunningException", "Message": "already running"}}
            raise ClientError(error, "StartCrawler")
        self.starts += 1


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


PREVIOUS = {"Status": "SUCCEEDED", "StartTime": "t0"}


def crawl(glue, timeout=60):
    clock = FakeClock()
    return run_crawler(glue, "c", timeout_seconds=timeout, clock=clock, sleep=clock.sleep)


def test_waits_for_its_own_crawl_to_succeed():
    glue = FakeGlue(
        [
            ("READY", PREVIOUS),  # before start
            ("READY", PREVIOUS),  # the previous crawl is still what get_crawler shows
            ("RUNNING", PREVIOUS),
            ("READY", {"Status": "SUCCEEDED", "StartTime": "t1"}),
        ]
    )
    result = crawl(glue)
    assert (result.status, result.joined_running_crawl, glue.starts) == ("SUCCEEDED", False, 1)


def test_a_crawl_already_running_is_waited_for_then_a_fresh_one_starts():
    glue = FakeGlue(
        [
            ("RUNNING", PREVIOUS),  # before the refused start
            ("RUNNING", PREVIOUS),
            ("READY", {"Status": "SUCCEEDED", "StartTime": "t1"}),  # the other crawl ends
            ("READY", {"Status": "SUCCEEDED", "StartTime": "t1"}),  # before our start
            ("READY", {"Status": "SUCCEEDED", "StartTime": "t2"}),  # ours ends
        ],
        running_refusals=1,
    )
    result = crawl(glue)
    assert result.joined_running_crawl and glue.starts == 1


def test_a_failed_crawl_fails_with_the_crawlers_message():
    failed = {"Status": "FAILED", "StartTime": "t1", "ErrorMessage": "malformed JSON in part-3"}
    glue = FakeGlue([("READY", PREVIOUS), ("READY", failed)])
    with pytest.raises(CrawlFailedError, match="crawler c ended FAILED: malformed JSON in part-3"):
        crawl(glue)


def test_a_crawl_that_never_finishes_fails_at_the_deadline():
    glue = FakeGlue([("READY", PREVIOUS), ("RUNNING", PREVIOUS)])
    with pytest.raises(CrawlFailedError, match="crawler c still RUNNING when the deadline passed"):
        crawl(glue, timeout=5)


def test_other_start_errors_are_not_swallowed():
    class Missing(FakeGlue):
        def start_crawler(self, Name):
            raise ClientError({"Error": {"Code": "EntityNotFoundException"}}, "StartCrawler")

    with pytest.raises(ClientError, match="EntityNotFoundException"):
        crawl(Missing([("READY", PREVIOUS)]))
