"""The deploy path against a plain moto server: create, re-run, update, failure, delete, CLI."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.stub import Stubber
from click.testing import CliRunner

from orders_pipeline.commands.deploy import deploy
from orders_pipeline.deploy import (
    DeployError,
    delete_stack,
    deploy_stack,
    failure_reason,
    stack_outputs,
)
from orders_pipeline.lambda_package import build_lambda_zip, lambda_zip_key

REGION = "eu-west-1"
ACCOUNT = "123456789012"  # moto's default account
ARTIFACTS_BUCKET = f"orders-pipeline-artifacts-{ACCOUNT}-{REGION}"
CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
STACK = "deploy-test"

# Small on purpose: the deploy logic is under test here, not the pipeline's template.
TEST_TEMPLATE = """\
Parameters:
  LambdaCodeS3Bucket: {Type: String}
  LambdaCodeS3Key: {Type: String}
  VisibilityTimeout: {Type: Number, Default: 30}
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: deploy-test-orders
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: orderid, AttributeType: S}]
      KeySchema: [{AttributeName: orderid, KeyType: HASH}]
  Bucket:
    Type: AWS::S3::Bucket
  Queue:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: deploy-test-queue
      VisibilityTimeout: !Ref VisibilityTimeout
Outputs:
  TableName: {Value: !Ref Table}
  BucketName: {Value: !Ref Bucket}
  QueueUrl: {Value: !Ref Queue}
  LambdaCode: {Value: !Sub "s3://${LambdaCodeS3Bucket}/${LambdaCodeS3Key}"}
