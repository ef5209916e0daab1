"""moto Glue hooks: the classifier API, crawls that really crawl (in a thread), crawler metrics."""

# Relies on moto 5.2.5's `GlueResponse` (actions looked up per request), `FakeCrawler.crawls`,
# `FakeCrawl` and `GlueBackend`'s catalog methods; `check_internals()` names any that moved.

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime
from typing import Any

from moto.core.utils import utcnow
from moto.glue.exceptions import (
    AlreadyExistsException,
    CrawlerRunningException,
    EntityNotFoundException,
    InvalidInputException,
    PartitionNotFoundException,
)
from moto.glue.models import FakeCrawl, FakeCrawler, GlueBackend, glue_backends
from moto.glue.responses import GlueResponse

from orders_pipeline.local_stack.glue_crawler import CrawlerSettings, CrawlSummary, crawl
from orders_pipeline.local_stack.moto_hooks.internals import require_members
from orders_pipeline.local_stack.moto_hooks.s3_objects import MotoObjectStore

CLASSIFIER_KINDS = ("GrokClassifier", "XMLClassifier", "JsonClassifier", "CsvClassifier")
# moto's crawl states -> what AWS reports as the crawler's LastCrawl.Status.
_LAST_CRAWL_STATUS = {"COMPLETED": "SUCCEEDED", "FAILED": "FAILED", "STOPPED": "CANCELLED"}

_lock = threading.Lock()


def check_internals() -> None:
    """Raise naming the first moto internal these hooks need that is gone (after an upgrade)."""
    needed = {
        FakeCrawler: ("start_crawler", "as_dict", "status"),
        FakeCrawl: ("as_dict", "advance", "status"),
        GlueBackend: (
            "get_crawler", "get_database", "get_databases", "create_database", "get_table",
            "get_tables", "create_table", "update_table", "delete_table",
            "batch_create_partition", "delete_partition",
        ),
        GlueResponse: ("glue_backend", "parameters"),
    }  # fmt: skip
    require_members(__name__, needed)


class MotoGlueCatalog:
    """A `GlueCatalog` over one region's moto Glue backend."""

    def __init__(self, backend: GlueBackend) -> None:
        self._backend = backend

    def database_exists(self, database: str) -> bool:
        return database in self._backend.databases

    def create_database(self, database: str) -> None:
        self._backend.create_database(database, {"Name": database})

    def list_tables(self, database: str) -> list[dict[str, Any]]:
        return [t.as_dict() for t in self._backend.get_tables(database, None)]

    def get_table(self, database: str, name: str) -> dict[str, Any] | None:
        try:
            return self._backend.get_table(database, name).as_dict()
        except EntityNotFoundException:  # no such table, or no such database
            return None

    def create_table(self, database: str, table_input: dict[str, Any]) -> None:
        self._backend.create_table(database, table_input["Name"], table_input)

    def update_table(self, database: str, table_input: dict[str, Any]) -> None:
        self._backend.update_table(database, table_input["Name"], table_input)

    def delete_table(self, database: str, name: str) -> None:
        self._backend.delete_table(database, name)

    def get_partitions(self, database: str, table: str) -> list[dict[str, Any]]:
        return [p.as_dict() for p in self._backend.get_table(database, table).partitions.values()]

    def create_partitions(
        self, database: str, table: str, partition_inputs: list[dict[str, Any]]
    ) -> None:
        errors = self._backend.batch_create_partition(database, table, partition_inputs)
        if errors:
            raise RuntimeError(f"creating partitions of {database}.{table} failed: {errors}")

    def delete_partition(self, database: str, table: str, values: list[str]) -> None:
        try:
            self._backend.delete_partition(database, table, values)
        except PartitionNotFoundException:
            raise KeyError(f"partition {values} of {database}.{table} does not exist") from None


# --- classifiers ------------------------------------------------------------------------------


def _classifiers(backend: GlueBackend) -> dict[str, dict[str, Any]]:
    # Kept on the backend object so moto's reset (which replaces backends) clears them too.
    return backend.__dict__.setdefault("orders_pipeline_classifiers", {})


