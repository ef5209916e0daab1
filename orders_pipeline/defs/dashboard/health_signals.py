"""Read the pipeline's health signals through the shared resources (Athena, S3, Glue)."""

from __future__ import annotations

from datetime import datetime

from orders_pipeline.dashboard.health import LastCrawl, PipelineHealth
from orders_pipeline.dashboard.queries import read_newest_event_time
from orders_pipeline.defs.resources import AthenaResource, DataLakeResource, GlueCatalogResource
from orders_pipeline.lib.firehose_errors import read_error_summary


def read_last_crawl(glue: GlueCatalogResource) -> tuple[str, LastCrawl | None]:
    """The crawler's state (READY, RUNNING, ...) and its last finished crawl, if any."""
    crawler = glue.client().get_crawler(Name=glue.crawler_name)["Crawler"]
    last = crawler.get("LastCrawl")
    if not last:
        return crawler["State"], None
    return crawler["State"], LastCrawl(
        status=last["Status"],
        started_at=last.get("StartTime"),
        error_message=last.get("ErrorMessage") or None,
    )


def read_pipeline_health(
    athena: AthenaResource,
    glue: GlueCatalogResource,
    data_lake: DataLakeResource,
    *,
    now: datetime,
) -> PipelineHealth:
    """Newest event time (Athena), today's and yesterday's Firehose error records, last crawl."""
    errors = read_error_summary(
        data_lake.read, data_lake.objects_in(data_lake.recent_error_folders(now))
    )
    state, last_crawl = read_last_crawl(glue)
    return PipelineHealth(
        checked_at=now,
        newest_event_time=read_newest_event_time(
            lambda sql: athena.run(sql).rows, database=athena.database
        ),
        firehose_failures=errors.error_codes,
        crawler_state=state,
        last_crawl=last_crawl,
    )
