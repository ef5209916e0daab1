"""Lambda Invoke on the local stack runs the deployed zip's handler with AWS's response contract."""

from __future__ import annotations

import base64
import io
import json
import textwrap
import time
import uuid
import zipfile

import pytest

HANDLERS = textwrap.dedent(
    """
    import json, logging, os, time

    import boto3

    def echo(event, context):
        print("event received", json.dumps(event))
        logging.getLogger().info("handled %s", context.aws_request_id)
        return {"event": event, "function": context.function_name,
                "remaining_ms": context.get_remaining_time_in_millis()}

    def environment(event, context):
        return {name: os.environ.get(name) for name in event["names"]}

    def fail(event, context):
        raise ValueError("order total must be positive, got " + str(event["total"]))

    def sleep(event, context):
        time.sleep(event["seconds"])
        return {"slept": event["seconds"]}

    def pid(event, context):
        return {"pid": os.getpid(), "module": __file__}

    def put_object(event, context):
        boto3.client("s3").put_object(Bucket=event["bucket"], Key=event["key"], Body=b"from lambda")
        return {"ok": True}

    def exit_process(event, context):
        os._exit(event["code"])

    def not_json(event, context):
        return {"when": object()}
    """
)


def build_zip(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, text in files.items():
            archive.writestr(name, text)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def role_arn(aws_client):
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "sts:AssumeRole",
                "Principal": {"Service": "lambda.amazonaws.com"},
            }
        ],
    }
    return aws_client("iam").create_role(
        RoleName=f"lambda-invoke-test-{uuid.uuid4().hex[:8]}",
        AssumeRolePolicyDocument=json.dumps(document),
    )["Role"]["Arn"]


@pytest.fixture(scope="module")
def make_function(aws_client, role_arn):
    """`make_function("handlers.echo", timeout=3, env={...}) -> name` from the HANDLERS zip."""
    lambdas = aws_client("lambda")

    def make(handler, *, timeout=3, env=None, code=None):
        name = f"{handler.replace('.', '-')}-{uuid.uuid4().hex[:8]}"
        lambdas.create_function(
            FunctionName=name,
            Runtime="python3.12",
            Role=role_arn,
            Handler=handler,
            Code={"ZipFile": code or build_zip({"handlers.py": HANDLERS})},
            Timeout=timeout,
            Environment={"Variables": env or {}},
        )
        return name

    return make


def invoke(aws_client, name, event, **kwargs):
    response = aws_client("lambda").invoke(
        FunctionName=name, Payload=json.dumps(event).encode(), **kwargs
    )
    return response, json.loads(response["Payload"].read())


def test_invoke_returns_the_handler_result(aws_client, make_function):
    name = make_function("handlers.echo")
    response, payload = invoke(aws_client, name, {"orderid": "o-1"})
    assert response["StatusCode"] == 200
    assert "FunctionError" not in response
    assert payload["event"] == {"orderid": "o-1"}
    assert payload["function"] == name
    assert 0 < payload["remaining_ms"] <= 3000


def test_log_tail_has_the_invocation_log_only_when_asked(aws_client, make_function):
    name = make_function("handlers.echo")
    tailed, _ = invoke(aws_client, name, {"n": 1}, LogType="Tail")
    log = base64.b64decode(tailed["LogResult"]).decode()
    assert log.startswith("START RequestId: ")
    assert 'event received {"n": 1}' in log
    assert "[INFO]" in log and "handled " in log
    assert "END RequestId: " in log and "REPORT RequestId: " in log
    plain, _ = invoke(aws_client, name, {"n": 2})
    assert "LogResult" not in plain


def test_log_tail_is_the_last_4_kb(aws_client, make_function):
    name = make_function("handlers.echo")
    response, _ = invoke(aws_client, name, {"padding": "x" * 10_000}, LogType="Tail")
    log = base64.b64decode(response["LogResult"])
    assert len(log) == 4096
    assert log.rstrip().endswith(b"MB")  # the REPORT line closes the tail


def test_exception_gives_function_error_and_aws_error_payload(aws_client, make_function):
    name = make_function("handlers.fail")
    response, payload = invoke(aws_client, name, {"total": -3}, LogType="Tail")
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "ValueError"
    assert payload["errorMessage"] == "order total must be positive, got -3"
    assert any("in fail" in frame for frame in payload["stackTrace"])
    assert (
        "[ERROR] ValueError: order total must be positive"
        in base64.b64decode(response["LogResult"]).decode()
    )


def test_unserialisable_result_is_a_marshal_error(aws_client, make_function):
    response, payload = invoke(aws_client, make_function("handlers.not_json"), {})
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Runtime.MarshalError"


def test_runtime_exit_is_reported_and_the_next_invocation_starts_afresh(aws_client, make_function):
    name = make_function("handlers.exit_process")
    response, payload = invoke(aws_client, name, {"code": 3})
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Runtime.ExitError"
    assert payload["errorMessage"].endswith("Error: Runtime exited with error: exit status 3")
    _, again = invoke(aws_client, name, {"code": 4})
    assert again["errorMessage"].endswith("exit status 4")


def test_missing_handler_module_is_an_import_error(aws_client, make_function):
    response, payload = invoke(aws_client, make_function("missing.handler"), {})
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorType"] == "Runtime.ImportModuleError"
    assert "Unable to import module 'missing'" in payload["errorMessage"]


def test_timeout_is_honoured_and_the_next_invocation_works(aws_client, make_function):
    name = make_function("handlers.sleep", timeout=1)
    started = time.monotonic()
    response, payload = invoke(aws_client, name, {"seconds": 30})
    assert time.monotonic() - started < 5
    assert response["FunctionError"] == "Unhandled"
    assert payload["errorMessage"].endswith("Task timed out after 1.00 seconds")
    _, again = invoke(aws_client, name, {"seconds": 0})
    assert again == {"slept": 0}


