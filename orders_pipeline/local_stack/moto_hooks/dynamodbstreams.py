"""DynamoDB Streams GetRecords answered with plain JSON, not moto's shape-driven serializer."""

# moto keeps stream records already in wire form (AttributeValue JSON); walking every image
# attribute through its generic serializer cost the local stack more CPU than the rest of the
# data plane together (measured by benchmarks/local_stack_end_to_end.py). Same document, same API.

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any

from moto.dynamodbstreams.models import DynamoDBStreamsBackend
from moto.dynamodbstreams.responses import DynamoDBStreamsHandler

from orders_pipeline.local_stack.moto_hooks.internals import replace_member, require_members

DEFAULT_LIMIT = 1000


def check_internals() -> None:
    """Raise naming the first moto internal these hooks need that is gone (after an upgrade)."""
    require_members(
        __name__,
        {
            DynamoDBStreamsHandler: ("get_records", "backend", "_get_param"),
            DynamoDBStreamsBackend: ("get_records",),
        },
    )


def install() -> None:
    check_internals()
    replace_member(DynamoDBStreamsHandler, "get_records", get_records)


def _wire_value(value: Any) -> Any:
    if isinstance(value, datetime):
        # Epoch seconds truncated to the millisecond, as moto's serializer sends it.
        return int(value.timestamp() * 1000) / 1000
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")  # B and BS attribute values
    raise TypeError(f"GetRecords: cannot encode {type(value).__name__} value {value!r}")


def get_records(self: DynamoDBStreamsHandler) -> str:
    limit = self._get_param("Limit")
    result = self.backend.get_records(
        self._get_param("ShardIterator"), DEFAULT_LIMIT if limit is None else limit
    )
    return json.dumps(result, default=_wire_value, separators=(",", ":"))
