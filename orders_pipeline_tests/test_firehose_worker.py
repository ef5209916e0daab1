"""The Firehose worker: Kinesis records are buffered, transformed by the Lambda and land in S3."""

from __future__ import annotations

import base64
import gzip
import io
import json
import re
import time
import uuid
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from orders_pipeline.local_stack.firehose.worker import (
    LAMBDA_REQUEST_LIMIT,
    MIB,
    SourceRecord,
    delivery_config_from_description,
    lambda_batches,
    newline_delimited,
)
from orders_pipeline.local_stack.workers.checkpoints import CheckpointStore
from orders_pipeline.local_stack.workers.polling import PollingWorker
from orders_pipeline_tests.polling import wait_for

# Test processor: each input is JSON {"verdict", "dt", "value"}; the verdict decides the result.
PROCESSOR_SOURCE = """
import base64, json

def handler(event, context):
    results = []
    for record in event["records"]:
        payload = json.loads(base64.b64decode(record["data"]))
        if payload["verdict"] == "Missing":
            continue
        line = json.dumps({"value": payload["value"]}) + "\\n"
        results.append({
            "recordId": record["recordId"],
            "result": payload["verdict"],
            "data": base64.b64encode(line.encode()).decode(),
            "metadata": {"partitionKeys": {"dt": payload["dt"]}},
        })
    return {"records": results}

def crash(event, context):
    raise RuntimeError("transform blew up")
"""
DATA_PREFIX = "raw/dt=!{partitionKeyFromLambda:dt}/"
ERROR_PREFIX = "errors/!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/"
# AWS's object name: <stream>-<version>-<yyyy-MM-dd-HH-mm-ss>-<uuid>.
OBJECT_NAME = r"{stream}-1-\d{{4}}(-\d{{2}}){{5}}-[0-9a-f]{{8}}(-[0-9a-f]{{4}}){{3}}-[0-9a-f]{{12}}"


# -- pure rules ----------------------------------------------------------------------------


def _record(size: int) -> SourceRecord:
    data = base64.b64encode(b"x" * size).decode()
    return SourceRecord("shardId-0", "1", "k", data, datetime(2024, 1, 1, tzinfo=UTC))


def test_lambda_batches_keep_every_invocation_under_the_limit_in_order() -> None:
    records = [_record(300_000) for _ in range(25)]
    batches = lambda_batches(records, LAMBDA_REQUEST_LIMIT)

    assert [r for batch in batches for r in batch] == records
    assert len(batches) == 2
    assert all(sum(len(r.data_base64) + 400 for r in b) <= LAMBDA_REQUEST_LIMIT for b in batches)


def test_worker_wakes_when_held_work_falls_due_not_at_its_next_poll() -> None:
    class DueSoon(PollingWorker):
        def __init__(self) -> None:
            super().__init__(CheckpointStore(None), poll_interval=30, refresh_interval=60)
            self.polls: list[float] = []

        def refresh(self) -> None:
            pass

        def poll_once(self) -> bool:
            self.polls.append(time.monotonic())
            return False

        def seconds_until_due(self) -> float | None:
            return 0.05  # e.g. a buffer whose interval ends in 50 ms

    worker = DueSoon()
    worker.start()
    try:
        # With only the 30 s poll interval to go by, the second poll would come after 30 s.
        wait_for(lambda: len(worker.polls) >= 3, timeout=5, what="polls at the due times")
    finally:
        worker.stop()


def test_lines_are_newline_terminated_once() -> None:
    assert newline_delimited([b"a", b"b\n", b"c"]) == b"a\nb\nc\n"


def _stream_description(**destination: Any) -> dict[str, Any]:
    return {
        "DeliveryStreamName": "d",
        "DeliveryStreamARN": "arn:aws:firehose:us-east-1:123456789012:deliverystream/d",
        "VersionId": "3",
        "Source": {
            "KinesisStreamSourceDescription": {
                "KinesisStreamARN": "arn:aws:kinesis:us-east-1:123456789012:stream/k"
            }
        },
        "Destinations": [
            {"ExtendedS3DestinationDescription": {"BucketARN": "arn:aws:s3:::b", **destination}}
        ],
    }


def _processor(**parameters: str) -> dict[str, Any]:
    values = [{"ParameterName": k, "ParameterValue": v} for k, v in parameters.items()]
    return {"Enabled": True, "Processors": [{"Type": "Lambda", "Parameters": values}]}


def test_destination_defaults_are_firehoses() -> None:
    config = delivery_config_from_description(_stream_description())
    assert config is not None
    assert (config.size_bytes, config.interval_seconds) == (5 * MIB, 300)
    assert (config.bucket, config.kinesis_stream, config.version) == ("b", "k", "3")
    assert config.lambda_arn is None


