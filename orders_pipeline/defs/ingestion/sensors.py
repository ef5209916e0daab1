"""Sensors on the Firehose landing zone: new data requests a crawl; error records fail a check."""

import dagster as dg

from orders_pipeline.defs.ingestion.arrival_cursor import (
    ArrivalCursor,
    arrival_run_key,
    new_arrivals,
)
from orders_pipeline.defs.ingestion.assets import (
    PROCESSING_FAILURES_CHECK,
    RAW_ORDER_EVENTS,
    error_summary_metadata,
    read_error_summary,
)
from orders_pipeline.defs.resources import DataLakeResource

RAW_TABLE_ASSET = dg.AssetKey("orders_raw")


@dg.sensor(
    name="firehose_delivery_sensor",
    description="Requests a Glue crawl when Firehose delivers new objects under the raw prefix.",
    # The landing zone is observed in the same run, so its metadata tracks every crawl.
    asset_selection=[RAW_ORDER_EVENTS, RAW_TABLE_ASSET],
    minimum_interval_seconds=30,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def firehose_delivery_sensor(
    context: dg.SensorEvaluationContext, data_lake: DataLakeResource
) -> dg.SensorResult:
    cursor = ArrivalCursor.from_json(context.cursor)
    new, next_cursor = new_arrivals(data_lake.list_objects(data_lake.raw_prefix), cursor)
    if not new:
        return dg.SensorResult(skip_reason="no new objects under the raw prefix")
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=arrival_run_key(new),
                tags={"orders_pipeline/new_objects": str(len(new))},
            )
        ],
        cursor=next_cursor.to_json(),
    )


@dg.sensor(
    name="firehose_error_sensor",
    description="Fails the no_processing_failures check when Firehose writes new error records.",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def firehose_error_sensor(
    context: dg.SensorEvaluationContext, data_lake: DataLakeResource
) -> dg.SensorResult:
    cursor = ArrivalCursor.from_json(context.cursor)
    new, next_cursor = new_arrivals(data_lake.list_objects(data_lake.error_prefix), cursor)
    if not new:
        return dg.SensorResult(skip_reason="no new error records")
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
        cursor=next_cursor.to_json(),
    )
