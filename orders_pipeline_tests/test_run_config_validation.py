"""Bad run config fails a run before any write, naming the field; a dead endpoint: one line."""

import time
import uuid
from datetime import UTC, datetime

import dagster as dg
import pytest

from orders_pipeline.commands.demo import DemoFailed, _day_range
from orders_pipeline.defs.analytics.assets import order_events
from orders_pipeline.defs.generation import clock
from orders_pipeline.defs.generation.assets import generated_orders
from orders_pipeline.defs.generation.clock import start_ending_by
from orders_pipeline.defs.resources import OrdersTableResource
from orders_pipeline.local_stack.server import free_port
from orders_pipeline.orders import ChangeMix, generate_changes


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


class ResourceThatMustNotBeUsed(dg.ConfigurableResource):
    def setup_for_execution(self, context) -> None:
        raise AssertionError("the run started although its partition key is invalid")


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


@pytest.mark.parametrize("bad_key", ["2025-13-01", "not-a-date", "1999-01-01"])
def test_bad_partition_key_is_refused_before_the_run_starts(bad_key):
    unusable = {name: ResourceThatMustNotBeUsed() for name in ("athena", "glue", "data_lake")}
    with pytest.raises(dg.DagsterError, match=bad_key):
        dg.materialize([order_events], partition_key=bad_key, resources=unusable)


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


def test_demo_names_a_day_from_the_data_that_is_not_a_partition_yet():
    assert _day_range(["2025-05-31", "2025-06-01"], "order-creation day", now=NEAR_MIDNIGHT) == {
        "dagster/asset_partition_range_start": "2025-05-31",
        "dagster/asset_partition_range_end": "2025-06-01",
    }
    with pytest.raises(DemoFailed) as failed:
        _day_range(["2025-06-01", "2025-06-02"], "order-creation day", now=NEAR_MIDNIGHT)
    assert str(failed.value) == (
        "order-creation day '2025-06-02' is in the future (the data's clock runs ahead of real "
        "time): daily partitions run from 2025-01-01 to 2025-06-01 (UTC)"
    )