def test_processor_settings_bound_the_lambda_batch_and_buffer_interval() -> None:
    config = delivery_config_from_description(
        _stream_description(
            BufferingHints={"SizeInMBs": 64, "IntervalInSeconds": 900},
            ProcessingConfiguration=_processor(
                LambdaArn="arn:f",
                NumberOfRetries="2",
                BufferSizeInMBs="3",
                BufferIntervalInSeconds="60",
            ),
        )
    )
    assert config is not None
    assert (config.lambda_arn, config.lambda_attempts) == ("arn:f", 3)
    assert config.lambda_batch_bytes == 3 * MIB
    assert config.interval_seconds == 60


@pytest.mark.parametrize(
    ("destination", "complaint"),
    [
        ({"Prefix": "raw/!{shard:id}/"}, "unknown namespace 'shard'"),
        ({"ErrorOutputPrefix": "e/!{partitionKeyFromLambda:dt}/"}, "not allowed there"),
        ({"CompressionFormat": "Snappy"}, "CompressionFormat 'Snappy'"),
        ({"CustomTimeZone": "Mars/Olympus"}, "CustomTimeZone 'Mars/Olympus'"),
    ],
)
def test_configuration_firehose_would_reject_is_reported(
    destination: dict[str, Any], complaint: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(complaint)):
        delivery_config_from_description(_stream_description(**destination))


# -- the worker, through the AWS APIs ------------------------------------------------------


@pytest.fixture(scope="module")
def role_arn(aws_client: Callable[[str], Any]) -> str:
    iam = aws_client("iam")
    name = f"firehose-test-{uuid.uuid4().hex[:8]}"
    return iam.create_role(RoleName=name, AssumeRolePolicyDocument="{}")["Role"]["Arn"]


@pytest.fixture(scope="module")
def processors(aws_client: Callable[[str], Any], role_arn: str) -> dict[str, str]:
    """ARNs of two deployed test processors: `judge` (verdict per record) and `crash`."""
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("processor.py", PROCESSOR_SOURCE)
    arns = {}
    for handler in ("handler", "crash"):
        arns["judge" if handler == "handler" else handler] = aws_client("lambda").create_function(
            FunctionName=f"processor-{handler}-{uuid.uuid4().hex[:8]}",
            Runtime="python3.11",
            Role=role_arn,
            Handler=f"processor.{handler}",
            Code={"ZipFile": archive.getvalue()},
            Timeout=30,
        )["FunctionArn"]
    return arns


@pytest.fixture
def delivery(aws_client: Callable[[str], Any], role_arn: str) -> Callable[..., dict[str, str]]:
    """`delivery(**s3_destination)`: a Kinesis stream + bucket + delivery stream between them."""

    def create(**destination: Any) -> dict[str, str]:
        suffix = uuid.uuid4().hex[:8]
        kinesis, s3 = aws_client("kinesis"), aws_client("s3")
        stream, bucket, name = f"src-{suffix}", f"dest-{suffix}", f"hose-{suffix}"
        kinesis.create_stream(StreamName=stream, ShardCount=2)
        kinesis.get_waiter("stream_exists").wait(StreamName=stream)
        stream_arn = kinesis.describe_stream_summary(StreamName=stream)["StreamDescriptionSummary"][
            "StreamARN"
        ]
        s3.create_bucket(Bucket=bucket)
        aws_client("firehose").create_delivery_stream(
            DeliveryStreamName=name,
            DeliveryStreamType="KinesisStreamAsSource",
            KinesisStreamSourceConfiguration={"KinesisStreamARN": stream_arn, "RoleARN": role_arn},
            ExtendedS3DestinationConfiguration={
                "RoleARN": role_arn,
                "BucketARN": f"arn:aws:s3:::{bucket}",
                "BufferingHints": {"SizeInMBs": 1, "IntervalInSeconds": 1},
                **destination,
            },
        )
        return {"stream": stream, "bucket": bucket, "name": name}

    return create


def _judged(processor_arn: str, retries: int = 0) -> dict[str, Any]:
    return {
        "Prefix": DATA_PREFIX,
        "ErrorOutputPrefix": ERROR_PREFIX,
        "DynamicPartitioningConfiguration": {"Enabled": True},
        "ProcessingConfiguration": _processor(
            LambdaArn=processor_arn, NumberOfRetries=str(retries), BufferIntervalInSeconds="1"
        ),
    }


