"""The quality checks: the refresh's checks of the days it wrote pass on good records and name the
bad ones; the daily whole-table checks and the reconciliation with DynamoDB, on the local stack."""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import dagster as dg
import pandas as pd
import pytest

from orders_pipeline import tables
from orders_pipeline.defs.analytics.assets import analytics_refresh
from orders_pipeline.defs.analytics.checks import matches_dynamodb, whole_table_quality
from orders_pipeline.defs.analytics.quality import event_age
from orders_pipeline.defs.resources import OrdersTableResource
from orders_pipeline.lib.firehose_errors import summarize_error_records
from orders_pipeline.orders.reconciliation import OrderState, reconcile
from orders_pipeline_tests.owned_lake import OwnedLake, change, keys_only

T0, T1, T2 = "2025-03-01T09:00:00.000Z", "2025-03-01T10:00:00.000Z", "2025-03-01T11:00:00.000Z"
RULES = (
    "valid_cdc_event_type",
    "orderid_not_null",
    "price_not_negative",
    "quantity_positive",
    "no_rejected_values",
    "creation_day_known",
    "unique_event_id",
    "unique_orderid",
)


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def refreshed(lake: OwnedLake, records: list[dict]) -> dict[str, dg.AssetCheckEvaluation]:
    """Deliver the records and run the analytics refresh asset over their days: its checks."""
    days = lake.deliver(records)
    result = dg.materialize(
        [analytics_refresh],
        resources={"athena": lake.athena, "glue": lake.glue, "data_lake": lake.data_lake},
        run_config={"ops": {"analytics_refresh": {"config": {"event_days": days}}}},
    )
    lake.events_metadata = {
        k: v.value
        for event in result.get_asset_materialization_events()
        if event.asset_key == dg.AssetKey("order_events")
        for k, v in event.materialization.metadata.items()
    }
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