"""


@pytest.fixture
def client(moto_endpoint: str) -> Callable[[str], Any]:
    """A factory of boto3 clients bound to this module's region, emptied before each test.

    moto's state is per process, shared with the session's local stack in another region, so
    the module clears only its own region instead of resetting the whole server.
    """
    config = Config(retries={"max_attempts": 1})

    def make(service: str) -> Any:
        return boto3.client(
            service, endpoint_url=moto_endpoint, region_name=REGION, config=config, **CREDENTIALS
        )

    _clear_region(make)
    return make


def _clear_region(make: Callable[[str], Any]) -> None:
    cloudformation = make("cloudformation")
    for stack in cloudformation.describe_stacks()["Stacks"]:
        cloudformation.delete_stack(StackName=stack["StackId"])
    dynamodb = make("dynamodb")
    for table in dynamodb.list_tables()["TableNames"]:
        dynamodb.delete_table(TableName=table)
    sqs = make("sqs")
    for queue_url in sqs.list_queues().get("QueueUrls", []):
        sqs.delete_queue(QueueUrl=queue_url)
    s3 = make("s3")
    for bucket in s3.list_buckets()["Buckets"]:
        name = bucket["Name"]
        if s3.get_bucket_location(Bucket=name)["LocationConstraint"] != REGION:
            continue
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
            for version in page.get("Versions", []) + page.get("DeleteMarkers", []):
                s3.delete_object(Bucket=name, Key=version["Key"], VersionId=version["VersionId"])
        s3.delete_bucket(Bucket=name)


@pytest.fixture
def template_path(tmp_path: Path) -> Path:
    path = tmp_path / "template.yaml"
    path.write_text(TEST_TEMPLATE)
    return path


@pytest.fixture
def deploy_test_stack(
    client: Callable[[str], Any], template_path: Path
) -> Callable[..., dict[str, str]]:
    """deploy_stack on the test template with moto clients; keyword overrides pass through."""

    def run(**overrides: Any) -> dict[str, str]:
        arguments: dict[str, Any] = {
            "stack_name": STACK,
            "template_path": template_path,
            "cloudformation": client("cloudformation"),
            "s3": client("s3"),
            "sts": client("sts"),
            "poll_interval": 0.05,
            "timeout": 30,
        }
        arguments.update(overrides)
        return deploy_stack(**arguments)

    return run


def test_deploy_creates_the_stack_and_returns_its_outputs(
    deploy_test_stack: Callable[..., dict[str, str]], client: Callable[[str], Any]
) -> None:
    outputs = deploy_test_stack()

    assert outputs["TableName"] == "deploy-test-orders"
    table = client("dynamodb").describe_table(TableName="deploy-test-orders")["Table"]
    assert table["TableStatus"] == "ACTIVE"
    client("s3").head_bucket(Bucket=outputs["BucketName"])


def test_deploy_passes_the_uploaded_lambda_zip_as_code_parameters(
    deploy_test_stack: Callable[..., dict[str, str]], client: Callable[[str], Any]
) -> None:
    zip_bytes = build_lambda_zip()

    outputs = deploy_test_stack()

    key = lambda_zip_key(zip_bytes)
    assert outputs["LambdaCode"] == f"s3://{ARTIFACTS_BUCKET}/{key}"
    uploaded = client("s3").get_object(Bucket=ARTIFACTS_BUCKET, Key=key)["Body"].read()
    assert uploaded == zip_bytes


def test_artifacts_bucket_is_created_encrypted_and_private(
    deploy_test_stack: Callable[..., dict[str, str]], client: Callable[[str], Any]
) -> None:
    deploy_test_stack()

    s3 = client("s3")
    (rule,) = s3.get_bucket_encryption(Bucket=ARTIFACTS_BUCKET)[
        "ServerSideEncryptionConfiguration"
    ]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    block = s3.get_public_access_block(Bucket=ARTIFACTS_BUCKET)
    assert set(block["PublicAccessBlockConfiguration"].values()) == {True}


def test_an_explicit_artifacts_bucket_is_used_instead(
    deploy_test_stack: Callable[..., dict[str, str]], client: Callable[[str], Any]
) -> None:
    outputs = deploy_test_stack(artifacts_bucket="my-artifacts")

    assert outputs["LambdaCode"].startswith("s3://my-artifacts/lambda/")
    bucket_names = [bucket["Name"] for bucket in client("s3").list_buckets()["Buckets"]]
    assert ARTIFACTS_BUCKET not in bucket_names


def test_rerunning_an_unchanged_deploy_keeps_resources_and_outputs(
    deploy_test_stack: Callable[..., dict[str, str]], client: Callable[[str], Any]
) -> None:
    first = deploy_test_stack()
    created = client("dynamodb").describe_table(TableName="deploy-test-orders")["Table"]

    second = deploy_test_stack()

    assert second == first
    table = client("dynamodb").describe_table(TableName="deploy-test-orders")["Table"]
    assert table["CreationDateTime"] == created["CreationDateTime"]
    assert [b["Name"] for b in client("s3").list_buckets()["Buckets"]].count(
        first["BucketName"]
    ) == 1


def test_changed_parameter_updates_the_resource(
    deploy_test_stack: Callable[..., dict[str, str]], client: Callable[[str], Any]
) -> None:
    outputs = deploy_test_stack()

    deploy_test_stack(parameters={"VisibilityTimeout": "45"})

    attributes = client("sqs").get_queue_attributes(
        QueueUrl=outputs["QueueUrl"], AttributeNames=["VisibilityTimeout"]
    )["Attributes"]
    assert attributes["VisibilityTimeout"] == "45"


def test_deploy_reports_progress_of_each_step(
    deploy_test_stack: Callable[..., dict[str, str]],
) -> None:
    lines: list[str] = []

    deploy_test_stack(progress=lines.append)

    assert lines[0].startswith(f"lambda code: s3://{ARTIFACTS_BUCKET}/lambda/")
    assert f"{STACK}: creating" in lines
    assert f"{STACK} AWS::CloudFormation::Stack CREATE_COMPLETE" in lines


def test_failing_resource_fails_the_deploy_naming_the_cause(
    deploy_test_stack: Callable[..., dict[str, str]], client: Callable[[str], Any]
) -> None:
    client("dynamodb").create_table(
        TableName="deploy-test-orders",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "orderid", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "orderid", "KeyType": "HASH"}],
    )

    with pytest.raises(DeployError, match=f"stack '{STACK}'.*Table already exists"):
        deploy_test_stack()


def test_a_rolled_back_stack_is_replaced_by_the_next_deploy(
    deploy_test_stack: Callable[..., dict[str, str]], client: Callable[[str], Any]
) -> None:
    dynamodb = client("dynamodb")
    dynamodb.create_table(
        TableName="deploy-test-orders",
        BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "orderid", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "orderid", "KeyType": "HASH"}],
    )
    with pytest.raises(DeployError):
        deploy_test_stack()
    (stack,) = client("cloudformation").describe_stacks(StackName=STACK)["Stacks"]
    assert stack["StackStatus"] == "ROLLBACK_COMPLETE"
    dynamodb.delete_table(TableName="deploy-test-orders")

    outputs = deploy_test_stack()

    assert outputs["TableName"] == "deploy-test-orders"
    (stack,) = client("cloudformation").describe_stacks(StackName=STACK)["Stacks"]
    assert stack["StackStatus"] == "CREATE_COMPLETE"


def test_missing_template_is_a_clear_error(
    deploy_test_stack: Callable[..., dict[str, str]], tmp_path: Path
) -> None:
    with pytest.raises(DeployError, match="template_path: no CloudFormation template at"):
        deploy_test_stack(template_path=tmp_path / "missing.yaml")


def test_delete_stack_removes_its_resources(
    deploy_test_stack: Callable[..., dict[str, str]], client: Callable[[str], Any]
) -> None:
    outputs = deploy_test_stack()

    delete_stack(STACK, cloudformation=client("cloudformation"), poll_interval=0.05, timeout=30)

    assert client("dynamodb").list_tables()["TableNames"] == []
    bucket_names = [bucket["Name"] for bucket in client("s3").list_buckets()["Buckets"]]
    assert outputs["BucketName"] not in bucket_names
    with pytest.raises(DeployError, match=f"stack '{STACK}' does not exist"):
        stack_outputs(STACK, client=client("cloudformation"))


def test_deleting_a_missing_stack_does_nothing(client: Callable[[str], Any]) -> None:
    lines: list[str] = []

    delete_stack("never-deployed", cloudformation=client("cloudformation"), progress=lines.append)

    assert lines == ["never-deployed: does not exist"]


# AWS-only answers moto does not give: a "No updates" error and an asynchronous rollback.
def _stack(status: str) -> dict[str, Any]:
    return {
        "StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{STACK}/1",
        "StackName": STACK,
        "StackStatus": status,
        "CreationTime": datetime(2026, 1, 1, tzinfo=UTC),
        "Outputs": [{"OutputKey": "TableName", "OutputValue": "deploy-test-orders"}],
    }


def _event(logical_id: str, resource_type: str, status: str, reason: str = "") -> dict:
    event = {
        "StackId": _stack("")["StackId"],
        "EventId": f"{logical_id}-{status}",
        "StackName": STACK,
        "LogicalResourceId": logical_id,
        "ResourceType": resource_type,
        "Timestamp": datetime(2026, 1, 1, tzinfo=UTC),
        "ResourceStatus": status,
    }
    if reason:
        event["ResourceStatusReason"] = reason
    return event


def test_no_updates_answer_from_aws_counts_as_success(
    deploy_test_stack: Callable[..., dict[str, str]], client: Callable[[str], Any]
) -> None:
    cloudformation = client("cloudformation")
    lines: list[str] = []
    with Stubber(cloudformation) as aws:
        aws.add_response("describe_stacks", {"Stacks": [_stack("CREATE_COMPLETE")]})
        aws.add_response("describe_stack_events", {"StackEvents": []})
        aws.add_client_error(
            "update_stack",
            service_error_code="ValidationError",
            service_message="No updates are to be performed.",
        )
        aws.add_response("describe_stacks", {"Stacks": [_stack("CREATE_COMPLETE")]})

        outputs = deploy_test_stack(cloudformation=cloudformation, progress=lines.append)

        aws.assert_no_pending_responses()
    assert outputs == {"TableName": "deploy-test-orders"}
    assert f"{STACK}: no changes" in lines


def test_rollback_on_aws_fails_with_the_root_cause(
    deploy_test_stack: Callable[..., dict[str, str]], client: Callable[[str], Any]
) -> None:
    cloudformation = client("cloudformation")
    events = [  # newest first, as AWS lists them
        _event(STACK, "AWS::CloudFormation::Stack", "ROLLBACK_COMPLETE"),
        _event("Queue", "AWS::SQS::Queue", "CREATE_FAILED", "Resource creation cancelled"),
        _event(
            "Table", "AWS::DynamoDB::Table", "CREATE_FAILED", "deploy-test-orders already exists"
        ),
        _event(STACK, "AWS::CloudFormation::Stack", "CREATE_IN_PROGRESS", "User Initiated"),
    ]
    with Stubber(cloudformation) as aws:
        aws.add_client_error(
            "describe_stacks",
            service_error_code="ValidationError",
            service_message=f"Stack with id {STACK} does not exist",
        )
        aws.add_response("create_stack", {"StackId": _stack("")["StackId"]})
        aws.add_response("describe_stacks", {"Stacks": [_stack("ROLLBACK_COMPLETE")]})
        aws.add_response("describe_stack_events", {"StackEvents": events})

        with pytest.raises(DeployError) as failure:
            deploy_test_stack(cloudformation=cloudformation)

    assert str(failure.value) == (
        f"stack '{STACK}' ended ROLLBACK_COMPLETE: Table (AWS::DynamoDB::Table) "
        "CREATE_FAILED: deploy-test-orders already exists"
    )


@pytest.mark.parametrize(
    ("events", "expected"),
    [
        ([], None),
        ([_event("Table", "AWS::DynamoDB::Table", "CREATE_COMPLETE")], None),
        (
            [
                _event("B", "AWS::S3::Bucket", "UPDATE_FAILED", "Resource update cancelled"),
                _event("A", "AWS::SQS::Queue", "UPDATE_FAILED", "Invalid VisibilityTimeout"),
            ],
            "A (AWS::SQS::Queue) UPDATE_FAILED: Invalid VisibilityTimeout",
        ),
        (
            [_event(STACK, "AWS::CloudFormation::Stack", "UPDATE_ROLLBACK_FAILED", "x")],
            None,
        ),
    ],
    ids=["no-events", "no-failure", "oldest-failure-wins", "stack-events-ignored"],
)
def test_failure_reason_picks_the_oldest_failed_resource(
    events: list[dict[str, Any]], expected: str | None
) -> None:
    assert failure_reason(events) == expected


def test_cli_prints_outputs_as_json(
    moto_endpoint: str,
    client: Callable[[str], Any],
    template_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")

    result = CliRunner().invoke(
        deploy,
        ["--stack-name", STACK, "--template", str(template_path), "-p", "VisibilityTimeout=40"],
        catch_exceptions=False,
    )
    json_result = CliRunner().invoke(
        deploy, ["--stack-name", STACK, "--template", str(template_path), "--output", "json"]
    )

    assert result.exit_code == 0, result.output
    rows = [line.split() for line in result.stdout.splitlines()]
    assert ["TableName", "deploy-test-orders"] in rows
    assert json_result.exit_code == 0, json_result.output
    assert json.loads(json_result.stdout)["TableName"] == "deploy-test-orders"


@pytest.mark.parametrize("bad", ["VisibilityTimeout", "=40"])
def test_cli_rejects_a_parameter_without_key_or_value(bad: str, template_path: Path) -> None:
    result = CliRunner().invoke(deploy, ["--template", str(template_path), "-p", bad])

    assert result.exit_code == 2
    assert f"expected KEY=VALUE, got '{bad}'" in result.output
