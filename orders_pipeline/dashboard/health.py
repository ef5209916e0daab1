"""Pipeline health beside the KPIs: event freshness, Firehose failures, the last Glue crawl."""

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

NO_EVENTS = "no events yet"


@dataclass(frozen=True)
class LastCrawl:
    status: str
    started_at: datetime | None
    error_message: str | None = None


@dataclass(frozen=True)
class PipelineHealth:
    checked_at: datetime
    newest_event_time: datetime | None
    # Failed records under the Firehose error prefix, per errorCode.
    firehose_failures: dict[str, int] = field(default_factory=dict)
    crawler_state: str | None = None
    last_crawl: LastCrawl | None = None

    @property
    def newest_event_age(self) -> timedelta | None:
        if self.newest_event_time is None:
            return None
        return self.checked_at - self.newest_event_time

    @property
    def firehose_failed_records(self) -> int:
        return sum(self.firehose_failures.values())


@dataclass(frozen=True)
class HealthSignal:
    """One health signal as a person reads it; `raw` is the machine value (seconds, count...)."""

    name: str
    label: str
    text: str
    detail: str
    raw: str
    warn: bool


def describe_health(health: PipelineHealth) -> list[HealthSignal]:
    """The health signals in page order, worded once for the page and the Dagster summary."""
    age = health.newest_event_age
    failures = health.firehose_failed_records
    crawl = health.last_crawl
    crawl_detail = f"crawler {health.crawler_state}" if health.crawler_state else ""
    if crawl is not None and crawl.started_at is not None:
        crawl_detail = f"started {format_timestamp(crawl.started_at)}; {crawl_detail}"
    return [
        HealthSignal(
            name="newest_event_age",
            label="Newest event age",
            text=NO_EVENTS if age is None else format_age(age),
            detail=(
                ""
                if health.newest_event_time is None
                else f"newest event {format_timestamp(health.newest_event_time)}"
            ),
            raw="" if age is None else str(int(age.total_seconds())),
            warn=False,
        ),
        HealthSignal(
            name="firehose_failed_records",
            label="Firehose processing failures",
            text=f"{failures:,}",
            detail=", ".join(
                f"{code}: {count:,}" for code, count in sorted(health.firehose_failures.items())
            )
            or "no records under the error prefix",
            raw=str(failures),
            warn=failures > 0,
        ),
        HealthSignal(
            name="last_crawl",
            label="Last crawl",
            text="never crawled" if crawl is None else crawl.status,
            detail=(crawl.error_message or crawl_detail) if crawl else crawl_detail,
            raw="" if crawl is None else crawl.status,
            warn=crawl is not None and crawl.status in ("FAILED", "CANCELLED"),
        ),
    ]


def format_age(age: timedelta) -> str:
    """A duration the way a person says it: '42 s', '12 min', '3 h 5 min', '2 d 4 h'."""
    seconds = max(int(age.total_seconds()), 0)  # clock skew must not show a negative age
    minutes, hours, days = seconds // 60, seconds // 3600, seconds // 86400
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{minutes} min"
    if seconds < 86400:
        return f"{hours} h {minutes % 60} min"
    return f"{days} d {hours % 24} h"


def format_timestamp(moment: datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")
