"""orders_pipeline.costs.estimate: the price file, the arithmetic, the projection, bad input."""

from __future__ import annotations

import copy
import re
from typing import Any

import pytest

from orders_pipeline.costs.estimate import (
    estimate,
    load_prices,
    parse_meters,
    parse_prices,
    volume_scale,
)

# The document the local stack reports (the example): every meter it will emit.
EXAMPLE: dict[str, Any] = {
    "started": 1764580000.0,
    "now": 1764583600.0,
    "meters": {
        "dynamodb.write_request_units": 4000, "dynamodb.read_request_units": 120,
        "dynamodb.storage_gb_hours": 0.5,
        "dynamodb_streams.read_request_units": 300,
        "pipes.requests": 250,
        "kinesis.shard_hours": 1.0, "kinesis.put_payload_units": 4000,
        "firehose.ingested_gb": 0.02, "firehose.dynamic_partitioning_gb": 0.004,
        "firehose.dynamic_partitioning_objects": 60,
        "lambda.requests": 60, "lambda.gb_seconds": 3.2,
        "s3.tier1_requests": 900, "s3.tier2_requests": 1200, "s3.storage_gb_hours": 12.0,
        "glue.crawler_dpu_seconds": 0, "glue.catalog_requests": 300,
        "athena.bytes_scanned_billed": 1500000000, "athena.queries": 150,
        "sqs.requests": 0, "cloudwatch_logs.ingested_gb": 0.001,
    },
}  # fmt: skip


def entry(price: float, unit: str, quantity: float, per: str) -> dict[str, Any]:
    return {
        "price": price, "unit": unit, "quantity": quantity, "per": per,
        "url": "https://aws.amazon.com/example/pricing/", "date": "2026-12-01",
        "verified": True, "note": "test price",
    }  # fmt: skip


# Round prices, so the expected dollars below are arithmetic a person can check by hand.
PRICES = parse_prices(
    {
        "services": {"kinesis": "Kinesis", "dynamodb": "DynamoDB", "s3": "S3"},
        "meters": {
            "kinesis.shard_hours": entry(0.015, "shard-hour", 1, "time"),
            "dynamodb.write_request_units": entry(0.625, "million WRU", 1_000_000, "traffic"),
            "s3.storage_gb_hours": entry(0.023, "GB-month", 730, "time"),
        },
    }
)
TWO_HOURS = {
    "started": 1000.0,
    "now": 8200.0,
    "meters": {
        "kinesis.shard_hours": 2,  # 2 x $0.015 = $0.03
        "dynamodb.write_request_units": 3_000_000,  # 3 x $0.625 = $1.875
        "s3.storage_gb_hours": 1460,  # 2 GB-months x $0.023 = $0.046
    },
}


def by_service(result) -> dict[str, Any]:
    return {cost.service: cost for cost in result.services}


def test_the_price_file_prices_every_meter_and_says_where_each_price_came_from():
    prices = load_prices()
    assert set(prices.prices) == set(EXAMPLE["meters"])
    assert prices.region == "us-east-1"
    for meter, price in prices.prices.items():
        assert price.url.startswith("https://aws.amazon.com/"), meter
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", price.date), meter
        assert price.unit and price.note, meter
        assert price.per in ("traffic", "time"), meter
        assert price.verified or price.reason, meter
    # The conversions the header promises: GB-month to GB-hour, DPU-hour to DPU-second, TB.
    assert prices.prices["s3.storage_gb_hours"].quantity == 730
    assert prices.prices["glue.crawler_dpu_seconds"].quantity == 3600
    assert prices.prices["athena.bytes_scanned_billed"].quantity == 2**40


def test_a_known_document_costs_what_the_hand_arithmetic_says():
    result = estimate(parse_meters(TWO_HOURS, PRICES), PRICES)
    assert result.usd == pytest.approx(0.03 + 1.875 + 0.046)
    services = by_service(result)
    assert services["kinesis"].usd == pytest.approx(0.03)
    assert services["dynamodb"].usd == pytest.approx(1.875)
    assert services["s3"].usd == pytest.approx(0.046)
    assert [cost.service for cost in result.services] == ["dynamodb", "s3", "kinesis"]


