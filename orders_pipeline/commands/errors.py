"""AWS failures as one-line CLI errors (`click.ClickException`)."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

import click
from botocore.exceptions import BotoCoreError, ClientError

from orders_pipeline.aws import describe_aws_error

P = ParamSpec("P")
R = TypeVar("R")


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
