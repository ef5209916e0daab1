"""Every touch of moto's internals, one module per service; `install()` applies them all."""

# moto is pinned exactly (pyproject); orders_pipeline_tests/test_moto_hooks.py fails loudly when an
# upgrade moves an internal these modules rely on.

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from moto.cloudformation import parsing as cloudformation_parsing
from moto.moto_api._internal import urls as moto_api_urls

from orders_pipeline.local_stack.moto_hooks import (
    athena,
    awslambda,
    cloudformation,
    dispatch,
    dynamodbstreams,
    glue,
    kinesis,
    responses,
    s3_policy,
)

STATUS_PATH = "/moto-api/orders-pipeline/status"

_install_lock = threading.Lock()
_installed = False
# One provider per server port: a process may run several stacks (tests do).
_status_providers: dict[int, Callable[[], dict[str, Any]]] = {}


def install() -> None:
    """Apply every hook once per process (later calls are no-ops)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        dispatch.install()
        responses.install()
        cloudformation.install()
        awslambda.install()
        dynamodbstreams.install()
        kinesis.install()
        s3_policy.install()
        glue.install()
        athena.install()
        # moto caches its CloudFormation type map on first use: rebuild it with our models.
        cloudformation_parsing.get_model_list.cache_clear()
        cloudformation_parsing.get_model_map.cache_clear()
        cloudformation_parsing.get_name_type_map.cache_clear()
        # moto builds its /moto-api app lazily from this table, so the route is served once added.
        moto_api_urls.url_paths["{0}" + STATUS_PATH] = _status_response
        _installed = True


def set_status_provider(port: int, provider: Callable[[], dict[str, Any]] | None) -> None:
    """Which callable answers GET STATUS_PATH on the server listening on `port` (None: none)."""
    if provider is None:
        _status_providers.pop(port, None)
    else:
        _status_providers[port] = provider


def _status_response(request: Any, full_url: str, headers: Any) -> tuple[int, dict, str]:
    provider = _status_providers.get(int(request.environ["SERVER_PORT"]))
    if provider is None:
        body = {"error": "no local stack status provider is registered in this server"}
        return 503, {"Content-Type": "application/json"}, json.dumps(body)
    return 200, {"Content-Type": "application/json"}, json.dumps(provider(), default=str)
