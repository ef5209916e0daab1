"""What every part of the pipeline that calls AWS shares: the fail-fast botocore configuration
and one readable line for any botocore error. Below the CLI and the Dagster definitions alike."""

from __future__ import annotations

import os

from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionError, NoCredentialsError, NoRegionError

# Where a person without AWS settings goes instead: the same commands run against the local stack.
LOCAL_HINT = "for the local stack, use --local (demo) or `make run` / `orders-pipeline local up`"


def client_config(**overrides: object) -> Config:
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
            f"AWS_SECRET_ACCESS_KEY; {LOCAL_HINT}"
        )
    if isinstance(error, NoRegionError):
        return f"no AWS region configured: pass --region or set AWS_DEFAULT_REGION; {LOCAL_HINT}"
    return " ".join(str(error).split())
