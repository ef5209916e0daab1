"""`orders-pipeline deploy`: create or update the pipeline stack and print its Outputs."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import click

from orders_pipeline.aws import client_config as aws_client_config
from orders_pipeline.commands.errors import reports_aws_errors
from orders_pipeline.deploy import DEFAULT_STACK_NAME, DeployError, deploy_stack


def _parse_parameters(
    _ctx: click.Context, _param: click.Parameter, values: tuple[str, ...]
) -> dict[str, str]:
    parameters: dict[str, str] = {}
    for value in values:
        key, sep, setting = value.partition("=")
        if not sep or not key:
            raise click.BadParameter(f"expected KEY=VALUE, got {value!r}")
        parameters[key] = setting
    return parameters


def format_outputs_table(outputs: dict[str, str]) -> str:
    """Outputs as two aligned columns, sorted by key."""
    width = max((len(key) for key in outputs), default=0)
    return "\n".join(f"{key:<{width}}  {outputs[key]}" for key in sorted(outputs))


@click.command()
@click.option("--stack-name", default=DEFAULT_STACK_NAME, show_default=True)
@click.option(
    "-p",
    "--parameter",
    "parameters",
    multiple=True,
    callback=_parse_parameters,
    metavar="KEY=VALUE",
    help="A template parameter (repeatable); others keep the template defaults.",
)
@click.option(
    "--template",
    "template_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="CloudFormation template  [default: infra/template.yaml]",
)
@click.option(
    "--artifacts-bucket",
    default=None,
    help="Bucket for the Lambda zip  [default: orders-pipeline-artifacts-<account>-<region>]",
)
@click.option(
    "--output",
    "output_format",
    type=click.Choice(["table", "json"]),
    default="table",
    show_default=True,
)
@reports_aws_errors
def deploy(
    stack_name: str,
    parameters: dict[str, str],
    template_path: Path | None,
    artifacts_bucket: str | None,
    output_format: str,
) -> None:
    """Build the transform Lambda, upload it, create or update the stack, print its Outputs.

    The same command deploys to AWS and to the local stack (AWS_ENDPOINT_URL). Progress goes
    to stderr, so `--output json` can be piped.
    """
    config = aws_client_config(read_timeout=60)
    try:
        outputs = deploy_stack(
            stack_name=stack_name,
            parameters=parameters,
            template_path=template_path,
            artifacts_bucket=artifacts_bucket,
            cloudformation=boto3.client("cloudformation", config=config),
            s3=boto3.client("s3", config=config),
            sts=boto3.client("sts", config=config),
            progress=lambda line: click.echo(line, err=True),
        )
    except DeployError as error:
        raise click.ClickException(str(error)) from error
    if output_format == "json":
        click.echo(json.dumps(outputs, indent=2, sort_keys=True))
    else:
        click.echo(format_outputs_table(outputs))
