"""S3 bucket policies evaluated with the local endpoint's request context, conditions included;
ListObjectsV2 answered without moto's generic serializer."""

# moto treats any statement whose Condition it cannot match as DENIED, so the template's TLS-only
# policy (Deny when aws:SecureTransport is false) would deny every object write.

from __future__ import annotations

import json
from typing import Any

from moto import settings
from moto.core.responses import ActionResult
from moto.iam.access_control import IAMPolicyStatement, PermissionResult
from moto.s3.models import FakeBucket
from moto.s3.responses import S3Response

from orders_pipeline.local_stack.patching import calls, replaces, requires, requires_source, wraps
from orders_pipeline.local_stack.s3 import listing

# The local endpoint is plain HTTP on loopback, standing in for AWS's HTTPS endpoint: a request
# that reaches it counts as secure transport, as the same call against AWS would be.
REQUEST_CONTEXT = {"aws:securetransport": "true"}

_OPERATORS = ("Bool", "StringEquals", "StringNotEquals")


requires(IAMPolicyStatement, "is_action_permitted", declared_in=__name__)

calls(
    IAMPolicyStatement,
    "is_action_permitted",
    "self",
    "action",
    "resource",
    "principal",
    "incoming_condition_values",
    declared_in=__name__,
)


def condition_holds(condition: dict[str, Any], context: dict[str, str]) -> bool | None:
    """Whether a policy Condition holds in `context`; None if it uses an operator or key we
    do not model (then moto's own evaluation decides)."""
    for operator, clauses in condition.items():
        if operator not in _OPERATORS:
            return None
        for key, expected in clauses.items():
            actual = context.get(key.lower())  # condition keys are case-insensitive in IAM
            if actual is None:
                return None
            wanted = expected if isinstance(expected, list) else [expected]
            if operator == "Bool":
                matched = any(str(value).lower() == actual for value in wanted)
            else:
                matched = any(str(value) == actual for value in wanted)
            if operator == "StringNotEquals":
                matched = not matched
            if not matched:
                return False
    return True


@replaces(FakeBucket, "get_permission")
def get_permission(self: FakeBucket, action: str, resource: str) -> PermissionResult:
    if self.policy is None:
        return PermissionResult.NEUTRAL
    statements = json.loads(self.policy)["Statement"]
    permitted = False
    for statement in statements if isinstance(statements, list) else [statements]:
        if "Condition" in statement:
            holds = condition_holds(statement["Condition"], REQUEST_CONTEXT)
            if holds is False:
                continue  # a statement whose condition is false does not apply
            if holds:
                statement = {k: v for k, v in statement.items() if k != "Condition"}
        result = IAMPolicyStatement(statement).is_action_permitted(action, resource)
        if result == PermissionResult.DENIED:
            return result
        permitted = permitted or result == PermissionResult.PERMITTED
    return PermissionResult.PERMITTED if permitted else PermissionResult.NEUTRAL


# serialized() below takes the result moto's list_objects_v2() builds; a result of any other
# form one day (a field, a type) goes on to moto's serializer.
requires_source(
    S3Response,
    "list_objects_v2",
    r'self\.data\["Action"\] = "ListObjectsV2"\s+return self\.serialized\(ActionResult\(result\)\)',
    declared_in=__name__,
)
requires(settings, "PRETTIFY_RESPONSES", declared_in=__name__)


@wraps(S3Response, "serialized")
def serialized(original: Any, self: S3Response, action_result: Any) -> Any:
    """A ListObjectsV2 result written as moto's serializer writes it, without the serializer."""
    if (
        type(action_result) is ActionResult
        and self.data.get("Action") == "ListObjectsV2"
        and not settings.PRETTIFY_RESPONSES
    ):
        body = listing.listing_xml(action_result.result)
        if body is not None:
            headers = {"Content-Type": "application/xml"}
            headers.update(self.response_headers)
            return 200, headers, body
    return original(self, action_result)
