"""infra/template.yaml on the local stack: every resource real, Outputs, re-run, update, delete."""

from __future__ import annotations

import io
import json
import uuid
import zipfile

import botocore.exceptions
import pytest

from orders_pipeline.deploy import delete_stack, deploy_stack
from orders_pipeline.local_stack.stack import LOCAL_DEPLOY_PARAMETERS

OUTPUT_KEYS = [
    "OrdersTableName",
    "OrdersTableArn",
    "OrdersTableStreamArn",
    "PipeName",
    "PipeArn",
    "PipeDeadLetterQueueUrl",
    "PipeDeadLetterQueueArn",
    "KinesisStreamName",
    "KinesisStreamArn",
    "TransformFunctionName",
    "TransformFunctionArn",
    "DeliveryStreamName",
    "DeliveryStreamArn",
    "DataBucketName",
    "DataBucketArn",
    "RawDataPrefix",
    "ErrorDataPrefix",
    "AnalyticsPrefix",
    "GlueDatabaseName",
    "GlueCrawlerName",
    "GlueRawTableName",
    "AthenaWorkGroupName",
    "AthenaOutputLocation",
]


@pytest.mark.parametrize("key", OUTPUT_KEYS)
def test_every_output_resolves(deployed_stack, key):
    value = deployed_stack[key]
    assert value and "${" not in value and "!GetAtt" not in value


def test_outputs_carry_the_documented_names(deployed_stack):
    assert {
        k: deployed_stack[k]
        for k in (
            "OrdersTableName",
            "PipeName",
            "KinesisStreamName",
            "TransformFunctionName",
            "DeliveryStreamName",
            "DataBucketName",
            "GlueDatabaseName",
            "GlueCrawlerName",
            "GlueRawTableName",
            "AthenaWorkGroupName",
            "RawDataPrefix",
            "ErrorDataPrefix",
        )
    } == {
        "OrdersTableName": "OrdersRawTable",
        "PipeName": "sales-ingestion-dynamodb-to-kinesis",
        "KinesisStreamName": "kinesis-for-sales-data",
        "TransformFunctionName": "process-kinesis-firehose",
        "DeliveryStreamName": "firehose-sales-data-to-s3",
        "DataBucketName": "orders-pipeline-data-123456789012-us-east-1",
        "GlueDatabaseName": "orders_db",
        "GlueCrawlerName": "orders-raw-crawler",
        "GlueRawTableName": "orders_raw",
        "AthenaWorkGroupName": "orders-pipeline",
        "RawDataPrefix": "raw/orders_raw/",
        "ErrorDataPrefix": "errors/orders_raw/",
    }