def _classifier_kind(request: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    kinds = [k for k in CLASSIFIER_KINDS if k in request]
    if len(kinds) != 1:
        raise InvalidInputException(
            "CreateClassifier", f"exactly one of {', '.join(CLASSIFIER_KINDS)} is required"
        )
    spec = dict(request[kinds[0]])
    if not spec.get("Name"):
        raise InvalidInputException("CreateClassifier", f"{kinds[0]}.Name is required")
    return kinds[0], spec


def _backend(account_id: str, region: str) -> GlueBackend:
    return glue_backends[account_id][region]


def put_classifier(account_id: str, region: str, request: dict[str, Any]) -> None:
    """CreateClassifier for `request` shaped like boto3's (e.g. {"JsonClassifier": {...}})."""
    kind, spec = _classifier_kind(request)
    now = datetime.now(UTC)
    with _lock:
        classifiers = _classifiers(_backend(account_id, region))
        if spec["Name"] in classifiers:
            raise AlreadyExistsException(f"Classifier {spec['Name']}")
        classifiers[spec["Name"]] = {
            kind: {**spec, "CreationTime": now, "LastUpdated": now, "Version": 1}
        }


def remove_classifier(account_id: str, region: str, name: str) -> None:
    with _lock:
        if _classifiers(_backend(account_id, region)).pop(name, None) is None:
            raise EntityNotFoundException(f"Classifier {name} not found.")


def _update_classifier(account_id: str, region: str, request: dict[str, Any]) -> None:
    kind, spec = _classifier_kind(request)
    with _lock:
        classifiers = _classifiers(_backend(account_id, region))
        current = classifiers.get(spec["Name"])
        if current is None:
            raise EntityNotFoundException(f"Classifier {spec['Name']} not found.")
        if kind not in current:
            raise InvalidInputException(
                "UpdateClassifier", f"classifier {spec['Name']} is not a {kind}"
            )
        old = current[kind]
        current[kind] = {
            **old, **spec, "LastUpdated": datetime.now(UTC), "Version": old["Version"] + 1,
        }  # fmt: skip


def _as_wire(classifier: dict[str, Any]) -> dict[str, Any]:
    kind, spec = next(iter(classifier.items()))
    return {kind: {k: (v.timestamp() if isinstance(v, datetime) else v) for k, v in spec.items()}}


def _create_classifier(self: GlueResponse) -> str:
    put_classifier(self.current_account, self.region, self.parameters)
    return "{}"


def _get_classifier(self: GlueResponse) -> str:
    name = self.parameters.get("Name")
    found = _classifiers(self.glue_backend).get(name)
    if found is None:
        raise EntityNotFoundException(f"Classifier {name} not found.")
    return json.dumps({"Classifier": _as_wire(found)})


def _get_classifiers(self: GlueResponse) -> str:
    params = self.parameters
    everything = sorted(_classifiers(self.glue_backend).items())
    start = int(params.get("NextToken") or 0)
    size = int(params.get("MaxResults") or 1000)
    page = everything[start : start + size]
    body: dict[str, Any] = {"Classifiers": [_as_wire(c) for _, c in page]}
    if start + size < len(everything):
        body["NextToken"] = str(start + size)
    return json.dumps(body)


def _delete_classifier(self: GlueResponse) -> str:
    remove_classifier(self.current_account, self.region, self.parameters.get("Name"))
    return "{}"


def _update_classifier_action(self: GlueResponse) -> str:
    _update_classifier(self.current_account, self.region, self.parameters)
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
    run.end_time = utcnow()
    run._state = final


def _start_crawler(self: FakeCrawler) -> None:
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


def _make_crawler_as_dict(original: Any) -> Any:
    def as_dict(self: FakeCrawler) -> dict[str, Any]:
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

    return as_dict


def _get_crawler_metrics(self: GlueResponse) -> str:
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


def install() -> None:
    """Patch moto's Glue classes once (idempotent)."""
    if getattr(GlueResponse, "_orders_pipeline_glue_hooks", False):
        return
    check_internals()
    GlueResponse.create_classifier = _create_classifier
    GlueResponse.get_classifier = _get_classifier
    GlueResponse.get_classifiers = _get_classifiers
    GlueResponse.delete_classifier = _delete_classifier
    GlueResponse.update_classifier = _update_classifier_action
    GlueResponse.get_crawler_metrics = _get_crawler_metrics
    FakeCrawler.start_crawler = _start_crawler
    FakeCrawler.as_dict = _make_crawler_as_dict(FakeCrawler.as_dict)
    GlueResponse._orders_pipeline_glue_hooks = True
