"""Asset checks always answer: an unexpected error in a check's own work becomes a failed check
with a one-line reason, never a traceback in the run."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import dagster as dg
from botocore.exceptions import BotoCoreError, ClientError
from pyathena.error import Error as AthenaError

from orders_pipeline.aws import describe_aws_error


@dataclass
class Outcome:
    """Set to a failed result when the block raised; None when it ran through."""

    result: dg.AssetCheckResult | None = None


def reason(error: BaseException) -> str:
    if isinstance(error, BotoCoreError | ClientError):
        return describe_aws_error(error)
    if isinstance(error, AthenaError):
        return "Athena query failed: " + " ".join(str(error).split())
    return f"{type(error).__name__}: {' '.join(str(error).split())}"


@contextmanager
def checked(check_name: str, asset: str) -> Iterator[Outcome]:
    """Run a check's work; an exception leaves `outcome.result` a failed check naming why."""
    outcome = Outcome()
    try:
        yield outcome
    except Exception as error:  # every check returns a result, whatever went wrong
        outcome.result = dg.AssetCheckResult(
            asset_key=asset,
            check_name=check_name,
            passed=False,
            description=f"the check could not run: {reason(error)}",
            metadata={"error": dg.MetadataValue.text(reason(error))},
        )