@pytest.fixture(scope="module")
def clean(local_stack, aws_client):
    now = datetime.now(UTC).replace(microsecond=0)
    lake = OwnedLake(local_stack, aws_client, "clean")
    lake.checks = refreshed(
        lake,
        [
            change("o1", "e1", "100", stamp(now - timedelta(minutes=3))),
            change("o1", "e2", "101", stamp(now - timedelta(minutes=2)), cdc_event_type="MODIFY",
                   created=stamp(now - timedelta(minutes=3)), status="PAID"),
            change("o2", "e3", "102", stamp(now - timedelta(minutes=1)), quantity=1),
        ],
    )  # fmt: skip
    lake.table_name = f"orders-{uuid.uuid4().hex[:8]}"
    aws_client("dynamodb").create_table(
        TableName=lake.table_name,
        KeySchema=[{"AttributeName": "orderid", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "orderid", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    lake.items = {
        "o1": item("o1", "20.00", now - timedelta(minutes=2)),
        "o2": item("o2", "10.00", now - timedelta(minutes=1)),
    }
    for order in lake.items.values():
        aws_client("dynamodb").put_item(TableName=lake.table_name, Item=order)
    lake.orders_table = OrdersTableResource(table_name=lake.table_name)
    return lake


@pytest.fixture(scope="module")
def dirty(local_stack, aws_client):
    old = "2025-03-01T12:00:00Z"
    lake = OwnedLake(local_stack, aws_client, "dirty")
    lake.checks = refreshed(
        lake,
        [
            change("o1", "e1", "1", old),
            change("o2", "e2", "2", old, cdc_event_type="UPSERT"),
            change("o3", "e3", "3", old, price=-1.0),
            change("o4", "e4", "4", old, quantity=0),
            change(None, "e5", "5", old),
            change("o6", "e6", "6", old, created="last tuesday"),
            {**change("o7", "e7", "7", old), "quantity": "two"},
        ],
    )
    return lake


def item(orderid: str, total: str, updated: datetime) -> dict:
    """The attributes of a DynamoDB order item that reconciliation reads."""
    return {
        "orderid": {"S": orderid},
        "order_total": {"N": total},
        "updated_at": {"S": stamp(updated)},  # as the change records carry it
    }


@pytest.fixture
def restored(clean, aws_client):
    """The clean lake's DynamoDB table, put back as it was after the test changes it."""
    yield clean
    dynamodb = aws_client("dynamodb")
    for page in dynamodb.get_paginator("scan").paginate(TableName=clean.table_name):
        for found in page["Items"]:
            dynamodb.delete_item(TableName=clean.table_name, Key={"orderid": found["orderid"]})
    for order in clean.items.values():
        dynamodb.put_item(TableName=clean.table_name, Item=order)


def reconciliation(lake) -> dg.AssetCheckResult:
    return matches_dynamodb(athena=lake.athena, glue=lake.glue, orders_table=lake.orders_table)


def whole_table(lake) -> dict[str, dg.AssetCheckResult]:
    results = whole_table_quality(athena=lake.athena, glue=lake.glue)
    return {r.check_name: r for r in results}


@pytest.mark.parametrize("check", [*RULES, "newest_event_fresh"])
def test_the_refresh_checks_pass_on_clean_records(clean, check):
    assert clean.checks[check].passed, clean.checks[check].description


@pytest.mark.parametrize(
    ("check", "example"),
    [
        ("valid_cdc_event_type", "e2"),
        ("orderid_not_null", "e5"),
        ("price_not_negative", "o3"),
        ("quantity_positive", "o4"),
        ("creation_day_known", "o6"),
    ],
)
def test_a_refresh_check_fails_naming_the_injected_bad_record(dirty, check, example):
    outcome = dirty.checks[check]
    assert not outcome.passed
    assert outcome.metadata["failing_rows"].value == 1
    assert outcome.metadata["examples"].value == [example]


def test_values_that_cannot_be_typed_are_quarantined_and_reported_with_their_raw_text(dirty):
    outcome = dirty.checks["no_rejected_values"]
    assert not outcome.passed
    assert outcome.metadata["failing_rows"].value == 2
    assert outcome.metadata["examples"].value == [
        "o6: created_at last tuesday is not an ISO 8601 date-time",
        "o7: quantity two is not an integer",
    ]
    events = dirty.table("order_events").set_index("event_id")
    assert pd.isna(events.loc["e7", "quantity"])
    assert events.loc["e7", "rejected"] == "quantity two is not an integer"


def test_order_events_metadata_counts_the_rejects_by_column(dirty):
    assert dirty.events_metadata["rejected_rows"] == 2
    assert dirty.events_metadata["rejected_by_column"] == {"created_at": 1, "quantity": 1}


def test_an_order_with_an_unknown_creation_day_is_a_warning_not_an_error(dirty):
    assert dirty.checks["creation_day_known"].severity == dg.AssetCheckSeverity.WARN


def test_a_remove_that_holds_only_the_key_is_not_an_unknown_creation_day(local_stack, aws_client):
    lake = OwnedLake(local_stack, aws_client, "keyless")
    refreshed(lake, [change("o1", "e1", "1", "2025-03-01T10:00:00Z")])
    checks = refreshed(lake, [keys_only("o1", "e2", "2", "2025-03-02T10:00:00Z")])
    assert checks["creation_day_known"].passed


def test_freshness_fails_for_old_events(dirty):
    outcome = dirty.checks["newest_event_fresh"]
    assert not outcome.passed
    assert outcome.metadata["age_minutes"].value > 60


def test_the_whole_table_checks_pass_on_clean_tables(clean):
    assert all(r.passed for r in whole_table(clean).values())


def test_the_whole_table_checks_fail_on_the_bad_records_of_any_day(dirty):
    outcome = whole_table(dirty)["all_days_quality"]
    assert not outcome.passed
    assert outcome.metadata["quantity_positive"].value == 1
    assert outcome.metadata["valid_cdc_event_type"].value == 1


def test_duplicated_files_fail_both_uniqueness_checks(local_stack, aws_client):
    lake = OwnedLake(local_stack, aws_client, "doubled")
    refreshed(lake, [change("o1", "e1", "1", "2025-03-01T10:00:00Z")])
    for table in ("order_events", "orders_current"):
        for location in lake.partition_locations(tables.table(table)).values():
            prefix = location.removeprefix(f"s3://{lake.bucket}/")
            for obj in list(lake.data_lake.list_objects(prefix)):
                lake.s3.copy_object(
                    Bucket=lake.bucket,
                    Key=f"{obj['Key']}-copy",
                    CopySource={"Bucket": lake.bucket, "Key": obj["Key"]},
                )
    outcomes = whole_table(lake)
    assert not outcomes["all_days_quality"].passed
    assert outcomes["all_days_quality"].metadata["unique_event_id"].value == 1
    assert not outcomes["all_days_unique_orderid"].passed


def test_reconciliation_passes_when_dynamodb_and_orders_current_agree(clean):
    result = reconciliation(clean)
    assert result.passed, result.description
    assert result.metadata["table_value"].value == str(Decimal("30.00"))
    assert result.metadata["updated_in_flight"].value == 0


def test_reconciliation_leaves_out_changes_after_the_watermark(restored, aws_client):
    dynamodb, later = aws_client("dynamodb"), datetime.now(UTC) + timedelta(minutes=5)
    dynamodb.put_item(TableName=restored.table_name, Item=item("o3", "99.00", later))
    dynamodb.put_item(TableName=restored.table_name, Item=item("o2", "0.00", later))
    dynamodb.delete_item(TableName=restored.table_name, Key={"orderid": {"S": "o1"}})
    result = reconciliation(restored)
    assert result.passed, result.description
    assert result.metadata["updated_in_flight"].value == 2
    assert result.metadata["deleted_in_flight"].value == 1


def test_reconciliation_fails_naming_an_order_that_differs_before_the_watermark(
    restored, aws_client
):
    before = datetime.now(UTC) - timedelta(hours=1)
    changed = item("o2", "11.00", datetime.fromisoformat(restored.items["o2"]["updated_at"]["S"]))
    dynamodb = aws_client("dynamodb")
    dynamodb.put_item(TableName=restored.table_name, Item=changed)
    dynamodb.put_item(TableName=restored.table_name, Item=item("o9", "5.00", before))
    result = reconciliation(restored)
    assert not result.passed
    assert result.severity == dg.AssetCheckSeverity.ERROR
    assert result.metadata["differing_orders"].value == 2
    examples = result.metadata["examples"].value
    assert examples[0].startswith("o2: DynamoDB 11.00") and examples[1].startswith("o9: missing")


@pytest.mark.parametrize(
    ("dynamodb", "table", "passed", "in_flight"),
    [
        # an INSERT after the watermark is in flight, not a difference
        ({"a": ("1.00", T1), "b": ("2.00", T2)}, [("a", "1.00", T1)], True, (1, 0)),
        # a REMOVE not yet delivered: the table still holds the order
        ({"a": ("1.00", T1)}, [("a", "1.00", T1), ("b", "2.00", T2)], True, (0, 1)),
        # a MODIFY lost before the watermark: same order, older state in the table
        (
            {"a": ("3.00", T1), "b": ("2.00", T2)},
            [("a", "1.00", T0), ("b", "2.00", T2)],
            False,
            (0, 0),
        ),
        # an order twice in the table
        ({"a": ("1.00", T1)}, [("a", "1.00", T1), ("a", "1.00", T1)], False, (0, 0)),
        # an item without updated_at (other code's) compares on its value alone
        ({"a": ("1.00", None)}, [("a", "1.00", None)], True, (0, 0)),
        ({"a": ("1.00", None)}, [("a", "2.00", None)], False, (0, 0)),
        ({"a": ("1.00", None), "b": ("2.00", T1)}, [("b", "2.00", T1)], False, (0, 0)),
    ],
)
def test_reconcile_as_of_the_watermark(dynamodb, table, passed, in_flight):
    outcome = reconcile(
        {o: OrderState(Decimal(v), t) for o, (v, t) in dynamodb.items()},
        [(o, OrderState(Decimal(v), t)) for o, v, t in table],
    )
    assert outcome.passed is passed, outcome.describe()
    assert (outcome.updated_in_flight, outcome.deleted_in_flight) == in_flight


def test_event_age_reads_zone_less_athena_timestamps_as_utc():
    now = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    assert event_age(datetime(2025, 3, 1, 11, 30), now) == 30
    assert event_age(None, now) is None


def test_error_summary_counts_unreadable_lines_instead_of_dropping_them():
    summary = summarize_error_records(
        [b'{"errorCode": "Lambda.ProcessingFailed", "errorMessage": "x"}', b"not json", b""],
        "errors/part-1",
    )
    assert summary.failed_records == 2
    assert summary.error_codes == {"Lambda.ProcessingFailed": 1, "Unreadable": 1}
