"""Firehose's naming rules: prefix expressions, object names and processing-failed records."""

from __future__ import annotations

import base64
import re
import uuid
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from orders_pipeline.local_stack.firehose.naming import (
    PrefixError,
    data_prefix,
    error_prefix,
    expand_prefix,
    format_java_datetime,
    object_name,
    processing_failed_record,
    validate_prefix,
)

ARRIVAL = datetime(2024, 3, 5, 7, 8, 9, 123_000, tzinfo=UTC)
DATA_PREFIX = "raw/orders_raw/dt=!{partitionKeyFromLambda:dt}/"
ERROR_PREFIX = "errors/orders_raw/!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/"


@pytest.mark.parametrize(
    ("pattern", "expected"),
    [
        ("yyyy-MM-dd", "2024-03-05"),
        ("yyyy/MM/dd/HH/", "2024/03/05/07/"),
        ("yy", "24"),
        ("HH:mm:ss.SSS", "07:08:09.123"),
        ("'year='yyyy'/month='M", "year=2024/month=3"),
        ("D", "65"),
        ("''", "'"),
    ],
)
def test_timestamp_patterns_follow_java_datetimeformatter(pattern: str, expected: str) -> None:
    assert format_java_datetime(pattern, ARRIVAL) == expected


@pytest.mark.parametrize("pattern", ["yyyy-QQ", "EEE", "'open"])
def test_unsupported_timestamp_pattern_is_rejected_naming_it(pattern: str) -> None:
    with pytest.raises(PrefixError, match=re.escape(repr(pattern))):
        format_java_datetime(pattern, ARRIVAL)


def test_project_data_prefix_takes_the_partition_key_from_the_lambda() -> None:
    assert (
        data_prefix(DATA_PREFIX, arrival=ARRIVAL, partition_keys={"dt": "2024-03-04"})
        == "raw/orders_raw/dt=2024-03-04/"
    )


def test_project_error_prefix_names_the_error_type_and_arrival_date() -> None:
    assert (
        error_prefix(ERROR_PREFIX, arrival=ARRIVAL)
        == "errors/orders_raw/processing-failed/dt=2024-03-05/"
    )


@pytest.mark.parametrize(
    ("template", "expected"),
    [(None, "2024/03/05/07/"), ("", "2024/03/05/07/"), ("myapp/", "myapp/2024/03/05/07/")],
)
def test_data_prefix_without_expressions_gets_the_default_time_prefix(
    template: str | None, expected: str
) -> None:
    assert data_prefix(template, arrival=ARRIVAL) == expected


def test_default_error_prefix_is_error_type_then_time() -> None:
    assert error_prefix(None, arrival=ARRIVAL) == "processing-failed/2024/03/05/07/"


def test_every_timestamp_expression_evaluates_to_the_same_instant() -> None:
    template = "y=!{timestamp:yyyy}/m=!{timestamp:MM}/s=!{timestamp:ss.SSS}/"
    assert expand_prefix(template, arrival=ARRIVAL) == "y=2024/m=03/s=09.123/"


def test_timestamp_is_evaluated_in_the_arrival_time_zone() -> None:
    tokyo = ARRIVAL.astimezone(ZoneInfo("Asia/Tokyo"))
    assert data_prefix("!{timestamp:yyyy/MM/dd/HH}/", arrival=tokyo) == "2024/03/05/16/"


def test_random_string_is_eleven_fresh_alphanumerics() -> None:
    first = expand_prefix("!{firehose:random-string}", arrival=ARRIVAL)
    second = expand_prefix("!{firehose:random-string}", arrival=ARRIVAL)
    assert re.fullmatch(r"[A-Za-z0-9]{11}", first)
    assert first != second


@pytest.mark.parametrize(
    ("template", "error_output", "complaint"),
    [
        ("x/!{shard:id}/", False, "unknown namespace 'shard'"),
        ("x/!{firehose:stream-name}/", False, "unknown firehose value 'stream-name'"),
        ("x/!{firehose:error-output-type}/", False, "only allowed in ErrorOutputPrefix"),
        ("x/!{partitionKeyFromLambda:dt}/", True, "partitionKeyFromLambda is not allowed"),
        ("x/!{timestamp:yyyy/", False, "malformed"),
    ],
)
def test_prefix_firehose_would_reject_is_rejected_naming_the_problem(
    template: str, error_output: bool, complaint: str
) -> None:
    with pytest.raises(PrefixError, match=re.escape(complaint)):
        validate_prefix(template, error_output=error_output)


def test_missing_partition_key_is_named() -> None:
    with pytest.raises(PrefixError, match="partition key 'dt' missing"):
        data_prefix(DATA_PREFIX, arrival=ARRIVAL, partition_keys={"day": "x"})


def test_object_name_is_stream_version_arrival_second_and_uuid() -> None:
    unique = uuid.UUID("12345678-1234-5678-1234-567812345678")
    assert (
        object_name("firehose-sales-data-to-s3", "1", ARRIVAL, unique)
        == "firehose-sales-data-to-s3-1-2024-03-05-07-08-09-12345678-1234-5678-1234-567812345678"
    )


def test_object_names_are_unique() -> None:
    assert object_name("s", 1, ARRIVAL) != object_name("s", 1, ARRIVAL)


def test_processing_failed_record_has_firehoses_fields() -> None:
    ended = datetime(2024, 3, 5, 7, 8, 10, tzinfo=UTC)
    record = processing_failed_record(
        raw_data=b'{"orderid": "o-1"}',
        arrival=ARRIVAL,
        attempts_made=4,
        error_code="Lambda.FunctionError",
        lambda_arn="arn:aws:lambda:us-east-1:123456789012:function:f",
        attempt_ending=ended,
    )
    assert record == {
        "attemptsMade": 4,
        "arrivalTimestamp": 1709622489123,
        "errorCode": "Lambda.FunctionError",
        "errorMessage": (
            "The Lambda function was successfully invoked but it returned an error result."
        ),
        "attemptEndingTimestamp": 1709622490000,
        "rawData": base64.b64encode(b'{"orderid": "o-1"}').decode(),
        "lambdaArn": "arn:aws:lambda:us-east-1:123456789012:function:f",
    }


def test_unknown_error_code_needs_a_message() -> None:
    with pytest.raises(ValueError, match="'Lambda.Unheard'"):
        processing_failed_record(
            raw_data=b"",
            arrival=ARRIVAL,
            attempts_made=1,
            error_code="Lambda.Unheard",
            lambda_arn="",
            attempt_ending=ARRIVAL,
        )
