"""The landing-zone sensors: where a tick lists and what it takes as new (pure functions), then
real ticks on the local stack, whose requests do not grow with the objects already there."""

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest
from dagster_aws.s3 import S3Resource
from moto.core import DEFAULT_ACCOUNT_ID
from moto.s3.models import s3_backends

from orders_pipeline.defs.ingestion.arrivals import (
    ArrivalCursor,
    DeliveryNames,
    dt_of,
    listings,
    new_arrivals,
    record_keys,
)
from orders_pipeline.defs.ingestion.assets import raw_order_events
from orders_pipeline.defs.ingestion.sensors import (
    REFRESH_SPACING_ENV_VAR,
    firehose_delivery_sensor,
    firehose_error_sensor,
)
from orders_pipeline.defs.resources import DataLakeResource, StreamsResource
from orders_pipeline_tests.owned_lake import OwnedLake, change

T0 = datetime(2025, 3, 1, 10, 0, 0, tzinfo=UTC)
RAW = "raw/orders_raw/"
ERRORS = "errors/orders_raw/"
NAMES = DeliveryNames("orders", "1", timedelta(seconds=60))


def obj(key: str, seconds: int = 0) -> dict:
    return {"Key": key, "LastModified": T0 + timedelta(seconds=seconds), "Size": 1}


# --- where a tick lists, what is new: pure functions ---------------------------------------


def test_a_listing_starts_after_the_name_firehose_gives_the_oldest_delivery_still_due():
    (listing,) = listings([f"{RAW}dt=2025-03-01/"], NAMES, T0)
    # 60 s buffer + 2 min margin before 10:00:00
    assert listing.start_after == f"{RAW}dt=2025-03-01/orders-1-2025-03-01-09-57-00"


def test_the_first_tick_takes_every_object_listed():
    new, _ = new_arrivals([obj("a"), obj("b", 1)], ArrivalCursor(), T0, NAMES.lookback)
    assert [o["Key"] for o in new] == ["a", "b"]


def test_an_object_seen_before_is_not_taken_again():
    _, cursor = new_arrivals([obj("a")], ArrivalCursor(), T0, NAMES.lookback)
    new, _ = new_arrivals([obj("a"), obj("b")], cursor, T0, NAMES.lookback)
    assert [o["Key"] for o in new] == ["b"]


def test_the_cursor_forgets_keys_no_listing_can_return_any_more():
    _, cursor = new_arrivals([obj("a")], ArrivalCursor(), T0, NAMES.lookback)
    later = T0 + 2 * NAMES.lookback + timedelta(seconds=1)
    _, cursor = new_arrivals([obj("b")], cursor, later, NAMES.lookback)
    assert set(cursor.seen) == {"b"}


def test_the_cursor_survives_a_json_round_trip_and_an_old_layout_starts_empty():
    _, cursor = new_arrivals([obj("a")], ArrivalCursor(), T0, NAMES.lookback)
    assert ArrivalCursor.from_json(cursor.to_json()) == cursor
    assert ArrivalCursor.from_json('{"newest": "x", "keys_at_newest": []}') == ArrivalCursor()
    assert ArrivalCursor.from_json(None) == ArrivalCursor()


@pytest.mark.parametrize(
    ("key", "day"),
    [
        (f"{RAW}dt=2025-03-01/orders-1", "2025-03-01"),
        (f"{RAW}dt=2025-02-30/orders-1", None),
        (f"{RAW}orders-1", None),
        ("elsewhere/dt=2025-03-01/orders-1", None),
    ],
)
def test_the_event_day_of_an_object_is_its_dt_folder(key, day):
    assert dt_of(key, RAW) == day


def test_attribute_names_come_from_the_complete_lines_only():
    head = b'{"orderid": "o1", "Gift_Wrap": true}\nnot json\n{"orderid": "o2", "trunc'
    assert record_keys(head) == {"orderid", "gift_wrap"}


# --- real ticks on the local stack ---------------------------------------------------------


class Landing:
    """An owned bucket and catalog, and the deployed delivery stream the sensors name objects
    after; every S3 LIST the sensors' client makes is counted."""

    def __init__(self, local_stack, aws_client, deployed_stack) -> None:
        self.lake = OwnedLake(local_stack, aws_client, "sensor")
        self.streams = StreamsResource(
            kinesis_stream=deployed_stack["KinesisStreamName"],
            delivery_stream=deployed_stack["DeliveryStreamName"],
        )
        self.stream = deployed_stack["DeliveryStreamName"]
        self.lists = 0
        self.lake.data_lake.client().meta.events.register(
            "before-call.s3.ListObjectsV2", self._count
        )

    def _count(self, **_: object) -> None:
        self.lists += 1

    def name(self, moment: datetime) -> str:
        return f"{self.stream}-1-{moment:%Y-%m-%d-%H-%M-%S}-{uuid.uuid4()}"

    def put(self, folder: str, moment: datetime | None = None, body: bytes = b"{}\n") -> str:
        key = f"{folder}{self.name(moment or datetime.now(UTC))}"
        self.lake.s3.put_object(Bucket=self.lake.bucket, Key=key, Body=body)
        return key

    def tick(self, sensor, cursor: str | None = None, **resources) -> dg.SensorResult:
        resources = {
            "data_lake": self.lake.data_lake,
            "glue": self.lake.glue,
            "streams": self.streams,
            **resources,
        }
        if sensor is firehose_error_sensor:
            resources.pop("glue")
        self.lists = 0
        with (
            dg.DagsterInstance.ephemeral() as instance,
            dg.build_sensor_context(
                cursor=cursor, resources=resources, instance=instance
            ) as context,
        ):
            return sensor(context)