def _put(kinesis: Any, stream: str, payloads: list[bytes]) -> None:
    records = [{"Data": data, "PartitionKey": str(i)} for i, data in enumerate(payloads)]
    failed = kinesis.put_records(StreamName=stream, Records=records)["FailedRecordCount"]
    assert failed == 0


def _verdict(verdict: str, value: int, dt: str = "2024-01-01") -> bytes:
    return json.dumps({"verdict": verdict, "dt": dt, "value": value}).encode()


def _objects(s3: Any, bucket: str, prefix: str = "") -> dict[str, bytes]:
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])
    return {o["Key"]: s3.get_object(Bucket=bucket, Key=o["Key"])["Body"].read() for o in listed}


def _wait_for_lines(s3: Any, bucket: str, prefix: str, count: int) -> dict[str, bytes]:
    return wait_for(
        lambda: (
            (objects := _objects(s3, bucket, prefix))
            and sum(body.count(b"\n") for body in objects.values()) >= count
            and objects
        ),
        what=f"{count} lines under s3://{bucket}/{prefix}",
    )


def _delivery_status(local_stack: Any, name: str) -> dict[str, Any] | None:
    return local_stack.status()["stages"]["firehose"]["delivery_streams"].get(name)


def test_ok_records_land_as_lines_under_the_lambda_partition_prefix(
    aws_client: Callable[[str], Any], processors: dict[str, str], delivery: Callable[..., Any]
) -> None:
    names = delivery(**_judged(processors["judge"]))
    _put(
        aws_client("kinesis"),
        names["stream"],
        [
            _verdict("Ok", 1, "2024-01-01"),
            _verdict("Ok", 2, "2024-01-01"),
            _verdict("Ok", 3, "2024-01-02"),
        ],
    )

    objects = _wait_for_lines(aws_client("s3"), names["bucket"], "raw/", 3)

    name = OBJECT_NAME.format(stream=re.escape(names["name"]))
    by_day: dict[str, set[int]] = {}
    for key, body in objects.items():
        match = re.fullmatch(rf"raw/dt=(?P<dt>[\d-]+)/{name}", key)
        assert match, key
        by_day.setdefault(match["dt"], set()).update(
            json.loads(line)["value"] for line in body.splitlines()
        )
    assert by_day == {"2024-01-01": {1, 2}, "2024-01-02": {3}}


@pytest.mark.parametrize(
    ("verdict", "error_code"),
    [("ProcessingFailed", "Lambda.ProcessingFailedStatus"), ("Missing", "Lambda.MissingRecordId")],
)
def test_failed_records_go_to_the_error_prefix_as_firehose_error_json(
    aws_client: Callable[[str], Any],
    processors: dict[str, str],
    delivery: Callable[..., Any],
    verdict: str,
    error_code: str,
) -> None:
    names = delivery(**_judged(processors["judge"]))
    raw = _verdict(verdict, 7)
    _put(aws_client("kinesis"), names["stream"], [raw])

    objects = _wait_for_lines(aws_client("s3"), names["bucket"], "errors/", 1)

    today = datetime.now(UTC).strftime("%Y-%m-%d")
    [(key, body)] = objects.items()
    assert key.startswith(f"errors/processing-failed/dt={today}/{names['name']}-1-")
    error = json.loads(body)
    assert error["errorCode"] == error_code
    assert base64.b64decode(error["rawData"]) == raw
    assert error["lambdaArn"] == processors["judge"]
    assert error["attemptsMade"] == 1
    assert error["arrivalTimestamp"] <= error["attemptEndingTimestamp"]


def test_dropped_records_are_counted_and_not_written(
    local_stack: Any,
    aws_client: Callable[[str], Any],
    processors: dict[str, str],
    delivery: Callable[..., Any],
) -> None:
    names = delivery(**_judged(processors["judge"]))
    _put(aws_client("kinesis"), names["stream"], [_verdict("Dropped", 1), _verdict("Ok", 2)])

    objects = _wait_for_lines(aws_client("s3"), names["bucket"], "", 1)

    assert [json.loads(body) for body in objects.values()] == [{"value": 2}]
    status = _delivery_status(local_stack, names["name"])
    assert (status["dropped"], status["delivered"], status["failed"]) == (1, 1, 0)


def test_function_error_is_retried_then_the_records_go_to_the_error_prefix(
    aws_client: Callable[[str], Any], processors: dict[str, str], delivery: Callable[..., Any]
) -> None:
    names = delivery(**_judged(processors["crash"], retries=2))
    _put(aws_client("kinesis"), names["stream"], [_verdict("Ok", 1), _verdict("Ok", 2)])

    objects = _wait_for_lines(aws_client("s3"), names["bucket"], "errors/processing-failed/", 2)

    errors = [json.loads(line) for body in objects.values() for line in body.splitlines()]
    assert {(e["errorCode"], e["attemptsMade"]) for e in errors} == {("Lambda.FunctionError", 3)}
    assert _objects(aws_client("s3"), names["bucket"], "raw/") == {}


