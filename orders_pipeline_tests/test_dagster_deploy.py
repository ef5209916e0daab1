"""deploy-dagster's own logic: the image's repository, the parameters from the pipeline's
Outputs, the SSM command for a running webserver, and --build's docker steps."""

from __future__ import annotations

import base64
import subprocess

import pytest
from click.testing import CliRunner

from orders_pipeline.commands.deploy_dagster import deploy_dagster
from orders_pipeline.dagster_deploy import (
    PIPELINE_OUTPUT_PARAMETERS,
    dagster_parameters,
    image_repository,
    ui_access,
)
from orders_pipeline.dagster_image import build_and_push
from orders_pipeline.deploy import DeployError

IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/orders-pipeline-dagster:20260101"
PIPELINE = {key: f"value-of-{key}" for key in PIPELINE_OUTPUT_PARAMETERS}


@pytest.mark.parametrize(
    ("uri", "repository"),
    [
        (IMAGE, "orders-pipeline-dagster"),
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com/team/dagster:v1", "team/dagster"),
        ("123456789012.dkr.ecr.us-east-1.amazonaws.com/dagster@sha256:" + "a" * 64, "dagster"),
    ],
)
def test_the_repository_is_read_from_an_ecr_image_uri(uri, repository) -> None:
    assert image_repository(uri) == repository


def test_an_image_outside_ecr_is_refused_with_the_reason() -> None:
    with pytest.raises(DeployError, match="not in ECR"):
        image_repository("docker.io/library/python:3.11")


def test_parameters_carry_the_pipeline_outputs_image_and_network() -> None:
    parameters = dagster_parameters(
        PIPELINE,
        image_uri=IMAGE,
        vpc_id="vpc-1",
        subnet_ids=["subnet-a", "subnet-b"],
        pipeline_stack_name="orders-pipeline",
    )
    assert parameters == {
        **PIPELINE,
        "PipelineStackName": "orders-pipeline",
        "ImageUri": IMAGE,
        "ImageRepositoryName": "orders-pipeline-dagster",
        "VpcId": "vpc-1",
        "PrivateSubnetIds": "subnet-a,subnet-b",
    }


def test_a_pipeline_stack_without_the_outputs_is_named_in_the_error() -> None:
    with pytest.raises(
        DeployError, match=r"pipeline stack 'p' lacks the Outputs \['DataBucketName"
    ):
        dagster_parameters(
            {}, image_uri=IMAGE, vpc_id="v", subnet_ids=["a", "b"], pipeline_stack_name="p"
        )


def test_one_subnet_is_refused() -> None:
    with pytest.raises(DeployError, match="at least two AZs"):
        dagster_parameters(
            PIPELINE, image_uri=IMAGE, vpc_id="v", subnet_ids=["a"], pipeline_stack_name="p"
        )


class RunningWebserver:
    """ECS answering for one running webserver task."""

    def list_tasks(self, **request):
        assert request == {"cluster": "c", "serviceName": "webserver", "desiredStatus": "RUNNING"}
        return {"taskArns": ["arn:aws:ecs:eu-west-1:1:task/c/0123abcd"]}

    def describe_tasks(self, cluster, tasks):
        containers = [{"name": "webserver", "runtimeId": "0123abcd-4567"}]
        return {"tasks": [{"taskArn": tasks[0], "containers": containers}]}


def test_a_running_webserver_gets_the_ssm_port_forward_command() -> None:
    outputs = {"ClusterName": "c", "WebserverServiceName": "webserver"}
    access = ui_access(outputs, ecs=RunningWebserver(), region="eu-west-1")
    assert access.task_id == "0123abcd"
    assert access.command == (
        "aws ssm start-session --region eu-west-1 --target ecs:c_0123abcd_0123abcd-4567 "
        "--document-name AWS-StartPortForwardingSession "
        "--parameters portNumber=3000,localPortNumber=3000"
    )
    assert access.url == "http://localhost:3000"


class FakeEcr:
    def describe_repositories(self, repositoryNames):
        return {
            "repositories": [{"repositoryUri": f"1.dkr.ecr.r.amazonaws.com/{repositoryNames[0]}"}]
        }

    def get_authorization_token(self):
        token = base64.b64encode(b"AWS:secret-password").decode()
        return {
            "authorizationData": [{"authorizationToken": token, "proxyEndpoint": "https://reg"}]
        }


def test_build_builds_logs_in_and_pushes_the_tagged_image() -> None:
    calls = []

    def run(command, **kwargs):
        calls.append((command, kwargs.get("input")))
        return subprocess.CompletedProcess(command, 0)

    image = build_and_push(ecr=FakeEcr(), tag="t1", repository="repo", run=run)

    assert image == "1.dkr.ecr.r.amazonaws.com/repo:t1"
    steps = [command[:2] for command, _ in calls]
    assert steps == [
        ["docker", "info"],
        ["docker", "build"],
        ["docker", "login"],
        ["docker", "push"],
    ]
    login = calls[2]
    assert login == (
        ["docker", "login", "--username", "AWS", "--password-stdin", "reg"],
        "secret-password",
    )
    assert calls[1][0][-3:] == ["-t", image, calls[1][0][-1]]


def test_build_without_a_docker_engine_says_to_pass_an_image() -> None:
    def no_engine(command, **kwargs):
        return subprocess.CompletedProcess(command, 1)

    with pytest.raises(DeployError, match="no Docker engine here.*pass --image"):
        build_and_push(ecr=FakeEcr(), tag="t", run=no_engine)


@pytest.mark.parametrize(
    "arguments",
    [
        ["--vpc-id", "v", "--subnet-id", "a", "--subnet-id", "b"],
        ["--image", IMAGE, "--build", "--vpc-id", "v", "--subnet-id", "a", "--subnet-id", "b"],
        ["--image", IMAGE, "--subnet-id", "a", "--subnet-id", "b"],
    ],
    ids=["no-image", "image-and-build", "no-vpc"],
)
def test_cli_refuses_an_incomplete_request_with_usage(arguments) -> None:
    result = CliRunner().invoke(deploy_dagster, arguments)
    assert result.exit_code == 2, result.output
