"""Asset checks pass on good data and fail on injected bad rows, through Glue and Athena locally."""

import json
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import dagster as dg
import pytest
from dagster_aws.s3 import S3Resource

from orders_pipeline.defs.analytics.assets import order_events, orders_current, rebuild_table
from orders_pipeline.defs.analytics.checks import (
    FreshnessConfig,
    event_age,
    matches_dynamodb,
    newest_event_fresh,
    unique_event_id,
    unique_orderid,
)
from orders_pipeline.orders.reconciliation import OrderState, reconcile
from orders_pipeline.defs.catalog.assets import orders_raw, orders_raw_checks
from orders_pipeline.defs.ingestion.firehose_errors import summarize_error_records
from orders_pipeline.defs.resources import (
    AthenaResource,
    AthenaResult,
    DataLakeResource,
    GlueCatalogResource,
    OrdersTableResource,
)

T0, T1, T2 = "2025-03-01T09:00:00.000Z", "2025-03-01T10:00:00.000Z", "2025-03-01T11:00:00.000Z"
RAW_CHECKS = ("valid_cdc_event_type", "price_not_negative", "quantity_positive", "orderid_not_null")


def flat_record(orderid, event_id, sequence_number, when: datetime, **overrides) -> dict:
    """A record as the Firehose transform writes it (JSON numbers keep their digits)."""
    stamp = when.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    record = {
        "orderid": orderid,
        "customer_id": "C-1",
        "customer_name": "Ada Lovelace",
        "product_id": "P-1",
        "product_name": "Atlas of Remote Islands",
        "category": "Books",
        "quantity": 2,
        "price": 10.0,
        "discount": 0.0,
        "order_total": 20.0,
        "currency": "USD",
        "status": "PLACED",
        "payment_method": "paypal",
        "channel": "web",
        "shipping_country": "France",
        "shipping_city": "Lyon",
        "created_at": stamp,
        "updated_at": stamp,
        "cdc_event_type": "INSERT",
        "event_id": event_id,
        "sequence_number": sequence_number,
        "creation_datetime": stamp[:19] + "Z",
        "is_deleted": False,
    }
    return {**record, **overrides}


