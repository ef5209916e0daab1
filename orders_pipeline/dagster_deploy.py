"""Deploy Dagster itself (infra/dagster.yaml) next to a deployed pipeline stack, through the one
deploy path of deploy.py, and say how to open its UI (SSM port forwarding to the webserver)."""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3

from orders_pipeline.deploy import (
    DEFAULT_POLL_SECONDS,
    DEFAULT_STACK_NAME,
    DEFAULT_TIMEOUT_SECONDS,
    DeployError,
    Progress,
    deploy_template,
    read_template,
    stack_outputs,
)

DEFAULT_DAGSTER_STACK_NAME = "orders-pipeline-dagster"
DAGSTER_TEMPLATE_PATH = Path(__file__).resolve().parent.parent / "infra" / "dagster.yaml"
WEBSERVER_CONTAINER = "webserver"
WEBSERVER_PORT = 3000

# The pipeline stack's Outputs that infra/dagster.yaml takes as parameters of the same name:
# what its task roles may touch and where compute logs go.
PIPELINE_OUTPUT_PARAMETERS = (
    "DataBucketName",
    "RawDataPrefix",
    "ErrorDataPrefix",
    "AnalyticsPrefix",
    "OrdersTableName",
    "KinesisStreamName",
    "DeliveryStreamName",
    "GlueDatabaseName",
    "GlueCrawlerName",
    "AthenaWorkGroupName",
)
# <account>.dkr.ecr.<region>.amazonaws.com/<repository>[:tag|@digest]
_ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com(?:\.cn)?/"
    r"(?P<repository>[a-z0-9][a-z0-9._/-]*?)(?::[\w.-]+|@sha256:[0-9a-f]{64})?$"
)


@dataclass(frozen=True)
class UiAccess:
    """How to reach the webserver: the SSM command when its task runs, else how to find it."""

    cluster: str
    task_id: str | None
    command: str

    @property
    def url(self) -> str:
        return f"http://localhost:{WEBSERVER_PORT}"


def image_repository(image_uri: str) -> str:
    """The ECR repository name of an image URI in ECR; DeployError for any other registry."""
    match = _ECR_IMAGE.match(image_uri)
    if match is None:
        raise DeployError(
            f"image {image_uri!r} is not in ECR (<account>.dkr.ecr.<region>.amazonaws.com/"
            "<repository>:<tag>); the task execution role may only pull from this account's ECR"
        )
    return match.group("repository")


def dagster_parameters(
    pipeline_outputs: dict[str, str],
    *,
    image_uri: str,
    vpc_id: str,
    subnet_ids: list[str],
    pipeline_stack_name: str,
) -> dict[str, str]:
    """The template parameters that tie Dagster to the pipeline stack, the image and the VPC."""
    missing = [key for key in PIPELINE_OUTPUT_PARAMETERS if key not in pipeline_outputs]
    if missing:
        raise DeployError(
            f"pipeline stack {pipeline_stack_name!r} lacks the Outputs {missing}; "
            "run `orders-pipeline deploy` first"
        )
    if len(subnet_ids) < 2:
        raise DeployError("subnets: the database needs private subnets in at least two AZs")
    return {
        **{key: pipeline_outputs[key] for key in PIPELINE_OUTPUT_PARAMETERS},
        "PipelineStackName": pipeline_stack_name,
        "ImageUri": image_uri,
        "ImageRepositoryName": image_repository(image_uri),
        "VpcId": vpc_id,
        "PrivateSubnetIds": ",".join(subnet_ids),
    }


def deploy_dagster_stack(
    *,
    image_uri: str,
    vpc_id: str,
    subnet_ids: list[str],
    stack_name: str = DEFAULT_DAGSTER_STACK_NAME,
    pipeline_stack_name: str = DEFAULT_STACK_NAME,
    parameters: dict[str, str] | None = None,
    template_path: str | Path | None = None,
    cloudformation: Any = None,
    progress: Progress | None = None,
    timeout: float = DEFAULT_TIMEOUT_SECONDS,
    poll_interval: float = DEFAULT_POLL_SECONDS,
) -> dict[str, str]:
    """Create or update the Dagster stack for the pipeline stack `pipeline_stack_name`.

    The pipeline's names come from that stack's Outputs; `parameters` overrides any template
    parameter (sizes, database class, ...). Returns the Dagster stack's Outputs.
    """
    cloudformation = cloudformation or boto3.client("cloudformation")
    template_body = read_template(template_path, default=DAGSTER_TEMPLATE_PATH)
    pipeline = stack_outputs(pipeline_stack_name, client=cloudformation)
    merged = {
        **dagster_parameters(
            pipeline,
            image_uri=image_uri,
            vpc_id=vpc_id,
            subnet_ids=subnet_ids,
            pipeline_stack_name=pipeline_stack_name,
        ),
        **(parameters or {}),
    }
    return deploy_template(
        template_body,
        stack_name=stack_name,
        parameters=merged,
        cloudformation=cloudformation,
        progress=progress,
        timeout=timeout,
        poll_interval=poll_interval,
    )


def ui_access(outputs: dict[str, str], *, ecs: Any = None, region: str | None = None) -> UiAccess:
    """The `aws ssm start-session` port forward to the running webserver task.

    ECS Exec names a container as ecs:<cluster>_<task id>_<container runtime id>. Before the
    task runs (or where ECS runs no tasks, as on the local stack) the command to find it is
    returned instead.
    """
    ecs = ecs or boto3.client("ecs")
    cluster = outputs["ClusterName"]
    service = outputs["WebserverServiceName"]
    region_flag = f" --region {shlex.quote(region)}" if region else ""
    arns = ecs.list_tasks(cluster=cluster, serviceName=service, desiredStatus="RUNNING")["taskArns"]
    for task in ecs.describe_tasks(cluster=cluster, tasks=arns)["tasks"] if arns else []:
        task_id = task["taskArn"].rsplit("/", 1)[1]
        runtime_ids = [
            container["runtimeId"]
            for container in task.get("containers", [])
            if container.get("name") == WEBSERVER_CONTAINER and container.get("runtimeId")
        ]
        if runtime_ids:
            target = f"ecs:{cluster}_{task_id}_{runtime_ids[0]}"
            command = (
                f"aws ssm start-session{region_flag} --target {shlex.quote(target)} "
                "--document-name AWS-StartPortForwardingSession "
                f"--parameters portNumber={WEBSERVER_PORT},localPortNumber={WEBSERVER_PORT}"
            )
            return UiAccess(cluster=cluster, task_id=task_id, command=command)
    command = (
        f"aws ecs list-tasks{region_flag} --cluster {shlex.quote(cluster)} "
        f"--service-name {shlex.quote(service)}   # no webserver task runs yet; once one does, "
        "`orders-pipeline deploy-dagster --ui-only` prints the port-forward command"
    )
    return UiAccess(cluster=cluster, task_id=None, command=command)