def test_table_has_its_stream_encryption_and_point_in_time_recovery(aws_client, deployed_stack):
    dynamodb = aws_client("dynamodb")
    table = dynamodb.describe_table(TableName=deployed_stack["OrdersTableName"])["Table"]
    assert table["StreamSpecification"] == {
        "StreamEnabled": True,
        "StreamViewType": "NEW_AND_OLD_IMAGES",
    }
    assert table["LatestStreamArn"] == deployed_stack["OrdersTableStreamArn"]
    assert table["SSEDescription"]["Status"] == "ENABLED"
    assert table["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    backups = dynamodb.describe_continuous_backups(TableName=deployed_stack["OrdersTableName"])
    recovery = backups["ContinuousBackupsDescription"]["PointInTimeRecoveryDescription"]
    assert recovery["PointInTimeRecoveryStatus"] == "ENABLED"


def test_pipe_reads_the_table_stream_into_kinesis(aws_client, deployed_stack):
    pipe = aws_client("pipes").describe_pipe(Name=deployed_stack["PipeName"])
    assert pipe["Arn"] == deployed_stack["PipeArn"]
    assert pipe["Source"] == deployed_stack["OrdersTableStreamArn"]
    assert pipe["Target"] == deployed_stack["KinesisStreamArn"]
    assert pipe["DesiredState"] == "RUNNING"
    source = pipe["SourceParameters"]["DynamoDBStreamParameters"]
    assert source["BatchSize"] == int(LOCAL_DEPLOY_PARAMETERS["PipeBatchSize"])
    assert source["StartingPosition"] == "TRIM_HORIZON"
    assert source["DeadLetterConfig"]["Arn"] == deployed_stack["PipeDeadLetterQueueArn"]
    target = pipe["TargetParameters"]["KinesisStreamParameters"]
    assert target["PartitionKey"] == "$.dynamodb.Keys.orderid.S"


def test_kinesis_stream_is_encrypted(aws_client, deployed_stack):
    summary = aws_client("kinesis").describe_stream_summary(
        StreamName=deployed_stack["KinesisStreamName"]
    )["StreamDescriptionSummary"]
    assert summary["StreamARN"] == deployed_stack["KinesisStreamArn"]
    assert (summary["EncryptionType"], summary["KeyId"]) == ("KMS", "alias/aws/kinesis")


def test_transform_function_is_the_uploaded_zip(aws_client, deployed_stack):
    function = aws_client("lambda").get_function(
        FunctionName=deployed_stack["TransformFunctionName"]
    )["Configuration"]
    assert function["FunctionArn"] == deployed_stack["TransformFunctionArn"]
    assert function["Handler"] == "firehose_transform.lambda_handler"
    assert function["CodeSize"] > 0


def test_delivery_stream_keeps_the_whole_destination_config(aws_client, deployed_stack):
    description = aws_client("firehose").describe_delivery_stream(
        DeliveryStreamName=deployed_stack["DeliveryStreamName"]
    )["DeliveryStreamDescription"]
    assert description["DeliveryStreamARN"] == deployed_stack["DeliveryStreamArn"]
    assert description["DeliveryStreamType"] == "KinesisStreamAsSource"
    source = description["Source"]["KinesisStreamSourceDescription"]
    assert source["KinesisStreamARN"] == deployed_stack["KinesisStreamArn"]
    destination = description["Destinations"][0]["ExtendedS3DestinationDescription"]
    assert destination["BucketARN"] == deployed_stack["DataBucketArn"]
    assert destination["Prefix"] == "raw/orders_raw/dt=!{partitionKeyFromLambda:dt}/"
    assert destination["ErrorOutputPrefix"] == (
        "errors/orders_raw/!{firehose:error-output-type}/dt=!{timestamp:yyyy-MM-dd}/"
    )
    assert destination["BufferingHints"] == {"IntervalInSeconds": 1, "SizeInMBs": 1}
    assert destination["DynamicPartitioningConfiguration"]["Enabled"] is True
    processor = destination["ProcessingConfiguration"]["Processors"][0]
    parameters = {p["ParameterName"]: p["ParameterValue"] for p in processor["Parameters"]}
    assert parameters["LambdaArn"] == deployed_stack["TransformFunctionArn"]


def test_data_bucket_is_private_encrypted_versioned_and_tls_only(aws_client, deployed_stack):
    s3 = aws_client("s3")
    bucket = deployed_stack["DataBucketName"]
    rule = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"][0]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values()) and len(block) == 4
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    controls = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]
    assert controls["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    lifecycle = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert {r["ID"] for r in lifecycle} >= {"expire-athena-results", "expire-firehose-errors"}
    statement = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])["Statement"][0]
    assert statement["Effect"] == "Deny"
    assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_tls_only_policy_lets_clients_of_the_local_endpoint_write(aws_client, deployed_stack):
    s3 = aws_client("s3")
    bucket = deployed_stack["DataBucketName"]
    s3.put_object(Bucket=bucket, Key="deploy-test/probe.txt", Body=b"ok")
    assert s3.get_object(Bucket=bucket, Key="deploy-test/probe.txt")["Body"].read() == b"ok"
    s3.delete_object(Bucket=bucket, Key="deploy-test/probe.txt")


def test_dead_letter_queue_exists(aws_client, deployed_stack):
    attributes = aws_client("sqs").get_queue_attributes(
        QueueUrl=deployed_stack["PipeDeadLetterQueueUrl"], AttributeNames=["QueueArn"]
    )["Attributes"]
    assert attributes["QueueArn"] == deployed_stack["PipeDeadLetterQueueArn"]


def test_log_groups_and_delivery_log_stream_exist(aws_client, deployed_stack):
    logs = aws_client("logs")
    group = f"/aws/kinesisfirehose/{deployed_stack['DeliveryStreamName']}"
    streams = logs.describe_log_streams(logGroupName=group)["logStreams"]
    assert [s["logStreamName"] for s in streams] == ["DestinationDelivery"]
    lambda_group = f"/aws/lambda/{deployed_stack['TransformFunctionName']}"
    assert logs.describe_log_groups(logGroupNamePrefix=lambda_group)["logGroups"]


