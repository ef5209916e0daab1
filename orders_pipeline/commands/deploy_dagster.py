"""`orders-pipeline deploy-dagster`: Dagster on ECS (infra/dagster.yaml) next to the pipeline."""

from __future__ import annotations

import json
import time

import boto3
import click

from orders_pipeline.aws import client_config as aws_client_config
from orders_pipeline.commands.deploy import _parse_parameters, format_outputs_table
from orders_pipeline.commands.errors import reports_aws_errors
from orders_pipeline.dagster_deploy import (
    DEFAULT_DAGSTER_STACK_NAME,
    deploy_dagster_stack,
    ui_access,
)
from orders_pipeline.dagster_image import DEFAULT_REPOSITORY, build_and_push
from orders_pipeline.deploy import DEFAULT_STACK_NAME, DeployError, stack_outputs


@click.command("deploy-dagster")
@click.option(
    "--image",
    "image_uri",
    metavar="URI",
    help="ECR image built from infra/Dockerfile (<account>.dkr.ecr.<region>.amazonaws.com/"
    "<repo>:<tag>). A new tag upgrades every service.",
)
@click.option(
    "--build",
    is_flag=True,
    help="Build infra/Dockerfile with the local Docker engine and push it to ECR instead.",
)
@click.option("--repository", default=DEFAULT_REPOSITORY, show_default=True, help="With --build.")
@click.option("--tag", help="With --build  [default: the UTC time, YYYYMMDDHHMMSS]")
@click.option("--vpc-id", help="Existing VPC for the tasks and the database.")
@click.option(
    "--subnet-id",
    "subnet_ids",
    multiple=True,
    help="A private subnet (repeat; at least two, in different AZs).",
)
@click.option("--stack-name", default=DEFAULT_DAGSTER_STACK_NAME, show_default=True)
@click.option(
    "--pipeline-stack-name",
    default=DEFAULT_STACK_NAME,
    show_default=True,
    help="The stack of `orders-pipeline deploy`, whose Outputs name what Dagster may touch.",
)
@click.option(
    "-p",
    "--parameter",
    "parameters",
    multiple=True,
    callback=_parse_parameters,
    metavar="KEY=VALUE",
    help="Any other parameter of infra/dagster.yaml (repeatable), e.g. -p RunMemory=4096.",
)
@click.option(
    "--ui-only",
    is_flag=True,
    help="Deploy nothing: print how to open the UI of the deployed stack.",
)
@click.option(
    "--output",
    "output_format",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
)
@reports_aws_errors
def deploy_dagster(
    image_uri: str | None,
    build: bool,
    repository: str,
    tag: str | None,
    vpc_id: str | None,
    subnet_ids: tuple[str, ...],
    stack_name: str,
    pipeline_stack_name: str,
    parameters: dict[str, str],
    ui_only: bool,
    output_format: str,
) -> None:
    """Deploy Dagster to ECS Fargate with RDS PostgreSQL (infra/dagster.yaml) and print how
    to open its UI.

    Creates or updates the stack (waiting, events on stderr) from the pipeline stack's
    Outputs, the image and the VPC, then prints the Outputs and the `aws ssm start-session`
    port forward to the webserver (it has no public listener). The image is --image (built
    elsewhere: `docker build -f infra/Dockerfile .`) or --build (this machine's Docker
    engine, pushed to ECR). Re-running with nothing changed is a no-op. See infra/DAGSTER.md.
    """
    if not ui_only and bool(image_uri) == build:
        raise click.UsageError("pass exactly one of --image URI and --build")
    if not ui_only and (not vpc_id or len(subnet_ids) < 2):
        raise click.UsageError("pass --vpc-id and at least two --subnet-id")
    config = aws_client_config(read_timeout=60)
    cloudformation = boto3.client("cloudformation", config=config)
    say = lambda line: click.echo(line, err=True)  # noqa: E731 - progress goes to stderr
    try:
        if ui_only:
            outputs = stack_outputs(stack_name, client=cloudformation)
        else:
            if build:
                image_uri = build_and_push(
                    ecr=boto3.client("ecr", config=config),
                    repository=repository,
                    tag=tag or time.strftime("%Y%m%d%H%M%S", time.gmtime()),
                    progress=say,
                )
            outputs = deploy_dagster_stack(
                image_uri=str(image_uri),
                vpc_id=str(vpc_id),
                subnet_ids=list(subnet_ids),
                stack_name=stack_name,
                pipeline_stack_name=pipeline_stack_name,
                parameters=parameters,
                cloudformation=cloudformation,
                progress=say,
            )
        access = ui_access(
            outputs, ecs=boto3.client("ecs", config=config), region=cloudformation.meta.region_name
        )
    except DeployError as error:
        raise click.ClickException(str(error)) from error
    if output_format == "json":
        click.echo(json.dumps(outputs, indent=2, sort_keys=True))
        return
    if not ui_only:
        click.echo(format_outputs_table(outputs))
        click.echo()
    if access.task_id:
        click.echo(f"Open the UI: run this, then browse {access.url}")
    else:
        click.echo("The UI: find the webserver task, then forward its port 3000 with SSM")
    click.echo(f"  {access.command}")