def test_without_processor_records_land_as_put_under_the_default_time_prefix(
    aws_client: Callable[[str], Any], delivery: Callable[..., Any]
) -> None:
    names = delivery()
    _put(aws_client("kinesis"), names["stream"], [b'{"n": 1}', b'{"n": 2}'])

    objects = _wait_for_lines(aws_client("s3"), names["bucket"], "", 2)

    name = OBJECT_NAME.format(stream=re.escape(names["name"]))
    assert all(re.fullmatch(rf"\d{{4}}/\d{{2}}/\d{{2}}/\d{{2}}/{name}", key) for key in objects)
    lines = sorted(line for body in objects.values() for line in body.splitlines())
    assert lines == [b'{"n": 1}', b'{"n": 2}']


def test_gzip_destination_writes_gzipped_objects_with_the_gz_extension(
    aws_client: Callable[[str], Any], delivery: Callable[..., Any]
) -> None:
    names = delivery(CompressionFormat="GZIP")
    _put(aws_client("kinesis"), names["stream"], [b"a", b"b"])

    objects = wait_for(lambda: _objects(aws_client("s3"), names["bucket"]), what="an object")

    lines = []
    for key, body in objects.items():
        assert key.endswith(".gz")
        lines += gzip.decompress(body).splitlines()
    assert sorted(lines) == [b"a", b"b"]


def test_records_put_together_are_delivered_in_one_object_per_interval(
    aws_client: Callable[[str], Any], delivery: Callable[..., Any]
) -> None:
    names = delivery(BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 2})
    _put(aws_client("kinesis"), names["stream"], [b"%d" % i for i in range(50)])

    objects = _wait_for_lines(aws_client("s3"), names["bucket"], "", 50)

    assert len(objects) == 1


def test_a_full_buffer_is_delivered_before_its_interval(
    aws_client: Callable[[str], Any], delivery: Callable[..., Any]
) -> None:
    names = delivery(BufferingHints={"SizeInMBs": 1, "IntervalInSeconds": 900})
    _put(aws_client("kinesis"), names["stream"], [b"x" * 100_000 for _ in range(12)])

    # 1.2 MB passes the 1 MiB size hint: delivery within 30 s cannot be the 900 s interval.
    objects = wait_for(lambda: _objects(aws_client("s3"), names["bucket"]), what="an object")

    assert sum(body.count(b"\n") for body in objects.values()) == 12


def test_unknown_prefix_namespace_is_reported_by_name(
    local_stack: Any, delivery: Callable[..., Any]
) -> None:
    names = delivery(Prefix="raw/!{shard:id}/", ErrorOutputPrefix=ERROR_PREFIX)

    status = wait_for(
        lambda: _delivery_status(local_stack, names["name"]), what="the stream's status"
    )
    assert "unknown namespace 'shard'" in status["last_error"]


def test_kinesis_get_records_pages_through_a_shard_in_order(
    aws_client: Callable[[str], Any],
) -> None:
    # The local stack answers GetRecords/PutRecords itself (kinesis/patches.py): same contract.
    kinesis, stream = aws_client("kinesis"), f"pages-{uuid.uuid4().hex[:8]}"
    kinesis.create_stream(StreamName=stream, ShardCount=1)
    kinesis.get_waiter("stream_exists").wait(StreamName=stream)
    put = kinesis.put_records(
        StreamName=stream, Records=[{"Data": b"%d" % i, "PartitionKey": "k"} for i in range(25)]
    )
    shard = put["Records"][0]["ShardId"]
    iterator = kinesis.get_shard_iterator(
        StreamName=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON"
    )["ShardIterator"]

    pages = []
    for _ in range(3):
        page = kinesis.get_records(ShardIterator=iterator, Limit=10)
        pages.append(page)
        iterator = page["NextShardIterator"]

    assert [len(p["Records"]) for p in pages] == [10, 10, 5]
    records = [r for p in pages for r in p["Records"]]
    assert [r["Data"] for r in records] == [b"%d" % i for i in range(25)]
    assert [r["SequenceNumber"] for r in records] == [r["SequenceNumber"] for r in put["Records"]]
    assert all(isinstance(r["ApproximateArrivalTimestamp"], datetime) for r in records)
    assert pages[-1]["MillisBehindLatest"] == 0
    assert kinesis.get_records(ShardIterator=iterator)["Records"] == []
