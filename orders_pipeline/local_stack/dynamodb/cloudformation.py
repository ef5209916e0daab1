"""DynamoDB table properties moto's CloudFormation model ignores (SSE, point-in-time recovery)."""

from __future__ import annotations

from typing import Any

from moto.dynamodb.models import DynamoDBBackend, dynamodb_backends
from moto.dynamodb.models.table import Table

from orders_pipeline.local_stack.cloudformation.resources import completes_after_moto, typed
from orders_pipeline.local_stack.patching import calls

calls(
    DynamoDBBackend,
    "update_continuous_backups",
    "self",
    "table_name",
    "point_in_time_spec",
    declared_in=__name__,
)


def complete_table(table: Any, props: dict[str, Any], account_id: str, region: str) -> None:
    sse = props.get("SSESpecification")
    if sse and table.sse_specification is not None:
        # moto keeps the CloudFormation shape (SSEEnabled) but reads the API's (Enabled).
        table.sse_specification["Enabled"] = typed({"Enabled": sse.get("SSEEnabled", False)})[
            "Enabled"
        ]
        if "SSEType" in sse:
            table.sse_specification["SSEType"] = sse["SSEType"]
    recovery = props.get("PointInTimeRecoverySpecification")
    if recovery:
        enabled = typed({"Enabled": recovery.get("PointInTimeRecoveryEnabled", False)})["Enabled"]
        dynamodb_backends[account_id][region].update_continuous_backups(
            table.name, {"PointInTimeRecoveryEnabled": enabled}
        )


completes_after_moto(Table, complete_table)
