"""Every emulated service's changes to moto, one folder each; `install()` applies them all."""

# moto is pinned exactly (pyproject): orders_pipeline_tests/test_moto_patches.py walks every
# declared touch of its internals (local_stack/patching.py) and fails loudly, naming it, when an
# upgrade moves one.

from __future__ import annotations

import threading

from orders_pipeline.local_stack import patching
from orders_pipeline.local_stack.athena import cloudformation as _athena_resources
from orders_pipeline.local_stack.athena import metering as _athena_meters
from orders_pipeline.local_stack.athena import patches as _athena
from orders_pipeline.local_stack.athena import persistence as _athena_state
from orders_pipeline.local_stack.awslambda import metering as _awslambda_meters
from orders_pipeline.local_stack.awslambda import patches as _awslambda
from orders_pipeline.local_stack.cloudformation import patches as _cloudformation
from orders_pipeline.local_stack.cloudwatch import patches as _cloudwatch
from orders_pipeline.local_stack.core import patches as _core
from orders_pipeline.local_stack.dynamodb import cloudformation as _dynamodb_resources
from orders_pipeline.local_stack.dynamodb import metering as _dynamodb_meters
from orders_pipeline.local_stack.dynamodb import patches as _dynamodb
from orders_pipeline.local_stack.dynamodb import persistence as _dynamodb_state
from orders_pipeline.local_stack.ecs import cloudformation as _ecs_resources
from orders_pipeline.local_stack.firehose import cloudformation as _firehose_resources
from orders_pipeline.local_stack.firehose import metering as _firehose_meters
from orders_pipeline.local_stack.glue import cloudformation as _glue_resources
from orders_pipeline.local_stack.glue import metering as _glue_meters
from orders_pipeline.local_stack.glue import patches as _glue
from orders_pipeline.local_stack.kinesis import cloudformation as _kinesis_resources
from orders_pipeline.local_stack.kinesis import metering as _kinesis_meters
from orders_pipeline.local_stack.kinesis import patches as _kinesis
from orders_pipeline.local_stack.logs import cloudformation as _logs_resources
from orders_pipeline.local_stack.logs import metering as _logs_meters
from orders_pipeline.local_stack.logs import patches as _logs
from orders_pipeline.local_stack.pipes import cloudformation as _pipes_resources
from orders_pipeline.local_stack.pipes import metering as _pipes_meters
from orders_pipeline.local_stack.s3 import cloudformation as _s3_resources
from orders_pipeline.local_stack.s3 import metering as _s3_meters
from orders_pipeline.local_stack.s3 import patches as _s3
from orders_pipeline.local_stack.s3 import persistence as _s3_state
from orders_pipeline.local_stack.secretsmanager import cloudformation as _secrets_resources
from orders_pipeline.local_stack.servicediscovery import cloudformation as _discovery_resources
from orders_pipeline.local_stack.sqs import metering as _sqs_meters

# Imported for what they declare (patches, kept state, what is billed) or define (CloudFormation
# resource types).
SERVICE_MODULES = (
    _athena_meters,
    _awslambda_meters,
    _dynamodb_meters,
    _firehose_meters,
    _glue_meters,
    _kinesis_meters,
    _logs_meters,
    _pipes_meters,
    _s3_meters,
    _sqs_meters,
    _core,
    _athena,
    _athena_resources,
    _athena_state,
    _awslambda,
    _cloudformation,
    _cloudwatch,
    _dynamodb,
    _dynamodb_resources,
    _dynamodb_state,
    _ecs_resources,
    _firehose_resources,
    _glue,
    _glue_resources,
    _kinesis,
    _kinesis_resources,
    _logs,
    _logs_resources,
    _pipes_resources,
    _s3,
    _s3_resources,
    _s3_state,
    _secrets_resources,
    _discovery_resources,
)

_install_lock = threading.Lock()
_installed = False


def install() -> None:
    """Apply every service's patches once per process (later calls are no-ops)."""
    global _installed
    with _install_lock:
        if _installed:
            return
        patching.apply_all()
        # Every resource model is defined by now: moto must rebuild its cached type map.
        _cloudformation.clear_model_caches()
        _installed = True
