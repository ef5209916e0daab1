"""One deploy path: create or update a CloudFormation stack from a template, wait, return its
Outputs (deploy_template); the pipeline's stack first uploads the transform zip (deploy_stack).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from orders_pipeline.lambda_package import build_lambda_zip, lambda_zip_key

DEFAULT_STACK_NAME = "orders-pipeline"
DEFAULT_TEMPLATE_PATH = Path(__file__).resolve().parent.parent / "infra" / "template.yaml"
# The template names no IAM role, so CAPABILITY_IAM (not NAMED_IAM) is all it needs.
CAPABILITIES = ["CAPABILITY_IAM"]

# Real stacks with Firehose, Pipes and Glue take minutes; the local stack takes about a second.
DEFAULT_TIMEOUT_SECONDS = 1800.0
DEFAULT_POLL_SECONDS = 5.0

_SUCCEEDED = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "DELETE_COMPLETE", "IMPORT_COMPLETE"}
_NO_UPDATES = "No updates are to be performed"
# Emulators may answer a failing resource with the resource service's own (unparsable) body.
_API_ERRORS = (ClientError, BotoCoreError, ResponseParserError)

Progress = Callable[[str], None]


class DeployError(RuntimeError):
    """A deploy or delete did not reach its goal; the message names the stack and the cause."""


def _quiet(_: str) -> None:
    """The default progress sink: say nothing."""


def artifacts_bucket_name(sts: Any, region: str) -> str:
    """`orders-pipeline-artifacts-<account>-<region>`, unique per account and region."""
    account = sts.get_caller_identity()["Account"]
    return f"orders-pipeline-artifacts-{account}-{region}"


def ensure_artifacts_bucket(s3: Any, bucket: str) -> None:
    """Create the artifacts bucket if missing; (re)apply encryption and the public access block."""
    try:
        s3.head_bucket(Bucket=bucket)
    except ClientError as error:
        code = error.response["Error"]["Code"]
        if code in ("403", "Forbidden", "AccessDenied"):
            raise DeployError(
                f"artifacts bucket {bucket!r} exists but belongs to another account; "
                "pass another artifacts bucket"
            ) from error
        if code not in ("404", "NoSuchBucket", "NotFound"):
            raise
        region = s3.meta.region_name
        # us-east-1 is the one region that rejects an explicit LocationConstraint.
        location = (
            {}
            if region == "us-east-1"
            else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        )
        s3.create_bucket(Bucket=bucket, **location)
    # Applied on every run so a bucket left half-configured by an interrupted run is repaired.
    s3.put_public_access_block(
        Bucket=bucket,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )


def upload_lambda_zip(s3: Any, bucket: str, zip_bytes: bytes) -> str:
    """Upload the zip under its content-addressed key unless it is already there; the key."""
    key = lambda_zip_key(zip_bytes)
    try:
        s3.head_object(Bucket=bucket, Key=key)
    except ClientError as error:
        if error.response["Error"]["Code"] not in ("404", "NoSuchKey", "NotFound"):
            raise
        s3.put_object(Bucket=bucket, Key=key, Body=zip_bytes)
    return key


def deploy_stack(
    *,
    stack_name: str = DEFAULT_STACK_NAME,
    parameters: dict[str, str] | None = None,
    template_path: str | Path | None = None,
    artifacts_bucket: str | None = None,
    cloudformation: Any = None,
    s3: Any = None,
    sts: Any = None,
    progress: Progress | None = None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    poll_interval: float = DEFAULT_POLL_SECONDS,
) -> dict[str, str]:
    """Create or update `stack_name` from the template and return its Outputs.

    The transform zip goes to `artifacts_bucket` (default `orders-pipeline-artifacts-<account>-
    <region>`, created if missing) and its bucket/key become the LambdaCodeS3Bucket/Key
    parameters. Every other parameter not in `parameters` takes the template default, so a
    deploy describes the whole desired state. Re-running with nothing changed is a no-op.
    Clients default to boto3's (which honour AWS_ENDPOINT_URL, so the local stack works the same).
    """
    say = progress or _quiet
    s3 = s3 or boto3.client("s3")
    template_body = read_template(template_path)
    bucket = artifacts_bucket or artifacts_bucket_name(
        sts or boto3.client("sts"), s3.meta.region_name
    )
    ensure_artifacts_bucket(s3, bucket)
    code_key = upload_lambda_zip(s3, bucket, build_lambda_zip())
    say(f"lambda code: s3://{bucket}/{code_key}")
    return deploy_template(
        template_body,
        stack_name=stack_name,
        parameters={
            **(parameters or {}),
            "LambdaCodeS3Bucket": bucket,
            "LambdaCodeS3Key": code_key,
        },
        cloudformation=cloudformation,
        progress=say,
        timeout=timeout,
        poll_interval=poll_interval,
    )


def deploy_template(
    template_body: str,
    *,
    stack_name: str,
    parameters: dict[str, str] | None = None,
    cloudformation: Any = None,
    progress: Progress | None = None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    poll_interval: float = DEFAULT_POLL_SECONDS,
) -> dict[str, str]:
    """Create or update `stack_name` from `template_body`, wait for it, return its Outputs.

    A stack mid-operation is waited for first; one whose creation rolled back is deleted and
    created again; "No updates are to be performed" is success. Parameters not given take
    the template defaults.
    """
    say = progress or _quiet
    cloudformation = cloudformation or boto3.client("cloudformation")
    request = {
        "StackName": stack_name,
        "TemplateBody": template_body,
        "Parameters": [
            {"ParameterKey": k, "ParameterValue": str(v)} for k, v in (parameters or {}).items()
        ],
        "Capabilities": CAPABILITIES,
    }
    wait = {"progress": say, "timeout": timeout, "poll_interval": poll_interval}

    stack = _describe(cloudformation, stack_name)
    if stack is not None and stack["StackStatus"].endswith("_IN_PROGRESS"):
        say(f"{stack_name}: waiting for {stack['StackStatus']} to finish")
        stack = _wait(cloudformation, stack["StackId"], before=None, raise_on_failure=False, **wait)
    if stack is not None and stack["StackStatus"] == "ROLLBACK_COMPLETE":
        # A stack whose creation rolled back cannot be updated, only deleted and created again.
        say(f"{stack_name}: deleting the rolled-back stack before creating it again")
        delete_stack(stack_name, cloudformation=cloudformation, **wait)
        stack = None

    if stack is None:
        say(f"{stack_name}: creating")
        stack_id = _call(cloudformation.create_stack, stack_name, **request)["StackId"]
        _wait(cloudformation, stack_id, before=set(), **wait)
    else:
        before = {event["EventId"] for event in _events(cloudformation, stack["StackId"])}
        try:
            _call(cloudformation.update_stack, stack_name, **request)
        except DeployError as error:
            if _NO_UPDATES not in str(error):
                raise
            say(f"{stack_name}: no changes")
        else:
            say(f"{stack_name}: updating")
            _wait(cloudformation, stack["StackId"], before=before, **wait)
    return stack_outputs(stack_name, client=cloudformation)


def stack_outputs(stack_name: str = DEFAULT_STACK_NAME, client: Any = None) -> dict[str, str]:
    """The stack's Outputs as {OutputKey: OutputValue}."""
    client = client or boto3.client("cloudformation")
    stack = _describe(client, stack_name)
    if stack is None:
        raise DeployError(f"stack {stack_name!r} does not exist; run `orders-pipeline deploy`")
    return {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}


