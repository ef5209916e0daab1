"""The Dagster tasks' IAM policy (infra/dagster.yaml, PipelineAccessPolicy) allows every AWS call
the pipeline's code makes, as recorded by the local stack while the pipeline runs: generation,
sensor ticks, the ingest run (catalog and refresh), the daily checks and the dashboard."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import dagster as dg
import pytest
from cfnlint.decode import decode

from orders_pipeline.defs.resources import environment_from_outputs
from orders_pipeline_tests.isolated_stack import deploy_isolated_stack

TEMPLATE = Path(__file__).resolve().parents[1] / "infra" / "dagster.yaml"
# What Athena does with the caller's own permissions (reading the lake, writing results and
# tables, the catalog a query plans with): the emulator's Athena does it inside the service.
ATHENA_ON_THE_CALLERS_BEHALF = {
    "s3:GetObject", "s3:PutObject", "s3:ListBucket", "s3:GetBucketLocation",
    "glue:GetDatabase", "glue:GetTable", "glue:GetPartitions", "glue:CreateTable",
    "glue:BatchCreatePartition",
}  # fmt: skip
pytestmark = pytest.mark.slow


def allowed_actions() -> set[str]:
    parsed, errors = decode(str(TEMPLATE))
    assert not errors, errors
    policy = parsed["Resources"]["PipelineAccessPolicy"]["Properties"]["PolicyDocument"]
    actions: set[str] = set()
    for statement in policy["Statement"]:
        assert statement["Effect"] == "Allow"
        found = statement["Action"]
        actions.update([found] if isinstance(found, str) else found)
    return actions


@pytest.fixture(scope="module")
def called(local_stack) -> Counter[str]:
    """The IAM actions the pipeline's code called through one pass of everything it runs."""
    _, outputs = deploy_isolated_stack("iam")
    before = Counter(local_stack._request_meter.actions)
    with pytest.MonkeyPatch.context() as env:
        for name, value in environment_from_outputs(outputs).items():
            env.setenv(name, value)
        from orders_pipeline.defs.ingestion.sensors import (
            firehose_delivery_sensor,
            firehose_error_sensor,
        )
        from orders_pipeline.demo import pipeline, refresh_tables, run_demo

        result = run_demo(40, seed=3, say=lambda _: None)
        refresh_tables(result.build.event_days, say=lambda _: None)
        with pipeline() as pipe:
            resources = {
                "data_lake": pipe.live.data_lake,
                "glue": pipe.live.glue,
                "streams": pipe.live.streams,
            }
            for sensor in (firehose_delivery_sensor, firehose_error_sensor):
                used = {k: v for k, v in resources.items() if k in sensor.required_resource_keys}
                with dg.build_sensor_context(resources=used, instance=pipe.instance) as context:
                    sensor(context)
    after = Counter(local_stack._request_meter.actions)
    return after - before


def test_the_pass_made_the_calls_of_every_stage(called: Counter[str]):
    stages = {
        "dynamodb:BatchWriteItem",  # generation
        "s3:ListBucket",  # sensors
        "glue:BatchCreatePartition",  # catalog
        "athena:StartQueryExecution",  # refresh
        "glue:BatchUpdatePartition",  # refresh: partitions switched
        "dynamodb:Scan",  # daily reconciliation
        "s3:PutObject",  # dashboard
    }
    assert stages <= set(called)


def test_every_call_the_pipeline_makes_is_allowed_by_the_task_policy(called: Counter[str]):
    assert set(called) - allowed_actions() == set()


def test_what_athena_does_for_the_caller_is_allowed_too():
    assert ATHENA_ON_THE_CALLERS_BEHALF - allowed_actions() == set()
