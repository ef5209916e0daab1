"""Sensors on the Firehose landing zone: new deliveries start an ingest run (register new
partitions, crawl only for a new column, refresh the analytics of the days they touch); new error
records fail a check. Each tick lists only where a delivery can be (arrivals.py)."""

import hashlib
import json
import os
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import dagster as dg

from orders_pipeline import tables
from orders_pipeline.defs.ingestion.arrivals import (
    ArrivalCursor,
    DeliveryNames,
    dt_of,
    listings,
    new_arrivals,
    record_keys,
)
from orders_pipeline.defs.ingestion.assets import (
    PROCESSING_FAILURES_CHECK,
    RAW_ORDER_EVENTS,
    error_summary_metadata,
    read_error_summary,
)
from orders_pipeline.defs.resources import DataLakeResource, GlueCatalogResource, StreamsResource
from orders_pipeline.lib.jobs import INGEST_JOB, ingest_run_config

# A refresh costs Athena queries however little it brings: deliveries that land closer together
# wait for the next one. Three minutes from landing to the daily tables stays the bound.
REFRESH_SPACING_ENV_VAR = "ORDERS_REFRESH_SPACING_SECONDS"
DEFAULT_REFRESH_SPACING = timedelta(seconds=120)
# How much of each new object is read to see its records' attributes (a ranged GET).
HEAD_BYTES = 64 * 1024
_ACTIVE_RUN_STATUSES = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
]


def refresh_spacing() -> timedelta:
    text = os.environ.get(REFRESH_SPACING_ENV_VAR)
    return timedelta(seconds=float(text)) if text else DEFAULT_REFRESH_SPACING


def _names(streams: StreamsResource) -> DeliveryNames:
    delivery = streams.delivery_summary()
    return DeliveryNames(
        stream=streams.delivery_stream,
        version=str(delivery["version"]),
        buffer_interval=timedelta(
            seconds=delivery["buffering_hints"].get("IntervalInSeconds", 300)
        ),
    )


def list_new(
    data_lake: DataLakeResource,
    folders: Iterable[str],
    names: DeliveryNames,
    cursor: ArrivalCursor,
    now: datetime,
) -> tuple[list[Mapping[str, Any]], ArrivalCursor, int]:
    """The deliveries new since the cursor in `folders`; the next cursor; the LIST calls made."""
    listed: list[Mapping[str, Any]] = []
    calls = 0
    for listing in listings(folders, names, now):
        found, pages = data_lake.list_after(listing.prefix, listing.start_after)
        listed += found
        calls += pages
    new, cursor = new_arrivals(listed, cursor, now, names.lookback)
    return new, cursor, calls


class PendingIngest:
    """What deliveries asked for that no run has done yet (kept in the sensor's cursor)."""

    def __init__(self, data: Mapping[str, Any] | None = None) -> None:
        data = data or {}
        self.days: set[str] = set(data.get("days", []))
        self.columns: set[str] = set(data.get("columns", []))
        self.objects: int = int(data.get("objects", 0))
        self.last_request: str | None = data.get("last_request")

    def to_dict(self) -> dict[str, Any]:
        return {
            "days": sorted(self.days),
            "columns": sorted(self.columns),
            "objects": self.objects,
            "last_request": self.last_request,
        }


def _new_columns(
    data_lake: DataLakeResource, glue: GlueCatalogResource, objects: list[Mapping[str, Any]]
) -> set[str]:
    """Attributes the new objects' records carry that the raw table lacks."""
    if not objects or not glue.table_exists(glue.raw_table):
        return set()
    seen: set[str] = set()
    for obj in objects:
        seen |= record_keys(data_lake.read_head(obj["Key"], HEAD_BYTES))
    known = set(glue.columns(glue.raw_table)) | {tables.PARTITION_COLUMN}
    return seen - known