def test_glue_database_classifier_and_crawler(aws_client, deployed_stack):
    glue = aws_client("glue")
    assert (
        glue.get_database(Name=deployed_stack["GlueDatabaseName"])["Database"]["Name"]
        == (deployed_stack["GlueDatabaseName"])
    )
    crawler = glue.get_crawler(Name=deployed_stack["GlueCrawlerName"])["Crawler"]
    assert crawler["DatabaseName"] == deployed_stack["GlueDatabaseName"]
    assert crawler["Targets"]["S3Targets"][0]["Path"] == (
        f"s3://{deployed_stack['DataBucketName']}/raw/orders_raw/"
    )
    (classifier_name,) = crawler["Classifiers"]
    classifier = glue.get_classifier(Name=classifier_name)["Classifier"]
    assert classifier["JsonClassifier"]["JsonPath"] == "$"


def test_athena_workgroup_enforces_its_result_location(aws_client, deployed_stack):
    group = aws_client("athena").get_work_group(WorkGroup=deployed_stack["AthenaWorkGroupName"])[
        "WorkGroup"
    ]
    configuration = group["Configuration"]
    assert configuration["EnforceWorkGroupConfiguration"] is True
    result = configuration["ResultConfiguration"]
    assert result["OutputLocation"] == deployed_stack["AthenaOutputLocation"]
    assert result["EncryptionConfiguration"]["EncryptionOption"] == "SSE_S3"


def test_redeploy_with_nothing_changed_is_a_no_op(aws_client, deployed_stack):
    cloudformation = aws_client("cloudformation")
    events_before = cloudformation.describe_stack_events(StackName="orders-pipeline")
    messages = []
    outputs = deploy_stack(
        parameters=dict(LOCAL_DEPLOY_PARAMETERS), poll_interval=0.2, progress=messages.append
    )
    assert outputs == deployed_stack
    assert "orders-pipeline: no changes" in messages
    events_after = cloudformation.describe_stack_events(StackName="orders-pipeline")
    assert events_after["StackEvents"] == events_before["StackEvents"]


# ---- a second stack with its own names: update and delete without touching the shared one ----


def scratch_parameters(suffix: str, **overrides: str) -> dict[str, str]:
    names = {
        "OrdersTableName": f"orders-{suffix}",
        "PipeName": f"pipe-{suffix}",
        "KinesisStreamName": f"stream-{suffix}",
        "TransformFunctionName": f"transform-{suffix}",
        "DeliveryStreamName": f"delivery-{suffix}",
        "DataBucketName": f"data-{suffix}",
        "GlueDatabaseName": f"db_{suffix}",
        "GlueCrawlerName": f"crawler-{suffix}",
        "AthenaWorkGroupName": f"workgroup-{suffix}",
    }
    return {**LOCAL_DEPLOY_PARAMETERS, **names, **overrides}


@pytest.fixture
def scratch_stack(local_stack):
    suffix = uuid.uuid4().hex[:8]
    name = f"orders-pipeline-{suffix}"
    outputs = deploy_stack(
        stack_name=name, parameters=scratch_parameters(suffix), poll_interval=0.2
    )
    yield name, suffix, outputs
    try:
        delete_stack(name, poll_interval=0.2)
    except Exception as error:  # already deleted by the test itself
        if "does not exist" not in str(error):
            raise


def test_update_applies_a_changed_parameter(aws_client, scratch_stack):
    name, suffix, outputs = scratch_stack
    deploy_stack(
        stack_name=name,
        parameters=scratch_parameters(suffix, FirehoseBufferIntervalSeconds="7", PipeBatchSize="9"),
        poll_interval=0.2,
    )
    description = aws_client("firehose").describe_delivery_stream(
        DeliveryStreamName=outputs["DeliveryStreamName"]
    )["DeliveryStreamDescription"]
    hints = description["Destinations"][0]["ExtendedS3DestinationDescription"]["BufferingHints"]
    assert hints["IntervalInSeconds"] == 7
    pipe = aws_client("pipes").describe_pipe(Name=outputs["PipeName"])
    assert pipe["SourceParameters"]["DynamoDBStreamParameters"]["BatchSize"] == 9


