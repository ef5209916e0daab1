"""The Firehose landing zone in S3 as an observable external asset, and its error-record check."""

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import dagster as dg

from orders_pipeline.defs.resources import DataLakeResource, StreamsResource, failing_clearly
from orders_pipeline.lib.firehose_errors import ErrorSummary
from orders_pipeline.lib.firehose_errors import read_error_summary as _read_summary

RAW_ORDER_EVENTS = dg.AssetKey("raw_order_events")
PROCESSING_FAILURES_CHECK = "no_processing_failures"


def read_error_summary(
    data_lake: DataLakeResource, objects: Iterable[Mapping[str, Any]]
) -> ErrorSummary:
    """Read the given error objects and summarize the failed records they hold."""
    return _read_summary(data_lake.read, objects)


def error_summary_metadata(summary: ErrorSummary) -> dict[str, Any]:
    return {
        "failed_records": dg.MetadataValue.int(summary.failed_records),
        "error_codes": dg.MetadataValue.json(summary.error_codes),
        "sample": dg.MetadataValue.json(summary.sample),
    }


@dg.multi_observable_source_asset(
    specs=[
        dg.AssetSpec(
            RAW_ORDER_EVENTS,
            deps=["generated_orders"],
            description=(
                "Flat JSON change records that Firehose delivers under the raw prefix "
                "(Hive partitions dt=YYYY-MM-DD), and the error records it writes aside."
            ),
            kinds={"s3", "json"},
            group_name="ingestion",
        )
    ],
    name="raw_order_events_observation",
)
def raw_order_events(data_lake: DataLakeResource, streams: StreamsResource):
    """Observe the landing zone's last days (objects, bytes, newest, error objects) and the
    streams into it: a listing per recent folder, never the whole history."""
    now = datetime.now(UTC)
    with failing_clearly():
        objects = data_lake.objects_in(data_lake.recent_raw_folders(now))
        error_objects = len(data_lake.objects_in(data_lake.recent_error_folders(now)))
        kinesis = streams.kinesis_summary()
        delivery = streams.delivery_summary()
    newest = max(objects, key=lambda obj: (obj["LastModified"], obj["Key"]), default=None)
    newest_text = f"{newest['Key']} at {newest['LastModified'].isoformat()}" if newest else "none"
    yield dg.ObserveResult(
        asset_key=RAW_ORDER_EVENTS,
        data_version=dg.DataVersion(f"{len(objects)}:{newest_text}"),
        metadata={
            "recent_objects": dg.MetadataValue.int(len(objects)),
            "recent_bytes": dg.MetadataValue.int(sum(obj["Size"] for obj in objects)),
            "newest_object": dg.MetadataValue.text(newest_text),
            "recent_error_objects": dg.MetadataValue.int(error_objects),
            "delivery_stream": dg.MetadataValue.text(streams.delivery_stream),
            "delivery_stream_status": dg.MetadataValue.text(delivery["status"]),
            "delivery_buffering_hints": dg.MetadataValue.json(delivery["buffering_hints"]),
            "kinesis_stream": dg.MetadataValue.text(streams.kinesis_stream),
            "kinesis_stream_status": dg.MetadataValue.text(kinesis["status"]),
            "kinesis_open_shards": dg.MetadataValue.int(kinesis["open_shards"]),
        },
    )


@dg.asset_check(
    asset=RAW_ORDER_EVENTS,
    name=PROCESSING_FAILURES_CHECK,
    description="No Firehose error records (e.g. ProcessingFailed) today or yesterday.",
)
def no_processing_failures(data_lake: DataLakeResource) -> dg.AssetCheckResult:
    with failing_clearly():
        recent = data_lake.objects_in(data_lake.recent_error_folders(datetime.now(UTC)))
        summary = read_error_summary(data_lake, recent)
    return dg.AssetCheckResult(
        passed=summary.failed_records == 0, metadata=error_summary_metadata(summary)
    )
