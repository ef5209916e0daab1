"""infra/template.yaml and infra/dagster.yaml: linters pass, IAM is least-privilege; the
pipeline template's names and outputs match (dagster.yaml's own: test_dagster_template.py)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cfnlint.decode import decode

from orders_pipeline_tests.prerequisites import checkov

REPO_ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_PATH = REPO_ROOT / "infra" / "template.yaml"
DAGSTER_TEMPLATE_PATH = REPO_ROOT / "infra" / "dagster.yaml"
# Every CloudFormation template of the project: each passes the linters and the IAM walk.
ALL_TEMPLATES = pytest.mark.parametrize(
    "template_path", [TEMPLATE_PATH, DAGSTER_TEMPLATE_PATH], ids=lambda path: path.name
)
# Actions with no resource-level permissions: AWS accepts them only on Resource "*".
WILDCARD_RESOURCE_ACTIONS = frozenset(
    {
        "ecr:GetAuthorizationToken",
        "ecs:DescribeTaskDefinition",
        "ec2:DescribeNetworkInterfaces",
        "ssmmessages:CreateControlChannel",
        "ssmmessages:CreateDataChannel",
        "ssmmessages:OpenControlChannel",
        "ssmmessages:OpenDataChannel",
    }
)


def _decoded(path: Path) -> dict[str, Any]:
    """A template as data (cfn-lint's decoder understands the !Ref/!Sub short forms)."""
    parsed, errors = decode(str(path))
    assert not errors, errors
    return parsed


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return _decoded(TEMPLATE_PATH)


def _resources_of_type(template: dict[str, Any], resource_type: str) -> dict[str, dict]:
    return {
        name: resource
        for name, resource in template["Resources"].items()
        if resource["Type"] == resource_type
    }


def _single(template: dict[str, Any], resource_type: str) -> dict[str, Any]:
    (resource,) = _resources_of_type(template, resource_type).values()
    return resource["Properties"]


def _policy_documents(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(where, document) for every identity policy: inline role policies and IAM policies."""
    for name, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::Role":
            for policy in properties.get("Policies", []):
                yield f"{name}/{policy['PolicyName']}", policy["PolicyDocument"]
        elif resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            yield name, properties["PolicyDocument"]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@ALL_TEMPLATES
def test_cfn_lint_reports_no_findings(template_path: Path) -> None:
    # The cfn-lint of the interpreter running the tests, so CI and laptops lint alike; the
    # informational checks (I) too: zero findings means zero.
    cfn_lint = Path(sys.executable).parent / "cfn-lint"
    result = subprocess.run(
        [str(cfn_lint), "--format", "parseable", "--include-checks", "I", "--", str(template_path)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


@ALL_TEMPLATES
def test_checkov_passes_and_every_skip_is_justified(template_path: Path) -> None:
    result = subprocess.run(
        [
            checkov(),
            "-f",
            str(template_path),
            "--framework",
            "cloudformation",
            "--compact",
            "--skip-download",
            "--output",
            "json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    report = json.loads(result.stdout)
    failed = [
        f"{check['check_id']} {check['resource']}" for check in report["results"]["failed_checks"]
    ]
    assert failed == []
    assert report["summary"]["passed"] > 0
    unjustified = [
        f"{check['check_id']} {check['resource']}"
        for check in report["results"]["skipped_checks"]
        if len(check["check_result"].get("suppress_comment", "").split()) < 5
    ]
    assert unjustified == []


@ALL_TEMPLATES
def test_no_policy_allows_wildcard_actions_or_resources(template_path: Path) -> None:
    """A Resource "*" is allowed only in a statement whose every action AWS requires it for."""
    offending = []
    for where, document in _policy_documents(_decoded(template_path)):
        for statement in _as_list(document["Statement"]):
            assert statement["Effect"] == "Allow", f"{where}: identity policies only allow"
            actions = _as_list(statement["Action"])
            for action in actions:
                if "*" in action:
                    offending.append(f"{where}: action {action}")
            for resource in _as_list(statement["Resource"]):
                if resource == "*" and not set(actions) <= WILDCARD_RESOURCE_ACTIONS:
                    offending.append(f"{where}: resource * for {sorted(actions)}")
    assert offending == []


@ALL_TEMPLATES
def test_no_role_uses_managed_or_full_access_policies(template_path: Path) -> None:
    roles = _resources_of_type(_decoded(template_path), "AWS::IAM::Role")
    managed = {name: role["Properties"].get("ManagedPolicyArns") for name, role in roles.items()}
    assert all(arns is None for arns in managed.values()), managed
    assert "FullAccess" not in template_path.read_text()


@pytest.mark.parametrize(
    ("role", "service"),
    [
        ("PipeRole", "pipes.amazonaws.com"),
        ("TransformFunctionRole", "lambda.amazonaws.com"),
        ("DeliveryStreamRole", "firehose.amazonaws.com"),
        ("GlueCrawlerRole", "glue.amazonaws.com"),
    ],
)
def test_each_service_has_its_own_role_trusting_only_that_service(
    template: dict[str, Any], role: str, service: str
) -> None:
    trust = template["Resources"][role]["Properties"]["AssumeRolePolicyDocument"]
    principals = [statement["Principal"] for statement in trust["Statement"]]
    assert principals == [{"Service": service}]


@pytest.mark.parametrize(
    ("parameter", "default"),
    [
        ("OrdersTableName", "OrdersRawTable"),
        ("PipeName", "sales-ingestion-dynamodb-to-kinesis"),
        ("KinesisStreamName", "kinesis-for-sales-data"),
        ("TransformFunctionName", "process-kinesis-firehose"),
        ("DeliveryStreamName", "firehose-sales-data-to-s3"),
        ("GlueDatabaseName", "orders_db"),
        ("GlueCrawlerName", "orders-raw-crawler"),
        ("AthenaWorkGroupName", "orders-pipeline"),
        ("RawDataPrefix", "raw/orders_raw/"),
        ("ErrorDataPrefix", "errors/orders_raw/"),
        ("PipeStartingPosition", "TRIM_HORIZON"),
    ],
)
def test_names_default_to_the_documented_ones(
    template: dict[str, Any], parameter: str, default: str
) -> None:
    assert template["Parameters"][parameter]["Default"] == default


def test_stream_view_type_is_a_parameter_of_the_four_views_defaulting_to_both_images(
    template: dict[str, Any],
) -> None:
    parameter = template["Parameters"]["OrdersTableStreamViewType"]
    assert parameter["Default"] == "NEW_AND_OLD_IMAGES"
    assert sorted(parameter["AllowedValues"]) == [
        "KEYS_ONLY",
        "NEW_AND_OLD_IMAGES",
        "NEW_IMAGE",
        "OLD_IMAGE",
    ]


def test_every_parameter_is_in_a_parameter_group_and_the_readme(template: dict[str, Any]) -> None:
    groups = template["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
    grouped = [name for group in groups for name in group["Parameters"]]
    readme = (REPO_ROOT / "infra" / "README.md").read_text()
    assert sorted(grouped) == sorted(template["Parameters"])
    assert [name for name in template["Parameters"] if f"`{name}`" not in readme] == []


def test_data_bucket_defaults_to_account_and_region_name(template: dict[str, Any]) -> None:
    bucket_name = _single(template, "AWS::S3::Bucket")["BucketName"]
    assert bucket_name["Fn::If"][1] == {
        "Fn::Sub": "orders-pipeline-data-${AWS::AccountId}-${AWS::Region}"
    }


@pytest.mark.parametrize(
    "output",
    [
        "OrdersTableName",
        "OrdersTableStreamArn",
        "KinesisStreamName",
        "KinesisStreamArn",
        "PipeName",
        "TransformFunctionName",
        "TransformFunctionArn",
        "DeliveryStreamName",
        "DataBucketName",
        "RawDataPrefix",
        "ErrorDataPrefix",
        "GlueDatabaseName",
        "GlueCrawlerName",
        "GlueRawTableName",
        "AthenaWorkGroupName",
        "AthenaOutputLocation",
        "AnalyticsPrefix",
    ],
)
def test_outputs_include_every_name_code_reads(template: dict[str, Any], output: str) -> None:
    assert output in template["Outputs"]


def test_orders_table_is_on_demand_streamed_encrypted_and_recoverable(
    template: dict[str, Any],
) -> None:
    table = _single(template, "AWS::DynamoDB::Table")
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["KeySchema"] == [{"AttributeName": "orderid", "KeyType": "HASH"}]
    assert table["StreamSpecification"] == {"StreamViewType": {"Ref": "OrdersTableStreamViewType"}}
    assert table["SSESpecification"] == {"SSEEnabled": True}
    assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


def test_pipe_keys_kinesis_records_by_orderid_and_dead_letters_failures(
    template: dict[str, Any],
) -> None:
    pipe = _single(template, "AWS::Pipes::Pipe")
    source = pipe["SourceParameters"]["DynamoDBStreamParameters"]
    assert source["StartingPosition"] == {"Ref": "PipeStartingPosition"}
    assert source["BatchSize"] == {"Ref": "PipeBatchSize"}
    assert source["DeadLetterConfig"] == {"Arn": {"Fn::GetAtt": ["PipeDeadLetterQueue", "Arn"]}}
    partition_key = pipe["TargetParameters"]["KinesisStreamParameters"]["PartitionKey"]
    assert partition_key == "$.dynamodb.Keys.orderid.S"


def test_firehose_partitions_by_the_lambda_dt_key(template: dict[str, Any]) -> None:
    destination = _single(template, "AWS::KinesisFirehose::DeliveryStream")[
        "ExtendedS3DestinationConfiguration"
    ]
    assert destination["Prefix"] == {"Fn::Sub": "${RawDataPrefix}dt=!{partitionKeyFromLambda:dt}/"}
    assert destination["ErrorOutputPrefix"] == {
        "Fn::Sub": "${ErrorDataPrefix}!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/"
    }
    assert destination["DynamicPartitioningConfiguration"]["Enabled"] is True
    (processor,) = destination["ProcessingConfiguration"]["Processors"]
    assert processor["Type"] == "Lambda"


def test_buffer_size_default_is_legal_for_dynamic_partitioning_on_aws(
    template: dict[str, Any],
) -> None:
    assert template["Parameters"]["FirehoseBufferSizeMiB"]["Default"] >= 64


def test_data_bucket_blocks_public_access_and_insecure_transport(
    template: dict[str, Any],
) -> None:
    bucket = _single(template, "AWS::S3::Bucket")
    assert set(bucket["PublicAccessBlockConfiguration"].values()) == {True}
    assert bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    (statement,) = _single(template, "AWS::S3::BucketPolicy")["PolicyDocument"]["Statement"]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_athena_workgroup_enforces_encrypted_results(template: dict[str, Any]) -> None:
    configuration = _single(template, "AWS::Athena::WorkGroup")["WorkGroupConfiguration"]
    assert configuration["EnforceWorkGroupConfiguration"] is True
    result = configuration["ResultConfiguration"]
    assert result["OutputLocation"] == {"Fn::Sub": "s3://${DataBucket}/athena-results/"}
    assert result["EncryptionConfiguration"] == {"EncryptionOption": "SSE_S3"}


def test_crawler_uses_the_json_classifier_and_puts_the_table_at_level_two(
    template: dict[str, Any],
) -> None:
    crawler = _single(template, "AWS::Glue::Crawler")
    assert crawler["Classifiers"] == [{"Ref": "RawJsonClassifier"}]
    assert _single(template, "AWS::Glue::Classifier")["JsonClassifier"]["JsonPath"] == "$"
    configuration = json.loads(crawler["Configuration"])
    # RawDataPrefix has exactly two folders (its AllowedPattern), so level 2 is orders_raw.
    assert configuration["Grouping"]["TableLevelConfiguration"] == 2
    assert template["Parameters"]["RawDataPrefix"]["AllowedPattern"].count("/") == 2