def test_update_to_new_lambda_code_keeps_other_values_and_runs_the_new_zip(
    aws_client, scratch_stack
):
    name, _, outputs = scratch_stack
    cloudformation = aws_client("cloudformation")
    (stack,) = cloudformation.describe_stacks(StackName=name)["Stacks"]
    previous = {p["ParameterKey"]: p["ParameterValue"] for p in stack["Parameters"]}
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr(
            "firehose_transform.py", "def lambda_handler(event, context):\n    return {'v': 2}\n"
        )
    aws_client("s3").put_object(
        Bucket=previous["LambdaCodeS3Bucket"], Key="lambda/v2.zip", Body=buffer.getvalue()
    )
    cloudformation.update_stack(
        StackName=name,
        UsePreviousTemplate=True,
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
        Parameters=[
            {"ParameterKey": "LambdaCodeS3Key", "ParameterValue": "lambda/v2.zip"},
            *(
                {"ParameterKey": key, "UsePreviousValue": True}
                for key in previous
                if key != "LambdaCodeS3Key"
            ),
        ],
    )
    (updated,) = cloudformation.describe_stacks(StackName=name)["Stacks"]
    assert updated["StackStatus"] == "UPDATE_COMPLETE"
    response = aws_client("lambda").invoke(
        FunctionName=outputs["TransformFunctionName"], Payload=b"{}"
    )
    assert json.loads(response["Payload"].read()) == {"v": 2}
    # Resources moto itself cannot update stay in the stack, unchanged.
    table = cloudformation.describe_stack_resource(StackName=name, LogicalResourceId="OrdersTable")
    assert table["StackResourceDetail"]["PhysicalResourceId"] == outputs["OrdersTableName"]
    aws_client("dynamodb").describe_table(TableName=outputs["OrdersTableName"])


NOT_FOUND = {
    "ResourceNotFoundException",
    "NotFoundException",
    "EntityNotFoundException",
    "404",
    "AWS.SimpleQueueService.NonExistentQueue",
}


def found(describe) -> bool:
    try:
        describe()
    except botocore.exceptions.ClientError as error:
        if error.response["Error"]["Code"] in NOT_FOUND:
            return False
        raise
    return True


@pytest.mark.parametrize(
    ("resource", "exists"),
    [
        (
            "table",
            lambda c, o: found(
                lambda: c("dynamodb").describe_table(TableName=o["OrdersTableName"])
            ),
        ),
        ("pipe", lambda c, o: found(lambda: c("pipes").describe_pipe(Name=o["PipeName"]))),
        (
            "stream",
            lambda c, o: found(
                lambda: c("kinesis").describe_stream_summary(StreamName=o["KinesisStreamName"])
            ),
        ),
        (
            "function",
            lambda c, o: found(
                lambda: c("lambda").get_function(FunctionName=o["TransformFunctionName"])
            ),
        ),
        (
            "delivery stream",
            lambda c, o: found(
                lambda: c("firehose").describe_delivery_stream(
                    DeliveryStreamName=o["DeliveryStreamName"]
                )
            ),
        ),
        ("bucket", lambda c, o: found(lambda: c("s3").head_bucket(Bucket=o["DataBucketName"]))),
        (
            "queue",
            lambda c, o: found(
                lambda: c("sqs").get_queue_url(
                    QueueName=o["PipeDeadLetterQueueUrl"].rsplit("/", 1)[1]
                )
            ),
        ),
        (
            "glue database",
            lambda c, o: found(lambda: c("glue").get_database(Name=o["GlueDatabaseName"])),
        ),
        ("crawler", lambda c, o: found(lambda: c("glue").get_crawler(Name=o["GlueCrawlerName"]))),
        (
            "classifier",
            lambda c, o: found(
                lambda: c("glue").get_classifier(Name=f"{o['GlueCrawlerName']}-json")
            ),
        ),
        (
            "workgroup",
            lambda c, o: (
                o["AthenaWorkGroupName"]
                in {group["Name"] for group in c("athena").list_work_groups()["WorkGroups"]}
            ),
        ),
    ],
)
def test_delete_stack_removes_the_resource(aws_client, scratch_stack, resource, exists):
    name, _, outputs = scratch_stack
    assert exists(aws_client, outputs)
    delete_stack(name, poll_interval=0.2)
    assert not exists(aws_client, outputs)
