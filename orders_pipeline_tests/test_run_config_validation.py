"""Bad run config fails a run before any write, naming the field; a dead endpoint: one line."""

import time
import uuid
from datetime import UTC, datetime

import dagster as dg
import pytest

from orders_pipeline.defs.analytics.assets import analytics_refresh
from orders_pipeline.defs.generation import clock
from orders_pipeline.defs.generation.assets import generated_orders
from orders_pipeline.defs.generation.clock import start_ending_by
from orders_pipeline.defs.resources import OrdersTableResource
from orders_pipeline.local_stack.server import free_port
from orders_pipeline.orders import ChangeMix, generate_changes
from orders_pipeline_tests.owned_lake import OwnedLake


def failure_message(result: dg.ExecuteInProcessResult) -> str:
    """What the failed step reports: a Failure's description, else the innermost error."""
    (failure,) = [event for event in result.all_events if event.is_step_failure]
    if failure.step_failure_data.user_failure_data is not None:
        return failure.step_failure_data.user_failure_data.description
    error = failure.step_failure_data.error
    while error.cause is not None:
        error = error.cause
    return error.message.strip()


@pytest.fixture
def empty_table(local_stack, aws_client) -> str:
    name = f"orders-validation-{uuid.uuid4().hex[:8]}"
    dynamodb = aws_client("dynamodb")
    dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "orderid", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "orderid", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    return name


def generate(table: str, config: dict) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [generated_orders],
        resources={"orders_table": OrdersTableResource(table_name=table)},
        run_config={"ops": {"generated_orders": {"config": config}}},
        raise_on_error=False,
    )


@pytest.mark.parametrize(
    ("config", "named"),
    [
        ({"count": -5}, "count"),
        ({"count": 0}, "count"),
        ({"count": 10, "rate": -1.0}, "rate"),
        ({"count": 10, "event_mix": {"refund": 0.1}}, "event_mix: unknown event type 'refund'"),
        ({"count": 10, "event_mix": {"cancel": 1.5}}, "event_mix.cancel"),
        ({"count": 10, "start": "yesterday"}, "start"),
    ],
)
def test_invalid_generation_config_fails_before_any_write(empty_table, aws_client, config, named):
    result = generate(empty_table, config)
    assert not result.success
    assert named in failure_message(result)
    assert aws_client("dynamodb").scan(TableName=empty_table, Select="COUNT")["Count"] == 0


def test_valid_generation_config_writes_the_batch(empty_table, aws_client):
    result = generate(empty_table, {"count": 5, "seed": 1, "event_mix": {"delete": 0.0}})
    assert result.success
    metadata = result.asset_materializations_for_node("generated_orders")[0].metadata
    assert metadata["insert_events"].value == 5
    assert metadata["remove_events"].value == 0


@pytest.mark.parametrize("bad_day", ["2025-13-01", "not-a-date", "2025-02-30"])
def test_a_bad_event_day_fails_the_refresh_naming_the_field_before_any_query(
    local_stack, aws_client, bad_day
):
    lake = OwnedLake(local_stack, aws_client, "config")
    result = dg.materialize(
        [analytics_refresh],
        resources={"athena": lake.athena, "glue": lake.glue, "data_lake": lake.data_lake},
        run_config={"ops": {"analytics_refresh": {"config": {"event_days": [bad_day]}}}},
        raise_on_error=False,
    )
    assert not result.success
    message = failure_message(result)
    assert "event_days" in message and bad_day in message
    assert lake.glue.table_names() == []


def test_unreachable_endpoint_fails_the_run_with_one_clear_line_and_no_retry_storm(monkeypatch):
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    started = time.monotonic()
    result = generate("OrdersRawTable", {"count": 5})
    elapsed = time.monotonic() - started
    message = failure_message(result)
    assert not result.success
    assert message.startswith("cannot reach AWS") and "\n" not in message
    assert "AWS_ENDPOINT_URL=http://127.0.0.1:" in message
    assert elapsed < 30, f"failing took {elapsed:.0f} s"


NEAR_MIDNIGHT = datetime(2025, 6, 1, 23, 59, 55, tzinfo=UTC)


def test_generated_orders_near_midnight_are_dated_no_later_than_now(
    empty_table, aws_client, monkeypatch
):
    monkeypatch.setattr(clock, "utc_now", lambda: NEAR_MIDNIGHT)
    result = generate(empty_table, {"count": 200, "seed": 3})
    assert result.success
    items = aws_client("dynamodb").scan(TableName=empty_table)["Items"]
    newest = max(item["updated_at"]["S"] for item in items)
    assert max(item["created_at"]["S"] for item in items) <= newest <= "2025-06-01T23:59:55.000Z"
    metadata = result.asset_materializations_for_node("generated_orders")[0].metadata
    assert metadata["start"].value < "2025-06-01T23:59:55.000Z"


def test_a_stream_anchored_to_end_by_an_instant_ends_exactly_then():
    mix = ChangeMix()
    start = start_ending_by(NEAR_MIDNIGHT, 300, seed=5, orders_per_second=10.0, mix=mix)
    changes = generate_changes(300, seed=5, start=start, orders_per_second=10.0, mix=mix)
    newest = max(change.order.updated_at for change in changes if change.order is not None)
    assert newest == NEAR_MIDNIGHT