def delete_stack(
    stack_name: str = DEFAULT_STACK_NAME,
    *,
    cloudformation: Any = None,
    progress: Progress | None = None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    poll_interval: float = DEFAULT_POLL_SECONDS,
) -> None:
    """Delete the stack and wait until it is gone; a stack that does not exist is a no-op.

    Like CloudFormation itself, this never empties the data bucket: a bucket still holding
    data fails the delete (with that reason) rather than losing the order history.
    """
    say = progress or _quiet
    cloudformation = cloudformation or boto3.client("cloudformation")
    stack = _describe(cloudformation, stack_name)
    if stack is None:
        say(f"{stack_name}: does not exist")
        return
    before = {event["EventId"] for event in _events(cloudformation, stack["StackId"])}
    say(f"{stack_name}: deleting")
    _call(cloudformation.delete_stack, stack_name, StackName=stack["StackId"])
    _wait(
        cloudformation,
        stack["StackId"],
        before=before,
        progress=say,
        timeout=timeout,
        poll_interval=poll_interval,
    )


def failure_reason(events: Iterable[dict[str, Any]]) -> str | None:
    """The root cause among a stack's events (newest first, as AWS lists them).

    When one resource fails, CloudFormation cancels its siblings ("Resource creation
    cancelled") and rolls back; the oldest *_FAILED event with a reason is the one to show.
    """
    failed = [
        event
        for event in events
        if event.get("ResourceStatus", "").endswith("_FAILED")
        and event.get("ResourceStatusReason")
        and event.get("ResourceType") != "AWS::CloudFormation::Stack"
    ]
    if not failed:
        return None
    root = failed[-1]
    return (
        f"{root['LogicalResourceId']} ({root['ResourceType']}) {root['ResourceStatus']}: "
        f"{root['ResourceStatusReason']}"
    )