def test_the_projection_to_a_day_is_the_cost_times_the_windows_in_a_day():
    result = estimate(parse_meters(TWO_HOURS, PRICES), PRICES)
    assert result.seconds == 7200
    assert result.usd_per_day == pytest.approx(1.951 * 12)
    assert by_service(result)["dynamodb"].usd_per_day == pytest.approx(1.875 * 12)
    assert by_service(result)["dynamodb"].share == pytest.approx(1.875 / 1.951)
    assert sum(cost.share for cost in result.services) == pytest.approx(1)


def test_scaling_the_volume_scales_traffic_meters_and_holds_time_meters_fixed():
    scale = volume_scale(orders_per_day=100_000, observed_orders_per_day=10_000)
    result = estimate(parse_meters(TWO_HOURS, PRICES), PRICES, scale=scale)
    services = by_service(result)
    assert services["dynamodb"].usd_per_day == pytest.approx(1.875 * 12 * 10)
    assert services["kinesis"].usd_per_day == pytest.approx(0.03 * 12)  # shard-hours
    assert services["s3"].usd_per_day == pytest.approx(0.046 * 12)  # storage
    assert result.usd == pytest.approx(1.951)  # what was spent does not change


def test_the_example_document_prices_with_the_shipped_file():
    result = estimate(parse_meters(EXAMPLE, load_prices()), load_prices())
    kinesis = by_service(result)["kinesis"]
    assert kinesis.usd == pytest.approx(1.0 * 0.015 + 4000 * 0.014 / 1e6)
    assert result.usd_per_day == pytest.approx(result.usd * 24)


DELETE = object()


def with_change(path: str, value: Any) -> dict[str, Any]:
    """TWO_HOURS with the field at `path` (a/b) set to `value`, or removed for DELETE."""
    document = copy.deepcopy(TWO_HOURS)
    *parents, key = path.split("/")
    target = document
    for parent in parents:
        target = target[parent]
    if value is DELETE:
        del target[key]
    else:
        target[key] = value
    return document


@pytest.mark.parametrize(
    "document,named",
    [
        (with_change("meters/kinesis.shard_hourz", 1), "'meters.kinesis.shard_hourz'"),
        (with_change("meters/kinesis.shard_hours", -1), "'meters.kinesis.shard_hours'"),
        (with_change("meters/kinesis.shard_hours", True), "'meters.kinesis.shard_hours'"),
        (with_change("meters/kinesis.shard_hours", "2"), "'meters.kinesis.shard_hours'"),
        (with_change("started", DELETE), "'started'"),
        (with_change("now", DELETE), "'now'"),
        (with_change("meters", DELETE), "'meters'"),
        (with_change("now", 1000.0), "'now' (1000.0) must be later than 'started' (1000.0)"),
        (with_change("now", 10.0), "'now'"),
        (with_change("started", "yesterday"), "'started'"),
        (with_change("meters", [1, 2]), "'meters'"),
        (with_change("orders_per_day", 0), "'orders_per_day'"),
        (with_change("orders_per_hour", 5), "'orders_per_hour'"),
        ([TWO_HOURS], "JSON object"),
    ],
    ids=lambda value: value if isinstance(value, str) else None,
)
def test_bad_documents_are_refused_naming_the_field(document: Any, named: str):
    with pytest.raises(ValueError, match=re.escape(named)):
        parse_meters(document, PRICES)


def test_an_unknown_meter_suggests_the_close_one():
    with pytest.raises(ValueError, match=re.escape("did you mean 'kinesis.shard_hours'?")):
        parse_meters(with_change("meters/kinesis.shard_hourz", 1), PRICES)


@pytest.mark.parametrize("scale", [0, -2, float("nan")])
def test_a_scale_that_is_not_positive_is_refused(scale: float):
    with pytest.raises(ValueError, match="scale"):
        estimate(parse_meters(TWO_HOURS, PRICES), PRICES, scale=scale)
    with pytest.raises(ValueError, match="orders_per_day"):
        volume_scale(scale, 10)


@pytest.mark.parametrize("field", ["url", "date", "unit", "per", "quantity"])
def test_a_price_entry_missing_a_field_is_refused_naming_it(field: str):
    broken = entry(1, "thing", 1, "traffic")
    del broken[field]
    with pytest.raises(ValueError, match=rf"meters\.s3\.thing: missing {field}"):
        parse_prices({"services": {"s3": "S3"}, "meters": {"s3.thing": broken}})