def test_function_environment_variables_reach_the_handler(aws_client, make_function):
    name = make_function("handlers.environment", env={"ORDERS_TABLE": "OrdersRawTable"})
    _, payload = invoke(
        aws_client, name, {"names": ["ORDERS_TABLE", "AWS_LAMBDA_FUNCTION_NAME", "AWS_REGION"]}
    )
    assert payload == {
        "ORDERS_TABLE": "OrdersRawTable",
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_REGION": "us-east-1",
    }


def test_process_stays_warm_between_invocations(aws_client, make_function):
    name = make_function("handlers.pid")
    pids = {invoke(aws_client, name, {})[1]["pid"] for _ in range(5)}
    assert len(pids) == 1


def test_runs_the_deployed_zip_and_new_code_after_an_update(aws_client, make_function):
    name = make_function("handlers.pid")
    _, before = invoke(aws_client, name, {})
    assert "orders_pipeline" not in before["module"]  # the extracted zip, not the repository
    new_code = build_zip({"handlers.py": "def pid(event, context):\n    return {'version': 2}\n"})
    aws_client("lambda").update_function_code(FunctionName=name, ZipFile=new_code)
    _, after = invoke(aws_client, name, {})
    assert after == {"version": 2}


def test_a_qualifier_runs_that_published_version(aws_client, make_function):
    name = make_function("handlers.pid")
    version = aws_client("lambda").publish_version(FunctionName=name)["Version"]
    new_code = build_zip({"handlers.py": "def pid(event, context):\n    return {'version': 2}\n"})
    aws_client("lambda").update_function_code(FunctionName=name, ZipFile=new_code)

    _, published = invoke(aws_client, name, {}, Qualifier=version)
    _, latest = invoke(aws_client, name, {}, Qualifier="$LATEST")

    assert "pid" in published
    assert latest == {"version": 2}


def test_a_qualifier_of_no_version_is_resource_not_found(aws_client, make_function):
    name = make_function("handlers.echo")

    with pytest.raises(aws_client("lambda").exceptions.ResourceNotFoundException):
        invoke(aws_client, name, {}, Qualifier="9")


def test_a_qualifier_inside_the_event_is_only_the_event(aws_client, make_function):
    name = make_function("handlers.echo")

    response, payload = invoke(aws_client, name, {"qualifier": "9"})

    assert response["StatusCode"] == 200
    assert payload["event"] == {"qualifier": "9"}


def test_event_invocation_is_accepted_and_runs_against_the_local_stack(aws_client, make_function):
    s3 = aws_client("s3")
    bucket = f"lambda-event-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket)
    name = make_function("handlers.put_object")
    response = aws_client("lambda").invoke(
        FunctionName=name,
        InvocationType="Event",
        Payload=json.dumps({"bucket": bucket, "key": "written"}).encode(),
    )
    assert response["StatusCode"] == 202
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if s3.list_objects_v2(Bucket=bucket).get("KeyCount"):
            break
        time.sleep(0.1)
    assert s3.get_object(Bucket=bucket, Key="written")["Body"].read() == b"from lambda"


def test_firehose_batch_of_thousands_runs_in_one_warm_invocation(aws_client, make_function):
    code = build_zip(
        {
            "transform.py": textwrap.dedent(
                """
        def handler(event, context):
            return {"records": [{"recordId": r["recordId"], "result": "Ok", "data": r["data"]}
                                for r in event["records"]]}
        """
            )
        }
    )
    name = make_function("transform.handler", code=code)
    records = [
        {"recordId": str(i), "data": base64.b64encode(b'{"orderid": "o"}').decode()}
        for i in range(5000)
    ]
    invoke(aws_client, name, {"records": records[:1]})  # start the warm process
    started = time.monotonic()
    _, payload = invoke(aws_client, name, {"records": records})
    elapsed = time.monotonic() - started
    assert [r["recordId"] for r in payload["records"]] == [r["recordId"] for r in records]
    assert elapsed < 5, f"5,000-record batch took {elapsed:.2f} s"


def test_stack_deployed_transform_answers_a_firehose_event(aws_client, deployed_stack):
    change = {
        "eventID": "e-1",
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "us-east-1",
        "dynamodb": {
            "ApproximateCreationDateTime": 1714557600,
            "Keys": {"orderid": {"S": "o-1"}},
            "NewImage": {"orderid": {"S": "o-1"}, "total": {"N": "12.50"}},
            "SequenceNumber": "100",
            "SizeBytes": 40,
            "StreamViewType": "NEW_AND_OLD_IMAGES",
        },
        "eventSourceARN": deployed_stack["OrdersTableStreamArn"],
    }
    event = {
        "invocationId": str(uuid.uuid4()),
        "deliveryStreamArn": deployed_stack["DeliveryStreamArn"],
        "sourceKinesisStreamArn": deployed_stack["KinesisStreamArn"],
        "region": "us-east-1",
        "records": [
            {
                "recordId": "r-1",
                "approximateArrivalTimestamp": 1714557600000,
                "data": base64.b64encode(json.dumps(change).encode()).decode(),
                "kinesisRecordMetadata": {
                    "shardId": "shardId-000000000000",
                    "partitionKey": "o-1",
                    "sequenceNumber": "1",
                    "approximateArrivalTimestamp": 1714557600000,
                    "subsequenceNumber": 0,
                },
            }
        ],
    }
    response, payload = invoke(aws_client, deployed_stack["TransformFunctionName"], event)
    assert "FunctionError" not in response
    (record,) = payload["records"]
    assert (record["recordId"], record["result"]) == ("r-1", "Ok")
    assert "dt" in record["metadata"]["partitionKeys"]