def read_template(template_path: str | Path | None, default: Path = DEFAULT_TEMPLATE_PATH) -> str:
    """The template's text; DeployError naming the path when there is none."""
    path = Path(template_path) if template_path is not None else default
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DeployError(f"template_path: no CloudFormation template at {str(path)!r}") from None


def _describe(client: Any, stack_name: str) -> dict[str, Any] | None:
    """The stack, or None when it does not exist (AWS answers that with a ValidationError)."""
    try:
        stacks = client.describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as error:
        if "does not exist" in str(error):
            return None
        raise
    return stacks[0] if stacks else None


def _events(client: Any, stack_id: str) -> list[dict[str, Any]]:
    paginator = client.get_paginator("describe_stack_events")
    return [
        event for page in paginator.paginate(StackName=stack_id) for event in page["StackEvents"]
    ]


def _call(method: Callable[..., Any], stack_name: str, **request: Any) -> Any:
    try:
        return method(**request)
    except _API_ERRORS as error:
        raise DeployError(f"stack {stack_name!r}: {' '.join(str(error).split())}") from error


def _wait(
    client: Any,
    stack_id: str,
    *,
    before: set[str] | None,
    progress: Progress,
    timeout: float,
    poll_interval: float,
    raise_on_failure: bool = True,
) -> dict[str, Any]:
    """Poll until the stack leaves *_IN_PROGRESS, reporting each new event; the final stack.

    `before` holds the ids of events that predate this operation (None: report nothing).
    """
    deadline = time.monotonic() + timeout
    reported: list[dict[str, Any]] = []
    reported_ids: set[str] = set()
    while True:
        stack = client.describe_stacks(StackName=stack_id)["Stacks"][0]
        if before is not None:
            for event in reversed(_events(client, stack_id)):
                if event["EventId"] not in before and event["EventId"] not in reported_ids:
                    reported_ids.add(event["EventId"])
                    reported.insert(0, event)
                    progress(_format_event(event))
        status = stack["StackStatus"]
        if not status.endswith("_IN_PROGRESS"):
            break
        if time.monotonic() > deadline:
            raise DeployError(
                f"stack {stack['StackName']!r} still {status} after {timeout:.0f} s; "
                "see its events in the CloudFormation console"
            )
        time.sleep(poll_interval)
    if raise_on_failure and status not in _SUCCEEDED:
        reason = failure_reason(reported) or stack.get("StackStatusReason") or "no reason given"
        raise DeployError(f"stack {stack['StackName']!r} ended {status}: {reason}")
    return stack


def _format_event(event: dict[str, Any]) -> str:
    reason = event.get("ResourceStatusReason")
    line = f"{event['LogicalResourceId']} {event['ResourceType']} {event['ResourceStatus']}"
    return f"{line}: {reason}" if reason else line
