"""The landing-zone sensors: cursor logic as a pure function, then real ticks on the local stack."""

import base64
import json
import time
import uuid
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
from dagster_aws.s3 import S3Resource

from orders_pipeline.defs.ingestion.arrival_cursor import (
    ArrivalCursor,
    arrival_run_key,
    new_arrivals,
)
from orders_pipeline.defs.ingestion.assets import raw_order_events
from orders_pipeline.defs.ingestion.sensors import firehose_delivery_sensor, firehose_error_sensor
from orders_pipeline.defs.resources import DataLakeResource, StreamsResource

T0 = datetime(2025, 3, 1, 10, 0, 0, tzinfo=UTC)
RAW = "raw/orders_raw/"
ERRORS = "errors/orders_raw/"


def obj(key: str, seconds: int = 0) -> dict:
    return {"Key": key, "LastModified": T0 + timedelta(seconds=seconds), "Size": 1}


# --- the cursor, as a pure function ------------------------------------------------------


def test_first_tick_sees_every_object():
    new, cursor = new_arrivals([obj("a"), obj("b", 1)], ArrivalCursor())
    assert [o["Key"] for o in new] == ["a", "b"]
    assert cursor == ArrivalCursor(T0 + timedelta(seconds=1), frozenset({"b"}))


def test_object_written_in_the_same_second_as_the_cursor_is_not_missed():
    _, cursor = new_arrivals([obj("a")], ArrivalCursor())
    new, cursor = new_arrivals([obj("a"), obj("b")], cursor)
    assert [o["Key"] for o in new] == ["b"]
    assert cursor.keys_at_newest == {"a", "b"}


def test_cursor_forgets_keys_once_a_newer_second_is_seen():
    _, cursor = new_arrivals([obj("a"), obj("b")], ArrivalCursor())
    _, cursor = new_arrivals([obj("a"), obj("b"), obj("c", 5)], cursor)
    assert cursor == ArrivalCursor(T0 + timedelta(seconds=5), frozenset({"c"}))


def test_nothing_new_keeps_the_cursor():
    _, cursor = new_arrivals([obj("a")], ArrivalCursor())
    assert new_arrivals([obj("a")], cursor) == ([], cursor)


def test_emptied_bucket_keeps_the_cursor_so_old_objects_never_come_back():
    _, cursor = new_arrivals([obj("a", 3)], ArrivalCursor())
    assert new_arrivals([], cursor) == ([], cursor)


def test_cursor_survives_a_json_round_trip():
    cursor = ArrivalCursor(T0, frozenset({"k1", "k2"}))
    assert ArrivalCursor.from_json(cursor.to_json()) == cursor
    assert ArrivalCursor.from_json(None) == ArrivalCursor()


def test_run_key_depends_on_the_objects_not_their_order():
    assert arrival_run_key([obj("a"), obj("b")]) == arrival_run_key([obj("b"), obj("a")])
    assert arrival_run_key([obj("a")]) != arrival_run_key([obj("b")])


# --- real ticks on the local stack -------------------------------------------------------


@pytest.fixture
def lake(local_stack, aws_client):
    """A fresh bucket laid out like the data bucket, and a DataLakeResource on it."""
    bucket = f"sensor-test-{uuid.uuid4().hex[:12]}"
    aws_client("s3").create_bucket(Bucket=bucket)
    return DataLakeResource(
        s3=S3Resource(region_name=local_stack.region, max_attempts=2),
        bucket=bucket,
        raw_prefix=RAW,
        error_prefix=ERRORS,
    )


def put(lake: DataLakeResource, key: str, body: bytes = b"{}\n") -> None:
    lake.client().put_object(Bucket=lake.bucket, Key=key, Body=body)


def tick(sensor, lake: DataLakeResource, cursor: str | None = None) -> dg.SensorResult:
    with dg.build_sensor_context(cursor=cursor, resources={"data_lake": lake}) as context:
        return sensor(context)


def requested_objects(result: dg.SensorResult) -> int:
    (request,) = result.run_requests
    return int(request.tags["orders_pipeline/new_objects"])


def test_delivery_requests_one_crawl_with_a_run_key_derived_from_the_objects(lake):
    put(lake, f"{RAW}dt=2025-03-01/part-1")
    first = tick(firehose_delivery_sensor, lake)
    again = tick(firehose_delivery_sensor, lake)
    assert requested_objects(first) == 1
    assert first.run_requests[0].run_key == again.run_requests[0].run_key


def test_objects_outside_the_raw_prefix_are_ignored(lake):
    put(lake, f"{ERRORS}processing-failed/dt=2025-03-01/part-1")
    put(lake, "athena-results/query.csv")
    assert tick(firehose_delivery_sensor, lake).run_requests == []


def test_object_landing_in_the_same_second_as_the_last_tick_is_picked_up(lake):
    deadline = time.monotonic() + 30
    while True:  # retry until both writes fall in one second (S3 times have 1 s resolution)
        first, second = (f"{RAW}dt=2025-03-01/{uuid.uuid4().hex}" for _ in range(2))
        put(lake, first)
        cursor = tick(firehose_delivery_sensor, lake).cursor
        put(lake, second)
        times = {o["Key"]: o["LastModified"] for o in lake.list_objects(RAW)}
        if times[first] == times[second]:
            break
        assert time.monotonic() < deadline, "could not write two objects within one second"
    result = tick(firehose_delivery_sensor, lake, cursor)
    assert requested_objects(result) == 1
    assert json.loads(result.cursor)["keys_at_newest"] == sorted(
        k for k, t in times.items() if t == times[second]
    )


