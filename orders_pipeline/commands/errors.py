"""Turn AWS failures into one-line CLI errors, and the fail-fast botocore config commands share."""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

import click
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionError,
    NoCredentialsError,
    NoRegionError,
)

P = ParamSpec("P")
R = TypeVar("R")


def aws_client_config(**overrides: object) -> Config:
    """Few retries and a short connect timeout: an unreachable endpoint fails in seconds."""
    settings: dict[str, object] = {
        "connect_timeout": 3,
        "read_timeout": 30,
        "retries": {"max_attempts": 2, "mode": "standard"},
    }
    settings.update(overrides)
    return Config(**settings)


def _endpoint_hint() -> str:
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    return f" (AWS_ENDPOINT_URL={endpoint})" if endpoint else ""


def describe_aws_error(error: Exception) -> str:
    """One line naming the problem, for any botocore error."""
    if isinstance(error, ClientError):
        info = error.response.get("Error", {})
        code = info.get("Code", "Unknown")
        message = " ".join(str(info.get("Message", "")).split())
        return f"AWS {error.operation_name} failed: {code}: {message}{_endpoint_hint()}"
    if isinstance(error, ConnectionError):
        return f"cannot reach AWS: {error}{_endpoint_hint()}"
    if isinstance(error, NoCredentialsError):
        return (
            "no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY"
        )
    if isinstance(error, NoRegionError):
        return "no AWS region configured: pass --region or set AWS_DEFAULT_REGION"
    return " ".join(str(error).split())


@contextmanager
def aws_errors() -> Iterator[None]:
    """Re-raise botocore errors inside the block as a one-line `click.ClickException`."""
    try:
        yield
    except (BotoCoreError, ClientError) as error:
        raise click.ClickException(describe_aws_error(error)) from error


def reports_aws_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Decorator form of `aws_errors` for a click command's callback."""

    @functools.wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with aws_errors():
            return command(*args, **kwargs)

    return wrapper
