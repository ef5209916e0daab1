"""Every emulated service's changes to moto, one folder each; `install()` applies them all."""

# moto is pinned exactly (pyproject): orders_pipeline_tests/test_moto_patches.py walks every
# declared touch of its internals (local_stack/patching.py) and fails loudly, naming it, when an
# upgrade moves one.

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any

from moto.moto_api._internal import urls as moto_api_urls

from orders_pipeline.local_stack import patching
from orders_pipeline.local_stack.athena import cloudformation as _athena_resources
from orders_pipeline.local_stack.athena import patches as _athena
from orders_pipeline.local_stack.awslambda import patches as _awslambda
from orders_pipeline.local_stack.cloudformation import patches as _cloudformation
from orders_pipeline.local_stack.core import patches as _core
from orders_pipeline.local_stack.dynamodb import cloudformation as _dynamodb_resources
from orders_pipeline.local_stack.dynamodb import patches as _dynamodb
from orders_pipeline.local_stack.firehose import cloudformation as _firehose_resources
from orders_pipeline.local_stack.glue import cloudformation as _glue_resources
from orders_pipeline.local_stack.glue import patches as _glue
from orders_pipeline.local_stack.kinesis import cloudformation as _kinesis_resources
from orders_pipeline.local_stack.kinesis import patches as _kinesis
from orders_pipeline.local_stack.logs import cloudformation as _logs_resources
from orders_pipeline.local_stack.pipes import cloudformation as _pipes_resources
from orders_pipeline.local_stack.s3 import cloudformation as _s3_resources
from orders_pipeline.local_stack.s3 import patches as _s3

# Imported for what they declare (patches) or define (CloudFormation resource types).
SERVICE_MODULES = (
    _core,
    _athena,
    _athena_resources,
    _awslambda,
    _cloudformation,
    _dynamodb,
    _dynamodb_resources,
    _firehose_resources,
    _glue,
    _glue_resources,
    _kinesis,
    _kinesis_resources,
    _logs_resources,
    _pipes_resources,
    _s3,
    _s3_resources,
)

STATUS_PATH = "/moto-api/orders-pipeline/status"

_install_lock = threading.Lock()
_installed = False
# One provider per server port: a process may run several stacks (tests do).
_status_providers: dict[int, Callable[[], dict[str, Any]]] = {}


def install() -> None:
    """Apply every service's patches once per process (later calls are no-ops)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        patching.apply_all()
        # Every resource model is defined by now: moto must rebuild its cached type map.
        _cloudformation.clear_model_caches()
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