class Lake:
    """An isolated data bucket, Glue database, crawler and orders table on the local stack."""

    def __init__(self, local_stack, aws_client, records: list[dict]) -> None:
        suffix = uuid.uuid4().hex[:10]
        self.bucket = f"checks-{suffix}"
        self.database = f"checks_{suffix}"
        self.table_name = f"orders-{suffix}"
        s3, glue, dynamodb = aws_client("s3"), aws_client("glue"), aws_client("dynamodb")
        s3.create_bucket(Bucket=self.bucket)
        glue.create_database(DatabaseInput={"Name": self.database})
        glue.create_crawler(
            Name=f"crawler-{suffix}",
            Role="arn:aws:iam::123456789012:role/crawler",
            DatabaseName=self.database,
            Targets={"S3Targets": [{"Path": f"s3://{self.bucket}/raw/orders_raw/"}]},
        )
        dynamodb.create_table(
            TableName=self.table_name,
            KeySchema=[{"AttributeName": "orderid", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "orderid", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        self.dt = records[0]["creation_datetime"][:10]
        body = "".join(json.dumps(r) + "\n" for r in records).encode()
        s3.put_object(Bucket=self.bucket, Key=f"raw/orders_raw/dt={self.dt}/part-0", Body=body)
        region = local_stack.region
        self.resources = {
            "data_lake": DataLakeResource(
                s3=S3Resource(region_name=region, max_attempts=2), bucket=self.bucket
            ),
            "glue": GlueCatalogResource(
                database=self.database, crawler_name=f"crawler-{suffix}", raw_table="orders_raw"
            ),
            "athena": AthenaResource(
                database=self.database,
                work_group="primary",
                output_location=f"s3://{self.bucket}/athena-results/",
            ),
            "orders_table": OrdersTableResource(table_name=self.table_name),
        }
        self.s3 = s3

    def build(self) -> dg.ExecuteInProcessResult:
        """Crawl, run the raw checks, build order_events and orders_current."""
        return dg.materialize(
            [orders_raw, orders_raw_checks, order_events, orders_current],
            resources=self.resources,
            partition_key=self.dt,
        )

    def duplicate_files(self, prefix: str) -> None:
        """Copy every Parquet file under `prefix`: the rows a double write would leave."""
        listing = self.s3.list_objects_v2(Bucket=self.bucket, Prefix=prefix)["Contents"]
        for item in listing:
            self.s3.copy_object(
                Bucket=self.bucket,
                Key=f"{item['Key']}-copy",
                CopySource={"Bucket": self.bucket, "Key": item["Key"]},
            )


def raw_outcomes(result: dg.ExecuteInProcessResult) -> dict[str, dg.AssetCheckEvaluation]:
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


@pytest.fixture(scope="module")
def clean(local_stack, aws_client):
    now = datetime.now(UTC).replace(microsecond=0)
    lake = Lake(
        local_stack,
        aws_client,
        [
            flat_record("o1", "e1", "100", now - timedelta(minutes=3)),
            flat_record(
                "o1",
                "e2",
                "101",
                now - timedelta(minutes=2),
                status="PAID",
                cdc_event_type="MODIFY",
            ),
            flat_record(
                "o2", "e3", "102", now - timedelta(minutes=1), quantity=1, order_total=10.0
            ),
        ],
    )
    lake.items = {
        "o1": item("o1", "20.00", now - timedelta(minutes=2)),
        "o2": item("o2", "10.00", now - timedelta(minutes=1)),
    }
    for order in lake.items.values():
        aws_client("dynamodb").put_item(TableName=lake.table_name, Item=order)
    lake.result = lake.build()
    return lake


def item(orderid: str, total: str, updated: datetime) -> dict:
    """The attributes of a DynamoDB order item that reconciliation reads."""
    return {
        "orderid": {"S": orderid},
        "order_total": {"N": total},
        "updated_at": {"S": updated.strftime("%Y-%m-%dT%H:%M:%S.000Z")},
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
    return matches_dynamodb(**{k: lake.resources[k] for k in ("athena", "glue", "orders_table")})


@pytest.fixture(scope="module")
def dirty(local_stack, aws_client):
    old = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    lake = Lake(
        local_stack,
        aws_client,
        [
            flat_record("o1", "e1", "1", old),
            flat_record("o2", "e2", "2", old, cdc_event_type="UPSERT"),
            flat_record("o3", "e3", "3", old, price=-1.0),
            flat_record("o4", "e4", "4", old, quantity=0),
            flat_record(None, "e5", "5", old),
        ],
    )
    lake.result = lake.build()
    return lake


@pytest.mark.parametrize("check", RAW_CHECKS)
def test_raw_checks_pass_on_clean_records(clean, check):
    assert raw_outcomes(clean.result)[check].passed


@pytest.mark.parametrize(
    ("check", "bad_event"),
    [
        ("valid_cdc_event_type", "e2"),
        ("price_not_negative", "e3"),
        ("quantity_positive", "e4"),
        ("orderid_not_null", "e5"),
    ],
)
def test_raw_checks_fail_on_the_injected_bad_record(dirty, check, bad_event):
    outcome = raw_outcomes(dirty.result)[check]
    assert not outcome.passed
    assert outcome.metadata["failing_rows"].value == 1
    assert outcome.metadata["example"].value == bad_event


def test_unique_event_id_passes_after_dedup(clean):
    assert unique_event_id(athena=clean.resources["athena"], glue=clean.resources["glue"]).passed


def test_unique_orderid_passes_on_the_current_state(clean):
    assert unique_orderid(athena=clean.resources["athena"], glue=clean.resources["glue"]).passed


def test_reconciliation_passes_when_dynamodb_and_orders_current_agree(clean):
    result = reconciliation(clean)
    assert result.passed
    assert result.metadata["table_value"].value == str(Decimal("30.00"))
    assert result.metadata["updated_in_flight"].value == 0


def test_reconciliation_leaves_out_changes_after_the_watermark(restored, aws_client):
    dynamodb, later = aws_client("dynamodb"), datetime.now(UTC) + timedelta(minutes=5)
    dynamodb.put_item(TableName=restored.table_name, Item=item("o3", "99.00", later))
    dynamodb.put_item(TableName=restored.table_name, Item=item("o2", "0.00", later))
    dynamodb.delete_item(TableName=restored.table_name, Key={"orderid": {"S": "o1"}})
    result = reconciliation(restored)
    assert result.passed, result.description
    assert result.severity == dg.AssetCheckSeverity.ERROR
    assert result.metadata["updated_in_flight"].value == 2
    assert result.metadata["deleted_in_flight"].value == 1
    assert result.metadata["dynamodb_orders"].value == result.metadata["table_orders"].value == 0


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
    assert (result.metadata["dynamodb_value"].value, result.metadata["table_value"].value) == (
        "36.00",
        "30.00",
    )
    examples = result.metadata["examples"].value
    assert examples[0].startswith("o2: DynamoDB 11.00") and examples[1].startswith("o9: missing")
    assert "2 orders differ" in result.description


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
    ],
)
def test_reconcile_as_of_the_watermark(dynamodb, table, passed, in_flight):
    outcome = reconcile(
        {o: OrderState(Decimal(v), t) for o, (v, t) in dynamodb.items()},
        [(o, OrderState(Decimal(v), t)) for o, v, t in table],
    )
    assert outcome.passed is passed, outcome.describe()
    assert (outcome.updated_in_flight, outcome.deleted_in_flight) == in_flight


def test_freshness_passes_for_events_minutes_old(clean):
    check = newest_event_fresh(
        config=FreshnessConfig(max_age_minutes=60),
        athena=clean.resources["athena"],
        glue=clean.resources["glue"],
    )
    assert check.passed


def test_freshness_fails_for_old_events(dirty):
    check = newest_event_fresh(
        config=FreshnessConfig(max_age_minutes=60),
        athena=dirty.resources["athena"],
        glue=dirty.resources["glue"],
    )
    assert not check.passed
    assert check.metadata["age_minutes"].value > 60


def test_duplicated_rows_fail_uniqueness_and_reconciliation(dirty, aws_client):
    dirty.duplicate_files("analytics/order_events/")
    dirty.duplicate_files("analytics/orders_current/")
    athena, glue = dirty.resources["athena"], dirty.resources["glue"]
    duplicated_events = unique_event_id(athena=athena, glue=glue)
    duplicated_orders = unique_orderid(athena=athena, glue=glue)
    reconciliation = matches_dynamodb(
        athena=athena, glue=glue, orders_table=dirty.resources["orders_table"]
    )
    assert not duplicated_events.passed and duplicated_events.metadata["failing_rows"].value == 5
    assert not duplicated_orders.passed
    assert not reconciliation.passed
    assert reconciliation.metadata["dynamodb_orders"].value == 0


def test_event_age_reads_zone_less_athena_timestamps_as_utc():
    now = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    assert event_age(datetime(2025, 3, 1, 11, 30), now) == timedelta(minutes=30)
    assert event_age(None, now) is None


def test_error_summary_counts_unreadable_lines_instead_of_dropping_them():
    summary = summarize_error_records(
        [b'{"errorCode": "Lambda.ProcessingFailed", "errorMessage": "x"}', b"not json", b""],
        "errors/part-1",
    )
    assert summary.failed_records == 2
    assert summary.error_codes == {"Lambda.ProcessingFailed": 1, "Unreadable": 1}


class ReaderWatchingAthena(AthenaResource):
    """Runs each statement, then reads orders_current as a dashboard query would meanwhile."""

    def run(self, sql: str) -> AthenaResult:
        result = super().run(sql)
        if not sql.lstrip().upper().startswith("SELECT"):
            count = f"SELECT COUNT(*) AS n FROM {self.database}.orders_current"
            READER_COUNTS.append(int(super().run(count).rows[0]["n"]))
        return result


READER_COUNTS: list[int] = []


def versions_in_the_catalog(lake) -> list[str]:
    names = lake.resources["glue"].table_names()
    return [name for name in names if name.startswith("orders_current_v")]


def test_orders_current_rebuild_never_hides_the_table_from_readers(clean):
    glue, data_lake = clean.resources["glue"], clean.resources["data_lake"]
    (previous,) = versions_in_the_catalog(clean)
    watching = ReaderWatchingAthena(**clean.resources["athena"].model_dump())
    READER_COUNTS.clear()
    rebuild_table("orders_current", watching, glue, data_lake)
    assert READER_COUNTS and set(READER_COUNTS) == {2}, READER_COUNTS
    (current,) = versions_in_the_catalog(clean)
    assert current != previous
    assert glue.table_type("orders_current") == "VIRTUAL_VIEW"
    keys = [obj["Key"] for obj in data_lake.list_objects("analytics/orders_current/")]
    version = current.removeprefix("orders_current_v")
    assert keys and all(k.startswith(f"analytics/orders_current/v={version}/") for k in keys)


def test_a_plain_orders_current_table_from_before_versioning_is_replaced_by_the_view(clean):
    athena, glue, data_lake = (clean.resources[k] for k in ("athena", "glue", "data_lake"))
    athena.run(f"DROP VIEW {clean.database}.orders_current")
    data_lake.delete_prefix("analytics/orders_current/")
    for name in versions_in_the_catalog(clean):
        athena.run(f"DROP TABLE {clean.database}.{name}")
    athena.run(
        f"CREATE TABLE {clean.database}.orders_current WITH (format = 'PARQUET', "
        f"external_location = 's3://{clean.bucket}/analytics/orders_current/') "
        f"AS SELECT orderid FROM {clean.database}.order_events"
    )
    rebuild_table("orders_current", athena, glue, data_lake)
    assert glue.table_type("orders_current") == "VIRTUAL_VIEW"
    (current,) = versions_in_the_catalog(clean)
    keys = [obj["Key"] for obj in data_lake.list_objects("analytics/orders_current/")]
    assert keys and all(k.startswith("analytics/orders_current/v=") for k in keys)
    assert unique_orderid(athena=athena, glue=glue).passed
    assert reconciliation(clean).passed