def test_more_than_one_listing_page_is_read_and_the_tick_stays_fast(lake):
    client = lake.client()
    for number in range(1001):
        client.put_object(Bucket=lake.bucket, Key=f"{RAW}dt=2025-03-01/part-{number:05d}", Body=b"")
    started = time.monotonic()
    result = tick(firehose_delivery_sensor, lake)
    elapsed = time.monotonic() - started
    assert requested_objects(result) == 1001
    assert elapsed < 10, f"tick took {elapsed:.1f} s"


def test_restart_with_a_stored_cursor_sees_only_what_landed_since(lake):
    put(lake, f"{RAW}dt=2025-03-01/part-1")
    stored = tick(firehose_delivery_sensor, lake).cursor
    assert tick(firehose_delivery_sensor, lake, stored).run_requests == []
    put(lake, f"{RAW}dt=2025-03-02/part-2")
    result = tick(firehose_delivery_sensor, lake, stored)
    assert requested_objects(result) == 1


def test_emptied_bucket_skips_then_new_deliveries_are_seen(lake):
    put(lake, f"{RAW}dt=2025-03-01/part-1")
    stored = tick(firehose_delivery_sensor, lake).cursor
    lake.delete_prefix(RAW)
    emptied = tick(firehose_delivery_sensor, lake, stored)
    assert emptied.run_requests == [] and emptied.skip_reason is not None
    put(lake, f"{RAW}dt=2025-03-01/part-2")
    assert requested_objects(tick(firehose_delivery_sensor, lake, stored)) == 1


def error_line(message: str) -> bytes:
    return json.dumps(
        {
            "attemptsMade": 1,
            "errorCode": "Lambda.ProcessingFailed",
            "errorMessage": message,
            "rawData": base64.b64encode(b'{"not": "a stream record"}').decode(),
        }
    ).encode()


def test_processing_failed_records_fail_the_check_with_count_and_sample(lake):
    put(
        lake,
        f"{ERRORS}processing-failed/dt=2025-03-01/part-1",
        error_line("no dynamodb key") + b"\n" + error_line("bad image") + b"\n",
    )
    result = tick(firehose_error_sensor, lake)
    (evaluation,) = result.asset_events
    assert isinstance(evaluation, dg.AssetCheckEvaluation)
    assert (evaluation.asset_key, evaluation.check_name) == (
        dg.AssetKey("raw_order_events"),
        "no_processing_failures",
    )
    assert not evaluation.passed
    assert evaluation.metadata["failed_records"].value == 2
    sample = evaluation.metadata["sample"].value
    assert sample[0]["errorMessage"] == "no dynamodb key"
    assert sample[0]["rawData"] == '{"not": "a stream record"}'


def test_error_sensor_reports_each_error_object_once(lake):
    put(lake, f"{ERRORS}processing-failed/dt=2025-03-01/part-1", error_line("x") + b"\n")
    stored = tick(firehose_error_sensor, lake).cursor
    assert tick(firehose_error_sensor, lake, stored).asset_events == []


def observe_landing_zone(outputs: dict[str, str], **names: str) -> dg.ExecuteInProcessResult:
    """Run the landing-zone observation (as the crawl job does) against the deployed stack."""
    streams = StreamsResource(
        kinesis_stream=names.get("kinesis_stream", outputs["KinesisStreamName"]),
        delivery_stream=names.get("delivery_stream", outputs["DeliveryStreamName"]),
    )
    data_lake = DataLakeResource(s3=S3Resource(max_attempts=2), bucket=outputs["DataBucketName"])
    definitions = dg.Definitions(
        assets=[raw_order_events], resources={"data_lake": data_lake, "streams": streams}
    )
    job = definitions.resolve_implicit_global_asset_job_def()
    return job.execute_in_process(asset_selection=[dg.AssetKey("raw_order_events")])


def test_landing_zone_observation_reports_the_streams_feeding_it(deployed_stack):
    result = observe_landing_zone(deployed_stack)
    (event,) = result.get_asset_observation_events()
    observation = event.asset_observation_data.asset_observation
    metadata = {name: value.value for name, value in observation.metadata.items()}
    assert metadata["delivery_stream"] == deployed_stack["DeliveryStreamName"]
    assert metadata["delivery_stream_status"] == "ACTIVE"
    assert set(metadata["delivery_buffering_hints"]) == {"SizeInMBs", "IntervalInSeconds"}
    assert metadata["kinesis_stream"] == deployed_stack["KinesisStreamName"]
    assert metadata["kinesis_stream_status"] == "ACTIVE"
    assert metadata["kinesis_open_shards"] >= 1


def test_an_unknown_delivery_stream_fails_the_observation_in_one_line(deployed_stack):
    with pytest.raises(dg.Failure) as failure:
        observe_landing_zone(deployed_stack, delivery_stream="no-such-stream")
    assert "no-such-stream" in failure.value.description
    assert "\n" not in failure.value.description