@dg.sensor(
    name="firehose_delivery_sensor",
    description=(
        "Starts an ingest run when Firehose delivers new objects: registers new dt partitions, "
        "crawls only when a record brings a column the table lacks, refreshes the analytics of "
        "the days touched. Lists only the last days' folders from the lookback window on."
    ),
    job_name=INGEST_JOB,
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def firehose_delivery_sensor(
    context: dg.SensorEvaluationContext,
    data_lake: DataLakeResource,
    glue: GlueCatalogResource,
    streams: StreamsResource,
) -> dg.SensorResult:
    state = json.loads(context.cursor) if context.cursor else {}
    cursor = ArrivalCursor.from_json(json.dumps(state.get("arrivals") or {}))
    pending = PendingIngest(state.get("pending"))
    now = datetime.now(UTC)
    folders = data_lake.recent_raw_folders(now)
    started = time.monotonic()
    new, cursor, calls = list_new(data_lake, folders, _names(streams), cursor, now)
    listing_seconds = time.monotonic() - started
    pending.days |= {day for obj in new if (day := dt_of(obj["Key"], data_lake.raw_prefix))}
    pending.columns |= _new_columns(data_lake, glue, new)
    pending.objects += len(new)
    events: list[Any] = []
    if new:
        events.append(
            dg.AssetObservation(
                asset_key=RAW_ORDER_EVENTS,
                metadata={
                    "new_objects": dg.MetadataValue.int(len(new)),
                    "new_bytes": dg.MetadataValue.int(sum(obj["Size"] for obj in new)),
                    "newest_object": dg.MetadataValue.text(new[-1]["Key"]),
                    "event_days": dg.MetadataValue.json(sorted(pending.days)),
                    "list_calls": dg.MetadataValue.int(calls),
                },
            )
        )
    requests, skip = [], None
    last = datetime.fromisoformat(pending.last_request) if pending.last_request else None
    if not pending.days:
        skip = "no new objects under the raw prefix"
    elif last is not None and now - last < refresh_spacing():
        skip = f"waiting {refresh_spacing().total_seconds():g} s between ingest runs"
    elif context.instance.get_runs(
        dg.RunsFilter(job_name=INGEST_JOB, statuses=_ACTIVE_RUN_STATUSES), limit=1
    ):
        skip = "an ingest run is still in progress; its successor will take these deliveries"
    else:
        key = hashlib.sha256(
            json.dumps([sorted(pending.days), sorted(pending.columns), now.isoformat()]).encode()
        ).hexdigest()[:16]
        requests.append(
            dg.RunRequest(
                run_key=f"ingest-{key}",
                run_config=ingest_run_config(sorted(pending.days), sorted(pending.columns)),
                tags={
                    "orders_pipeline/new_objects": str(pending.objects),
                    "orders_pipeline/event_days": ",".join(sorted(pending.days)),
                },
            )
        )
        pending = PendingIngest({"last_request": now.isoformat()})
    state = {
        "arrivals": json.loads(cursor.to_json()),
        "pending": pending.to_dict(),
        # What this tick cost (the steady-state benchmark reads it from the cursor).
        "tick": {"at": now.isoformat(), "list_calls": calls, "seconds": round(listing_seconds, 4)},
    }
    return dg.SensorResult(
        run_requests=requests,
        asset_events=events,
        cursor=json.dumps(state),
        skip_reason=skip if not requests else None,
    )


@dg.sensor(
    name="firehose_error_sensor",
    description=(
        "Fails the no_processing_failures check when Firehose writes new error records; lists "
        "only today's and yesterday's error folders from the lookback window on."
    ),
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def firehose_error_sensor(
    context: dg.SensorEvaluationContext, data_lake: DataLakeResource, streams: StreamsResource
) -> dg.SensorResult:
    cursor = ArrivalCursor.from_json(context.cursor)
    now = datetime.now(UTC)
    # The error prefix's dt= is the day Firehose failed: today, and yesterday past midnight.
    folders = data_lake.recent_error_folders(now)
    new, cursor, _ = list_new(data_lake, folders, _names(streams), cursor, now)
    if not new:
        return dg.SensorResult(skip_reason="no new error records", cursor=cursor.to_json())
    summary = read_error_summary(data_lake, new)
    return dg.SensorResult(
        asset_events=[
            dg.AssetCheckEvaluation(
                asset_key=RAW_ORDER_EVENTS,
                check_name=PROCESSING_FAILURES_CHECK,
                passed=summary.failed_records == 0,
                metadata={
                    **error_summary_metadata(summary),
                    "new_error_objects": dg.MetadataValue.int(len(new)),
                },
            )
        ],
        cursor=cursor.to_json(),
    )
