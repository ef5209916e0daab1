"""Glue: the classifier API, crawls that really crawl (in a thread), crawler metrics."""

from __future__ import annotations

import json
import threading
import time
from datetime import datetime
from typing import Any

from moto.core.utils import utcnow
from moto.glue.exceptions import CrawlerRunningException, EntityNotFoundException
from moto.glue.models import FakeCrawl, FakeCrawler, GlueBackend
from moto.glue.responses import GlueResponse

from orders_pipeline.local_stack.glue import metering as glue_metering
from orders_pipeline.local_stack.glue.catalog import MotoGlueCatalog
from orders_pipeline.local_stack.glue.classifiers import (
    classifiers_of,
    put_classifier,
    remove_classifier,
    update_classifier,
)
from orders_pipeline.local_stack.glue.crawler import CrawlerSettings, CrawlSummary, crawl
from orders_pipeline.local_stack.patching import (
    adds,
    calls,
    replaces,
    requires,
    requires_attributes,
    wraps,
)
from orders_pipeline.local_stack.persistence import store
from orders_pipeline.local_stack.s3.objects import MotoObjectStore

# moto's crawl states -> what AWS reports as the crawler's LastCrawl.Status.
_LAST_CRAWL_STATUS = {"COMPLETED": "SUCCEEDED", "FAILED": "FAILED", "STOPPED": "CANCELLED"}

_lock = threading.Lock()

requires(GlueResponse, "glue_backend", "parameters", declared_in=__name__)
requires(FakeCrawl, "as_dict", "advance", "status", declared_in=__name__)
requires(GlueBackend, "get_crawler", declared_in=__name__)


# --- classifiers ------------------------------------------------------------------------------

calls(GlueBackend, "get_crawler", "self", "name", declared_in=__name__)
calls(FakeCrawl, "__init__", "self", "crawler_name", declared_in=__name__)
requires_attributes(
    FakeCrawl,
    "log_group",
    "log_stream",
    "message_prefix",
    "start_time",
    "end_time",
    declared_in=__name__,
)
requires_attributes(
    FakeCrawler,
    "name", "crawls", "targets", "schema_change_policy", "table_prefix", "database_name",
    "backend", "crawl_elapsed_time",
    declared_in=__name__,
)  # fmt: skip


def _as_wire(classifier: dict[str, Any]) -> dict[str, Any]:
    kind, spec = next(iter(classifier.items()))
    return {kind: {k: (v.timestamp() if isinstance(v, datetime) else v) for k, v in spec.items()}}


@adds(GlueResponse, "create_classifier")
def create_classifier(self: GlueResponse) -> str:
    put_classifier(self.current_account, self.region, self.parameters)
    return "{}"


@adds(GlueResponse, "get_classifier")
def get_classifier(self: GlueResponse) -> str:
    name = self.parameters.get("Name")
    found = classifiers_of(self.glue_backend).get(name)
    if found is None:
        raise EntityNotFoundException(f"Classifier {name} not found.")
    return json.dumps({"Classifier": _as_wire(found)})


@adds(GlueResponse, "get_classifiers")
def get_classifiers(self: GlueResponse) -> str:
    params = self.parameters
    everything = sorted(classifiers_of(self.glue_backend).items())
    start = int(params.get("NextToken") or 0)
    size = int(params.get("MaxResults") or 1000)
    page = everything[start : start + size]
    body: dict[str, Any] = {"Classifiers": [_as_wire(c) for _, c in page]}
    if start + size < len(everything):
        body["NextToken"] = str(start + size)
    return json.dumps(body)


@adds(GlueResponse, "delete_classifier")
def delete_classifier(self: GlueResponse) -> str:
    remove_classifier(self.current_account, self.region, self.parameters.get("Name"))
    return "{}"


@adds(GlueResponse, "update_classifier")
def update_classifier_action(self: GlueResponse) -> str:
    update_classifier(self.current_account, self.region, self.parameters)
    return "{}"


# --- crawls -----------------------------------------------------------------------------------


