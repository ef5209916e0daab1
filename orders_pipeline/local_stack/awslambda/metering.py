"""What Lambda bills: a request per invocation and its duration in GB-seconds (the function's
memory, its billed duration rounded up to the millisecond). The duration is the Invoke's time
in the gateway: the emulator's own overhead is billed too, so a local figure errs high."""

from __future__ import annotations

import math
import urllib.parse
from collections.abc import Mapping
from typing import Any

from moto.awslambda.models import LambdaBackend, LambdaFunction, lambda_backends
from moto.core import DEFAULT_ACCOUNT_ID

from orders_pipeline.local_stack.metering.rules import MeteringRules
from orders_pipeline.local_stack.patching import calls, requires, requires_attributes

REQUESTS = "lambda.requests"
GB_SECONDS = "lambda.gb_seconds"

requires(LambdaBackend, "get_function", declared_in=__name__)
calls(LambdaBackend, "get_function", "self", "function_name_or_arn", declared_in=__name__)
requires_attributes(LambdaFunction, "memory_size", declared_in=__name__)


def function_name(path: str) -> str:
    """`/2015-03-31/functions/<name>/invocations` -> name (an ARN or a name, URL-decoded)."""
    parts = path.split("/")
    return urllib.parse.unquote(parts[parts.index("functions") + 1]) if "functions" in parts else ""


def memory_mb(region: str, name: str) -> int:
    try:
        return int(lambda_backends[DEFAULT_ACCOUNT_ID][region].get_function(name).memory_size)
    except Exception:  # noqa: BLE001 - the invocation failed on it already
        return 128


class LambdaMetering(MeteringRules):
    def meter(self, record: Any, context: Any) -> Mapping[str, float]:
        if record.action != "Invoke" or record.status >= 500 or record.status == 404:
            return {}
        billed_seconds = math.ceil(record.seconds * 1000) / 1000
        memory = memory_mb(record.region, function_name(record.path))
        return {REQUESTS: 1, GB_SECONDS: billed_seconds * memory / 1024}


rules = LambdaMetering()
