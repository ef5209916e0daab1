"""Lambda Invoke runs the deployed zip (moto's `LambdaFunction.code_bytes`), no Docker needed."""

# Replaces `LambdaFunction.invoke` (the path of the Invoke API and of moto's own event sources) and
# `LambdaFunction._invoke_lambda` (moto's Docker runner) with the warm-process runtime.

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import parse_qs

from moto.awslambda.models import LambdaFunction
from moto.awslambda.responses import LambdaResponse
from moto.core.responses import BaseResponse
from moto.logs.models import LogsBackend

from orders_pipeline.local_stack.awslambda import runtime as lambda_runtime
from orders_pipeline.local_stack.patching import (
    calls,
    replaces,
    requires,
    requires_attributes,
    requires_source,
    wraps,
)
from orders_pipeline.local_stack.persistence import store

# Event (asynchronous) invocations run here; AWS queues them the same way.
_event_invocations = ThreadPoolExecutor(max_workers=4, thread_name_prefix="lambda-event")


requires(LambdaFunction, "save_logs", declared_in=__name__)
requires(LogsBackend, "ensure_log_group", declared_in=__name__)

calls(LogsBackend, "ensure_log_group", "self", "log_group_name", declared_in=__name__)
calls(LambdaFunction, "save_logs", "self", "output", declared_in=__name__)
# invoke_response() answers the one parameter moto's Invoke asks for before it can look in the
# body; and moto's response keeps the URL as it parsed it.
requires_source(LambdaResponse, "invoke", r'self\._get_param\("qualifier"\)', declared_in=__name__)
requires_source(BaseResponse, "setup_class", r"self\.parsed_url = ", declared_in=__name__)
requires_attributes(
    LambdaFunction,
    "code_bytes", "code_sha_256", "handler", "timeout", "environment_vars", "memory_size",
    "function_arn", "version", "logs_backend", "logs_group_name",
    declared_in=__name__,
)  # fmt: skip


def function_spec(function: LambdaFunction) -> lambda_runtime.FunctionSpec:
    """The runtime's view of a moto function version (what a warm process is keyed on)."""
    environment = function.environment_vars or {}
    return lambda_runtime.FunctionSpec(
        function_name=function.function_name,
        function_arn=function.function_arn,
        version=str(function.version),
        handler=function.handler,
        timeout=float(function.timeout),
        memory_size=int(function.memory_size),
        environment=tuple(sorted((str(k), str(v)) for k, v in environment.items())),
        code_sha256=function.code_sha_256,
    )


def _run(function: LambdaFunction, event: bytes) -> lambda_runtime.InvocationResult:
    result = lambda_runtime.invoke(function_spec(function), function.code_bytes, event)
    # Also what `aws logs tail /aws/lambda/<name>` shows, as on AWS. The gateway runs Invoke
    # outside the state lock (it lasts as long as the function): the log change takes it here.
    with store.current().lock.shared():
        function.logs_backend.ensure_log_group(function.logs_group_name)
        function.save_logs(result.log)
    return result


@wraps(LambdaResponse, "invoke")
def invoke_response(original: Any, self: LambdaResponse) -> Any:
    """Invoke with its Qualifier taken from the URL, where the API sends it (`?Qualifier=`).

    moto looks for a lowercase `qualifier` in the query, then parses the whole body as JSON to
    look there: the function's event, up to 6 MB (88 ms for a 6 MB Firehose batch), and a
    version or alias asked for in the URL was never run.
    """
    query = parse_qs(self.parsed_url.query, keep_blank_values=True)
    self.querystring["qualifier"] = query.get("Qualifier", [None])
    return original(self)


@replaces(LambdaFunction, "invoke")
def invoke(
    self: LambdaFunction, body: str | bytes | None, request_headers: Any, response_headers: Any
) -> bytes:
    event = body.encode() if isinstance(body, str) else (body or b"")
    invocation_type = request_headers.get("X-Amz-Invocation-Type", "RequestResponse")
    if invocation_type == "DryRun":
        return b""
    if invocation_type == "Event":
        _event_invocations.submit(_run, self, event)
        return b""
    result = _run(self, event)
    if result.function_error:
        response_headers["x-amz-function-error"] = result.function_error
    # moto's response layer drops this header unless the caller asked for LogType=Tail.
    response_headers["x-amz-log-result"] = result.log_tail
    response_headers["x-amz-executed-version"] = str(self.version)
    return result.payload


@replaces(LambdaFunction, "_invoke_lambda")
def invoke_lambda(self: LambdaFunction, event: Any = None) -> tuple[str, bool, str]:
    raw = event if isinstance(event, bytes | str) else json.dumps(event or {})
    result = _run(self, raw.encode() if isinstance(raw, str) else raw)
    return result.payload.decode(), result.function_error is not None, result.log
