"""Bad run config fails a run before any write, naming the field; a dead endpoint: one line."""

import time
import uuid

import dagster as dg
import pytest

from orders_pipeline.defs.analytics.assets import order_events
from orders_pipeline.defs.generation.assets import generated_orders
from orders_pipeline.defs.resources import OrdersTableResource
from orders_pipeline.local_stack.server import free_port


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