class CatalogCrawl(FakeCrawl):
    """A crawl whose state is set by the crawl thread instead of moto's state manager."""

    def __init__(self, crawler_name: str) -> None:
        super().__init__(crawler_name)
        self._state = "RUNNING"
        self.error_message: str | None = None
        self.summary: CrawlSummary | None = None
        self.stop_requested = False

    @property
    def status(self) -> str:  # type: ignore[override]
        return self._state

    @status.setter
    def status(self, value: str) -> None:
        # moto's stop_crawler sets STOPPING: remember the request, the thread finishes the crawl.
        if value == "STOPPING" and self._state == "RUNNING":
            self.stop_requested = True
        self._state = value

    def advance(self) -> None:
        """State moves only with the crawl thread."""


def _settings(crawler: FakeCrawler) -> CrawlerSettings:
    targets = [t["Path"] for t in (crawler.targets or {}).get("S3Targets", [])]
    policy = crawler.schema_change_policy or {}
    return CrawlerSettings(
        name=crawler.name,
        database=crawler.database_name,
        s3_targets=targets,
        table_prefix=crawler.table_prefix or "",
        update_behavior=policy.get("UpdateBehavior", "UPDATE_IN_DATABASE"),
    )


def _run_crawl(crawler: FakeCrawler, run: CatalogCrawl) -> None:
    backend: GlueBackend = crawler.backend
    started = time.monotonic()
    try:
        run.summary = crawl(
            _settings(crawler),
            MotoObjectStore(backend.account_id, backend.region_name),
            MotoGlueCatalog(backend),
        )
        final = "STOPPED" if run.stop_requested else "COMPLETED"
    except Exception as err:  # the crawl's failure is its result, reported in LastCrawl
        run.error_message = getattr(err, "message", None) or str(err) or type(err).__name__
        final = "FAILED"
    run._state = "STOPPING"
    crawler.crawl_elapsed_time = int((time.monotonic() - started) * 1000)
    glue_metering.crawler_run(time.monotonic() - started)
    run.end_time = utcnow()
    run._state = final
    store.current().mark_dirty()


@replaces(FakeCrawler, "start_crawler")
def start_crawler(self: FakeCrawler) -> None:
    with _lock:
        if self.crawls and self.crawls[-1].status in ("RUNNING", "STOPPING"):
            raise CrawlerRunningException(f"Crawler with name {self.name} has already started")
        run = CatalogCrawl(self.name)
        self.crawls.append(run)
    threading.Thread(
        target=_run_crawl, args=(self, run), name=f"glue-crawl-{self.name}", daemon=True
    ).start()


def _finished(crawler: FakeCrawler) -> list[FakeCrawl]:
    return [c for c in crawler.crawls if c.status in _LAST_CRAWL_STATUS]


@wraps(FakeCrawler, "as_dict")
def crawler_as_dict(original: Any, self: FakeCrawler) -> dict[str, Any]:
    """moto's crawler, with AWS's LastCrawl (status names, the error message of a failure)."""
    data = original(self)
    data.pop("LastCrawl", None)
    finished = _finished(self)
    if finished:
        last = finished[-1]
        data["LastCrawl"] = {
            "Status": _LAST_CRAWL_STATUS[last.status],
            "LogGroup": last.log_group,
            "LogStream": last.log_stream,
            "MessagePrefix": last.message_prefix,
            "StartTime": last.start_time,
        }
        if getattr(last, "error_message", None):
            data["LastCrawl"]["ErrorMessage"] = last.error_message
    return data


@adds(GlueResponse, "get_crawler_metrics")
def get_crawler_metrics(self: GlueResponse) -> str:
    names = self.parameters.get("CrawlerNameList") or list(self.glue_backend.crawlers)
    metrics = []
    for name in names:
        crawler = self.glue_backend.get_crawler(name)
        summaries = [c.summary for c in _finished(crawler) if getattr(c, "summary", None)]
        last = summaries[-1] if summaries else CrawlSummary()
        runtimes = sorted(
            (c.end_time - c.start_time).total_seconds() for c in _finished(crawler) if c.end_time
        )
        metrics.append(
            {
                "CrawlerName": name,
                "TimeLeftSeconds": 0.0,
                "StillEstimating": False,
                "LastRuntimeSeconds": runtimes[-1] if runtimes else 0.0,
                "MedianRuntimeSeconds": runtimes[len(runtimes) // 2] if runtimes else 0.0,
                "TablesCreated": len(last.tables_created),
                "TablesUpdated": len(last.tables_updated),
                "TablesDeleted": 0,
            }
        )
    return json.dumps({"CrawlerMetricsList": metrics})