@pytest.fixture
def landing(local_stack, aws_client, deployed_stack, monkeypatch):
    monkeypatch.setenv(REFRESH_SPACING_ENV_VAR, "0")
    return Landing(local_stack, aws_client, deployed_stack)


def today_folder(prefix: str = RAW, days_ago: int = 0) -> str:
    day = (datetime.now(UTC) - timedelta(days=days_ago)).date().isoformat()
    return f"{prefix}dt={day}/"


def ingest_config(result: dg.SensorResult) -> dict:
    (request,) = result.run_requests
    return request.run_config["ops"]


def test_a_delivery_starts_an_ingest_run_for_its_event_day(landing):
    landing.put(today_folder())
    landing.put(today_folder(days_ago=1))
    ops = ingest_config(landing.tick(firehose_delivery_sensor))
    days = sorted((datetime.now(UTC) - timedelta(days=n)).date().isoformat() for n in (0, 1))
    assert ops["orders_raw"]["config"] == {"partitions": days, "new_columns": []}
    # The refresh reads only the raw files order_events does not hold yet.
    assert ops["analytics_refresh"]["config"] == {"event_days": days, "only_new_files": True}


def test_objects_outside_the_raw_folders_are_ignored(landing):
    landing.put(today_folder(f"{ERRORS}processing-failed/"))
    landing.put("athena-results/")
    assert landing.tick(firehose_delivery_sensor).run_requests == []


def test_a_delivery_is_taken_once(landing):
    landing.put(today_folder())
    first = landing.tick(firehose_delivery_sensor)
    again = landing.tick(firehose_delivery_sensor, first.cursor)
    assert len(first.run_requests) == 1 and again.run_requests == []


def test_a_record_with_a_column_the_table_lacks_asks_for_a_crawl(landing):
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    landing.lake.deliver([change("o1", "e1", "1", now)])  # the table, as the crawler made it
    known = json.dumps(change("o2", "e2", "2", now)).encode() + b"\n"
    new = json.dumps({**change("o3", "e3", "3", now), "gift_wrap": True}).encode() + b"\n"
    landing.put(today_folder(), body=known)
    first = landing.tick(firehose_delivery_sensor)
    assert ingest_config(first)["orders_raw"]["config"]["new_columns"] == []
    landing.put(today_folder(), body=new)
    second = landing.tick(firehose_delivery_sensor, first.cursor)
    assert ingest_config(second)["orders_raw"]["config"]["new_columns"] == ["gift_wrap"]


def test_deliveries_closer_together_than_the_spacing_wait_for_one_run(landing, monkeypatch):
    monkeypatch.setenv(REFRESH_SPACING_ENV_VAR, "3600")
    landing.put(today_folder())
    first = landing.tick(firehose_delivery_sensor)
    landing.put(today_folder(days_ago=1))
    waiting = landing.tick(firehose_delivery_sensor, first.cursor)
    assert waiting.run_requests == []
    assert "waiting 3600 s" in waiting.skip_reason.skip_message
    monkeypatch.setenv(REFRESH_SPACING_ENV_VAR, "0")
    ops = ingest_config(landing.tick(firehose_delivery_sensor, waiting.cursor))
    assert ops["analytics_refresh"]["config"]["event_days"] == [
        (datetime.now(UTC) - timedelta(days=1)).date().isoformat()
    ]


def test_a_tick_lists_each_recent_folder_once_however_many_objects_are_there(landing):
    """5,000 objects of older days and earlier in the day: 3 LIST calls (today and the two days
    before), none of them returning the old objects. benchmarks/sensor_tick.py times it over
    100,000."""
    long_ago = datetime.now(UTC) - timedelta(hours=1)
    # Written straight into the emulator's S3 (in this process): through HTTP it takes a minute.
    s3 = s3_backends[DEFAULT_ACCOUNT_ID]["aws"]
    for number in range(5000):
        folder = today_folder(days_ago=number % 3) if number % 2 else f"{RAW}dt=2024-01-01/"
        s3.put_object(landing.lake.bucket, f"{folder}{landing.name(long_ago)}", b"")
    fresh = landing.put(today_folder())
    result = landing.tick(firehose_delivery_sensor)
    assert landing.lists <= 3
    (observation,) = result.asset_events
    assert observation.metadata["new_objects"].value == 1
    assert observation.metadata["newest_object"].value == fresh


def error_line(message: str) -> bytes:
    return json.dumps(
        {
            "attemptsMade": 1,
            "errorCode": "Lambda.ProcessingFailed",
            "errorMessage": message,
            "rawData": base64.b64encode(b'{"not": "a stream record"}').decode(),
        }
    ).encode()


def test_processing_failed_records_fail_the_check_with_count_and_sample(landing):
    body = error_line("no dynamodb key") + b"\n" + error_line("bad image") + b"\n"
    landing.put(today_folder(f"{ERRORS}processing-failed/"), body=body)
    result = landing.tick(firehose_error_sensor)
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


def test_the_error_sensor_reports_each_error_object_once_listing_two_folders(landing):
    landing.put(today_folder(f"{ERRORS}processing-failed/"), body=error_line("x") + b"\n")
    stored = landing.tick(firehose_error_sensor).cursor
    assert landing.tick(firehose_error_sensor, stored).asset_events == []
    assert landing.lists <= 2


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
